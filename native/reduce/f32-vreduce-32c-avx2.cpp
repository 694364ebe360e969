// acc[i] (+)= x[r * stride + i] over rows: strips of 32 columns (4 accumulators) walk all rows,
// then strips of 8, then a masked strip. Sums add each block of 64 rows into acc on its own.
#include "native/elementwise/avx2-common.h"
#include "native/reduce/reduce.h"

#include <limits>

namespace ce::native {

namespace {

constexpr size_t kRowBlock = 64;

inline __m256 expm(__m256 z) {
  const __m256 e = avx2::exp_nonpositive(z);
  return _mm256_andnot_ps(_mm256_cmp_ps(z, _mm256_set1_ps(-0x1.5D589Ep+6f), _CMP_LT_OQ), e);
}

// K vectors of columns [c, c + 8K) (the last one has `tail` lanes when tail > 0): acc = C(acc, T(x, shift)).
template <int K, bool kSumLike, class T, class C>
inline void strip(size_t rows, const float* x, size_t stride, const float* shift, float* acc,
                  __m256 identity, size_t tail, __m256i mask, const T& t, const C& c) {
  __m256 a[K], s[K];
  for (int k = 0; k < K; ++k) {
    const bool m = tail && k == K - 1;
    a[k] = m ? _mm256_maskload_ps(acc + 8 * k, mask) : _mm256_loadu_ps(acc + 8 * k);
    s[k] = shift ? (m ? _mm256_maskload_ps(shift + 8 * k, mask) : _mm256_loadu_ps(shift + 8 * k))
                 : _mm256_setzero_ps();
  }
  auto load = [&](const float* p, int k) {
    return tail && k == K - 1 ? _mm256_maskload_ps(p + 8 * k, mask) : _mm256_loadu_ps(p + 8 * k);
  };
  if (kSumLike) {
    for (size_t r0 = 0; r0 < rows; r0 += kRowBlock) {
      const size_t r1 = rows - r0 < kRowBlock ? rows : r0 + kRowBlock;
      __m256 b[K];
      for (int k = 0; k < K; ++k) b[k] = _mm256_setzero_ps();
      for (size_t r = r0; r < r1; ++r) {
        const float* p = x + r * stride;
        for (int k = 0; k < K; ++k) b[k] = _mm256_add_ps(b[k], t(load(p, k), s[k]));
      }
      for (int k = 0; k < K; ++k) a[k] = _mm256_add_ps(a[k], b[k]);
    }
  } else {
    for (size_t r = 0; r < rows; ++r) {
      const float* p = x + r * stride;
      for (int k = 0; k < K; ++k) a[k] = c(a[k], t(load(p, k), s[k]));
    }
  }
  (void)identity;
  for (int k = 0; k < K; ++k) {
    if (tail && k == K - 1) {
      avx2::store_partial(acc + 8 * k, a[k], tail);
    } else {
      _mm256_storeu_ps(acc + 8 * k, a[k]);
    }
  }
}

template <bool kSumLike, class T, class C>
void run(size_t rows, size_t n, const float* x, size_t stride, const float* shift, float* acc,
         __m256 identity, const T& t, const C& c) {
  const __m256i none = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    strip<4, kSumLike>(rows, x + i, stride, shift ? shift + i : nullptr, acc + i, identity, 0,
                       none, t, c);
  for (; i + 8 <= n; i += 8)
    strip<1, kSumLike>(rows, x + i, stride, shift ? shift + i : nullptr, acc + i, identity, 0,
                       none, t, c);
  if (i < n)
    strip<1, kSumLike>(rows, x + i, stride, shift ? shift + i : nullptr, acc + i, identity, n - i,
                       avx2::tail_mask(n - i), t, c);
}

}  // namespace

void f32_vreduce_32c__avx2(ReduceOp op, size_t rows, size_t n, const float* x, size_t stride,
                          const float* shift, float* acc) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const auto add = [](__m256 a, __m256 b) { return _mm256_add_ps(a, b); };
  const float inf = std::numeric_limits<float>::infinity();
  switch (op) {
    case ReduceOp::kSum:
      return run<true>(rows, n, x, stride, nullptr, acc, _mm256_setzero_ps(),
                       [](__m256 v, __m256) { return v; }, add);
    case ReduceOp::kSumAbs:
      return run<true>(rows, n, x, stride, nullptr, acc, _mm256_setzero_ps(),
                       [&](__m256 v, __m256) { return _mm256_andnot_ps(sign, v); }, add);
    case ReduceOp::kSumSquare:
      return run<true>(rows, n, x, stride, shift, acc, _mm256_setzero_ps(),
                       [](__m256 v, __m256 s) {
                         v = _mm256_sub_ps(v, s);
                         return _mm256_mul_ps(v, v);
                       }, add);
    case ReduceOp::kSumExp:
      return run<true>(rows, n, x, stride, shift, acc, _mm256_setzero_ps(),
                       [](__m256 v, __m256 s) { return expm(_mm256_sub_ps(v, s)); }, add);
    case ReduceOp::kMax:
      return run<false>(rows, n, x, stride, nullptr, acc, _mm256_set1_ps(-inf),
                        [](__m256 v, __m256) { return v; }, [](__m256 a, __m256 v) {
                          return _mm256_blendv_ps(_mm256_max_ps(v, a), v,
                                                  _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                        });
    case ReduceOp::kMin:
      return run<false>(rows, n, x, stride, nullptr, acc, _mm256_set1_ps(inf),
                        [](__m256 v, __m256) { return v; }, [](__m256 a, __m256 v) {
                          return _mm256_blendv_ps(_mm256_min_ps(v, a), v,
                                                  _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                        });
    case ReduceOp::kProd:
      return run<false>(rows, n, x, stride, nullptr, acc, _mm256_set1_ps(1.0f),
                        [](__m256 v, __m256) { return v; },
                        [](__m256 a, __m256 v) { return _mm256_mul_ps(a, v); });
  }
}

}  // namespace ce::native
