// Per-column mean and squared deviations of a block of rows, merged into running statistics:
// 4 columns per vector, two passes over the block (the block's strip stays in L1), two add
// chains per pass.
#include "native/elementwise/neon-common.h"
#include "native/norm/norm.h"

namespace ce::native {

namespace {

inline void strip(size_t rows, const float* x, size_t stride, size_t seen, float* mean, float* m2,
                  size_t tail) {
  auto load = [&](const float* p) { return tail ? neon::load_tail(p, tail) : vld1q_f32(p); };
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
  size_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    s0 = vaddq_f32(s0, load(x + r * stride));
    s1 = vaddq_f32(s1, load(x + (r + 1) * stride));
  }
  if (r < rows) s0 = vaddq_f32(s0, load(x + r * stride));
  const float32x4_t mb = vmulq_f32(vaddq_f32(s0, s1), vdupq_n_f32(1.0f / rows));
  float32x4_t q0 = vdupq_n_f32(0.0f), q1 = q0;
  for (r = 0; r + 2 <= rows; r += 2) {
    const float32x4_t d0 = vsubq_f32(load(x + r * stride), mb);
    const float32x4_t d1 = vsubq_f32(load(x + (r + 1) * stride), mb);
    q0 = vfmaq_f32(q0, d0, d0);
    q1 = vfmaq_f32(q1, d1, d1);
  }
  if (r < rows) {
    const float32x4_t d0 = vsubq_f32(load(x + r * stride), mb);
    q0 = vfmaq_f32(q0, d0, d0);
  }
  float32x4_t qb = vaddq_f32(q0, q1), mn = mb;
  if (seen) {
    const float na = static_cast<float>(seen), nb = static_cast<float>(rows), t = na + nb;
    const float32x4_t ma = load(mean);
    const float32x4_t d = vsubq_f32(mb, ma);
    mn = vfmaq_f32(ma, d, vdupq_n_f32(nb / t));
    qb = vaddq_f32(vaddq_f32(load(m2), qb), vmulq_f32(vmulq_f32(d, d), vdupq_n_f32(na * nb / t)));
  }
  if (tail) {
    neon::store_tail(mean, mn, tail);
    neon::store_tail(m2, qb, tail);
  } else {
    vst1q_f32(mean, mn);
    vst1q_f32(m2, qb);
  }
}

}  // namespace

void f32_vmoments_4c__neon(size_t rows, size_t n, const float* x, size_t stride, size_t seen,
                           float* mean, float* m2) {
  if (rows == 0) return;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) strip(rows, x + i, stride, seen, mean + i, m2 + i, 0);
  if (i < n) strip(rows, x + i, stride, seen, mean + i, m2 + i, n - i);
}

}  // namespace ce::native
