// One value from n contiguous floats: 32 per step in 4 accumulators, then 8, then a masked
// tail whose dead lanes hold the op's identity.
#include "native/elementwise/avx2-common.h"
#include "native/reduce/reduce.h"

#include <cmath>
#include <limits>

namespace ce::native {

namespace {

constexpr size_t kBlock = 2048;  // floats per float-lane block of a sum

// max / min keeping a NaN once one is seen: op(v, acc) returns acc when acc is NaN, and a NaN v
// is taken by the blend.
inline __m256 vmax(__m256 acc, __m256 v) {
  return _mm256_blendv_ps(_mm256_max_ps(v, acc), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}
inline __m256 vmin(__m256 acc, __m256 v) {
  return _mm256_blendv_ps(_mm256_min_ps(v, acc), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

inline __m256 expm(__m256 z) {  // exp(z), z <= 0, flushed to 0 below -87.33
  const __m256 e = avx2::exp_nonpositive(z);
  return _mm256_andnot_ps(_mm256_cmp_ps(z, _mm256_set1_ps(-0x1.5D589Ep+6f), _CMP_LT_OQ), e);
}

// T: transform of one vector; C: combine; R: horizontal reduction of one accumulator.
template <class T, class C>
__m256 accumulate(size_t n, const float* x, __m256 identity, const T& t, const C& c) {
  __m256 a0 = identity, a1 = identity, a2 = identity, a3 = identity;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = c(a0, t(_mm256_loadu_ps(x + i)));
    a1 = c(a1, t(_mm256_loadu_ps(x + i + 8)));
    a2 = c(a2, t(_mm256_loadu_ps(x + i + 16)));
    a3 = c(a3, t(_mm256_loadu_ps(x + i + 24)));
  }
  for (; i + 8 <= n; i += 8) a0 = c(a0, t(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = avx2::tail_mask(n - i);
    const __m256 v = t(_mm256_maskload_ps(x + i, m));
    a1 = c(a1, _mm256_blendv_ps(identity, v, _mm256_castsi256_ps(m)));
  }
  return c(c(a0, a1), c(a2, a3));
}

template <class T>
float sum(size_t n, const float* x, const T& t) {
  const auto add = [](__m256 a, __m256 b) { return _mm256_add_ps(a, b); };
  const __m256 zero = _mm256_setzero_ps();
  if (n <= kBlock) return avx2::hsum(accumulate(n, x, zero, t, add));
  double total = 0.0;
  for (size_t i = 0; i < n; i += kBlock)
    total += avx2::hsum(accumulate(n - i < kBlock ? n - i : kBlock, x + i, zero, t, add));
  return static_cast<float>(total);
}

}  // namespace

float f32_rreduce_u32__avx2(ReduceOp op, size_t n, const float* x, float shift) {
  const __m256 vs = _mm256_set1_ps(shift);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  switch (op) {
    case ReduceOp::kSum:
      return sum(n, x, [](__m256 v) { return v; });
    case ReduceOp::kSumAbs:
      return sum(n, x, [&](__m256 v) { return _mm256_andnot_ps(sign, v); });
    case ReduceOp::kSumSquare:
      return sum(n, x, [&](__m256 v) {
        v = _mm256_sub_ps(v, vs);
        return _mm256_mul_ps(v, v);
      });
    case ReduceOp::kSumExp:
      return sum(n, x, [&](__m256 v) { return expm(_mm256_sub_ps(v, vs)); });
    case ReduceOp::kMax:
    case ReduceOp::kMin: {
      const bool mx = op == ReduceOp::kMax;
      const float inf = std::numeric_limits<float>::infinity();
      const __m256 id = _mm256_set1_ps(mx ? -inf : inf);
      const auto id_t = [](__m256 v) { return v; };
      const __m256 a = mx ? accumulate(n, x, id, id_t, vmax) : accumulate(n, x, id, id_t, vmin);
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, a);
      float r = lanes[0];
      for (int k = 1; k < 8; ++k) {
        if (r != r) break;
        if (lanes[k] != lanes[k] || (mx ? lanes[k] > r : lanes[k] < r)) r = lanes[k];
      }
      return r;
    }
    case ReduceOp::kProd:  // no vector form: the portable kernel's double product
      return f32_rreduce__scalar(op, n, x, shift);
  }
  return 0.0f;
}

}  // namespace ce::native
