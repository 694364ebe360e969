// One value from n contiguous floats: 16 per step in 4 accumulators, then 4, then a lane-wise
// tail whose dead lanes hold the op's identity. Sums add each block of 2048 floats into a
// double total. fmax / fmin propagate NaN from either operand (no NaN tracking needed).
#include "native/elementwise/neon-common.h"
#include "native/reduce/reduce.h"

#include <limits>

namespace ce::native {

namespace {

constexpr size_t kBlock = 2048;

// T: transform of one vector; C: combine.
template <class T, class C>
float32x4_t accumulate(size_t n, const float* x, float32x4_t identity, const T& t, const C& c) {
  float32x4_t a0 = identity, a1 = identity, a2 = identity, a3 = identity;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = c(a0, t(vld1q_f32(x + i)));
    a1 = c(a1, t(vld1q_f32(x + i + 4)));
    a2 = c(a2, t(vld1q_f32(x + i + 8)));
    a3 = c(a3, t(vld1q_f32(x + i + 12)));
  }
  for (; i + 4 <= n; i += 4) a0 = c(a0, t(vld1q_f32(x + i)));
  if (i < n) {
    const uint32x4_t live = vcltq_u32((uint32x4_t){0, 1, 2, 3}, vdupq_n_u32(uint32_t(n - i)));
    a1 = c(a1, vbslq_f32(live, t(neon::load_tail(x + i, n - i)), identity));
  }
  return c(c(a0, a1), c(a2, a3));
}

template <class T>
float sum(size_t n, const float* x, const T& t) {
  const auto add = [](float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); };
  const float32x4_t zero = vdupq_n_f32(0.0f);
  if (n <= kBlock) return vaddvq_f32(accumulate(n, x, zero, t, add));
  double total = 0.0;
  for (size_t i = 0; i < n; i += kBlock)
    total += vaddvq_f32(accumulate(n - i < kBlock ? n - i : kBlock, x + i, zero, t, add));
  return static_cast<float>(total);
}

}  // namespace

float f32_rreduce_u16__neon(ReduceOp op, size_t n, const float* x, float shift) {
  const float32x4_t vs = vdupq_n_f32(shift);
  const auto id = [](float32x4_t v) { return v; };
  const float inf = std::numeric_limits<float>::infinity();
  switch (op) {
    case ReduceOp::kSum: return sum(n, x, id);
    case ReduceOp::kSumAbs: return sum(n, x, [](float32x4_t v) { return vabsq_f32(v); });
    case ReduceOp::kSumSquare:
      return sum(n, x, [&](float32x4_t v) {
        v = vsubq_f32(v, vs);
        return vmulq_f32(v, v);
      });
    case ReduceOp::kSumExp:
      return sum(n, x, [&](float32x4_t v) { return neon::exp_nonpositive_flushed(vsubq_f32(v, vs)); });
    case ReduceOp::kMax:
      return vmaxvq_f32(accumulate(n, x, vdupq_n_f32(-inf), id,
                                   [](float32x4_t a, float32x4_t b) { return vmaxq_f32(a, b); }));
    case ReduceOp::kMin:
      return vminvq_f32(accumulate(n, x, vdupq_n_f32(inf), id,
                                   [](float32x4_t a, float32x4_t b) { return vminq_f32(a, b); }));
    case ReduceOp::kProd:  // no vector form: the portable kernel's double product
      return f32_rreduce__scalar(op, n, x, shift);
  }
  return 0.0f;
}

}  // namespace ce::native
