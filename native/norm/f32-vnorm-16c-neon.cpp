// y = (x - m) * s * g + b over rows of n floats, each operand a scalar or a per-column array:
// one instantiation per combination, 16 floats per step, then 4, then a lane-wise tail.
#include "native/elementwise/neon-common.h"
#include "native/norm/norm.h"

namespace ce::native {

namespace {

template <bool MS, bool GV, bool BV>
void run(size_t rows, size_t n, const float* x, size_t x_stride, float* y, size_t y_stride,
         const NormAffine* p) {
  const float32x4_t m0 = vdupq_n_f32(*p->m), s0 = vdupq_n_f32(*p->s);
  const float32x4_t g0 = vdupq_n_f32(p->g ? *p->g : 1.0f), b0 = vdupq_n_f32(p->b ? *p->b : 0.0f);
  const size_t tail = n & 3;
  auto f = [&](float32x4_t v, size_t i, size_t lanes) {
    auto ld = [&](const float* q) { return lanes < 4 ? neon::load_tail(q + i, lanes) : vld1q_f32(q + i); };
    const float32x4_t d = vsubq_f32(v, MS ? ld(p->m) : m0);
    const float32x4_t u = vmulq_f32(d, MS ? ld(p->s) : s0);
    return vfmaq_f32(BV ? ld(p->b) : b0, u, GV ? ld(p->g) : g0);
  };
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const float32x4_t a = f(vld1q_f32(x + i), i, 4), b = f(vld1q_f32(x + i + 4), i + 4, 4);
      const float32x4_t c = f(vld1q_f32(x + i + 8), i + 8, 4), d = f(vld1q_f32(x + i + 12), i + 12, 4);
      vst1q_f32(y + i, a);
      vst1q_f32(y + i + 4, b);
      vst1q_f32(y + i + 8, c);
      vst1q_f32(y + i + 12, d);
    }
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, f(vld1q_f32(x + i), i, 4));
    if (tail) neon::store_tail(y + i, f(neon::load_tail(x + i, tail), i, tail), tail);
  }
}

}  // namespace

void f32_vnorm_16c__neon(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                         size_t y_stride, const NormAffine* p) {
  const bool gv = p->g && p->g_vec, bv = p->b && p->b_vec;
  switch ((p->ms_vec ? 4 : 0) | (gv ? 2 : 0) | (bv ? 1 : 0)) {
    case 0: return run<false, false, false>(rows, n, x, x_stride, y, y_stride, p);
    case 1: return run<false, false, true>(rows, n, x, x_stride, y, y_stride, p);
    case 2: return run<false, true, false>(rows, n, x, x_stride, y, y_stride, p);
    case 3: return run<false, true, true>(rows, n, x, x_stride, y, y_stride, p);
    case 4: return run<true, false, false>(rows, n, x, x_stride, y, y_stride, p);
    case 5: return run<true, false, true>(rows, n, x, x_stride, y, y_stride, p);
    case 6: return run<true, true, false>(rows, n, x, x_stride, y, y_stride, p);
    default: return run<true, true, true>(rows, n, x, x_stride, y, y_stride, p);
  }
}

}  // namespace ce::native
