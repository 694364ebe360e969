// Local response normalisation across the channels of each pixel: squares into a zero-padded
// scratch row, the window sum as `size` shifted loads per 4 channels, then the power: beta 0.75
// as 1 / (sqrt(d) * sqrt(sqrt(d))), 0.5 and 1 directly, others by std::pow (f32-lrn-avx2).
#include "native/elementwise/neon-common.h"
#include "native/norm/norm.h"

#include <cmath>
#include <cstring>

namespace ce::native {

void f32_lrn__neon(size_t rows, size_t c, const float* x, size_t x_stride, float* y,
                   size_t y_stride, const LrnParams* p, float* scratch) {
  const size_t lo = p->lo, size = p->lo + p->hi + 1;
  const float32x4_t va = vdupq_n_f32(p->alpha_over_size), vb = vdupq_n_f32(p->bias);
  const float32x4_t one = vdupq_n_f32(1.0f);
  const int kind = p->beta == 0.75f ? 0 : p->beta == 0.5f ? 1 : p->beta == 1.0f ? 2 : 3;
  std::memset(scratch, 0, (lo + c + p->hi + 8) * sizeof(float));
  float* sq = scratch + lo;
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    for (size_t i = 0; i < c; ++i) sq[i] = x[i] * x[i];
    for (size_t i = 0; i < c; i += 4) {
      const size_t m = c - i < 4 ? c - i : 4;
      float32x4_t s = vld1q_f32(scratch + i);  // scratch holds lo + c + hi + 8 floats
      for (size_t j = 1; j < size; ++j) s = vaddq_f32(s, vld1q_f32(scratch + i + j));
      const float32x4_t d = vfmaq_f32(vb, s, va);
      float32x4_t f;
      if (kind == 0) {
        const float32x4_t h = vsqrtq_f32(d);
        f = vdivq_f32(one, vmulq_f32(h, vsqrtq_f32(h)));
      } else if (kind == 1) {
        f = vdivq_f32(one, vsqrtq_f32(d));
      } else if (kind == 2) {
        f = vdivq_f32(one, d);
      } else {
        float t[4];
        vst1q_f32(t, d);
        for (int k = 0; k < 4; ++k) t[k] = std::pow(t[k], -p->beta);
        f = vld1q_f32(t);
      }
      if (m == 4) vst1q_f32(y + i, vmulq_f32(vld1q_f32(x + i), f));
      else neon::store_tail(y + i, vmulq_f32(neon::load_tail(x + i, m), f), m);
    }
  }
}

}  // namespace ce::native
