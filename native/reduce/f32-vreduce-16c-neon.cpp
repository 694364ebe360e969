// acc[i] (+)= x[r * stride + i] over rows: strips of 16 columns (4 accumulators) walk all rows,
// then strips of 4, then a lane-wise strip. Sums add each block of 64 rows into acc on its own.
#include "native/elementwise/neon-common.h"
#include "native/reduce/reduce.h"

#include <limits>

namespace ce::native {

namespace {

constexpr size_t kRowBlock = 64;

// K vectors of columns [c, c + 4K); the last one has `tail` lanes when tail > 0.
template <int K, bool kSumLike, class T, class C>
inline void strip(size_t rows, const float* x, size_t stride, const float* shift, float* acc,
                  size_t tail, const T& t, const C& c) {
  auto load = [&](const float* p, int k) {
    return tail && k == K - 1 ? neon::load_tail(p + 4 * k, tail) : vld1q_f32(p + 4 * k);
  };
  float32x4_t a[K], s[K];
  for (int k = 0; k < K; ++k) {
    a[k] = load(acc, k);
    s[k] = shift ? load(shift, k) : vdupq_n_f32(0.0f);
  }
  if (kSumLike) {
    for (size_t r0 = 0; r0 < rows; r0 += kRowBlock) {
      const size_t r1 = rows - r0 < kRowBlock ? rows : r0 + kRowBlock;
      float32x4_t b[K];
      for (int k = 0; k < K; ++k) b[k] = vdupq_n_f32(0.0f);
      for (size_t r = r0; r < r1; ++r)
        for (int k = 0; k < K; ++k) b[k] = vaddq_f32(b[k], t(load(x + r * stride, k), s[k]));
      for (int k = 0; k < K; ++k) a[k] = vaddq_f32(a[k], b[k]);
    }
  } else {
    for (size_t r = 0; r < rows; ++r)
      for (int k = 0; k < K; ++k) a[k] = c(a[k], t(load(x + r * stride, k), s[k]));
  }
  for (int k = 0; k < K; ++k) {
    if (tail && k == K - 1) neon::store_tail(acc + 4 * k, a[k], tail);
    else vst1q_f32(acc + 4 * k, a[k]);
  }
}

template <bool kSumLike, class T, class C>
void run(size_t rows, size_t n, const float* x, size_t stride, const float* shift, float* acc,
         const T& t, const C& c) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    strip<4, kSumLike>(rows, x + i, stride, shift ? shift + i : nullptr, acc + i, 0, t, c);
  for (; i + 4 <= n; i += 4)
    strip<1, kSumLike>(rows, x + i, stride, shift ? shift + i : nullptr, acc + i, 0, t, c);
  if (i < n)
    strip<1, kSumLike>(rows, x + i, stride, shift ? shift + i : nullptr, acc + i, n - i, t, c);
}

}  // namespace

void f32_vreduce_16c__neon(ReduceOp op, size_t rows, size_t n, const float* x, size_t stride,
                           const float* shift, float* acc) {
  const auto add = [](float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); };
  const auto id = [](float32x4_t v, float32x4_t) { return v; };
  switch (op) {
    case ReduceOp::kSum: return run<true>(rows, n, x, stride, nullptr, acc, id, add);
    case ReduceOp::kSumAbs:
      return run<true>(rows, n, x, stride, nullptr, acc,
                       [](float32x4_t v, float32x4_t) { return vabsq_f32(v); }, add);
    case ReduceOp::kSumSquare:
      return run<true>(rows, n, x, stride, shift, acc, [](float32x4_t v, float32x4_t s) {
        v = vsubq_f32(v, s);
        return vmulq_f32(v, v);
      }, add);
    case ReduceOp::kSumExp:
      return run<true>(rows, n, x, stride, shift, acc, [](float32x4_t v, float32x4_t s) {
        return neon::exp_nonpositive_flushed(vsubq_f32(v, s));
      }, add);
    case ReduceOp::kMax:
      return run<false>(rows, n, x, stride, nullptr, acc, id,
                        [](float32x4_t a, float32x4_t v) { return vmaxq_f32(a, v); });
    case ReduceOp::kMin:
      return run<false>(rows, n, x, stride, nullptr, acc, id,
                        [](float32x4_t a, float32x4_t v) { return vminq_f32(a, v); });
    case ReduceOp::kProd:
      return run<false>(rows, n, x, stride, nullptr, acc, id,
                        [](float32x4_t a, float32x4_t v) { return vmulq_f32(a, v); });
  }
}

}  // namespace ce::native
