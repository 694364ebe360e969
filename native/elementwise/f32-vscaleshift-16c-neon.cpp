// y[r][c] = clamp(x[r][c] * scale[c] + shift[c]) on channels-innermost rows (batch norm folded
// to a per-channel affine map): 16 channels per step, then 4, then a lane-wise tail.
#include "native/elementwise/elementwise.h"
#include "native/elementwise/neon-common.h"

namespace ce::native {

void f32_vscaleshift_16c__neon(size_t rows, size_t channels, const float* x, size_t x_stride,
                               const float* scale, const float* shift, float* y, size_t y_stride,
                               const ClampParams* params) {
  const float32x4_t vmin = vdupq_n_f32(params->min), vmax = vdupq_n_f32(params->max);
  auto f = [&](float32x4_t v, float32x4_t s, float32x4_t b) {
    return vminq_f32(vmax, vmaxq_f32(vmin, vfmaq_f32(b, v, s)));
  };
  const size_t tail = channels & 3;
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    size_t c = 0;
    for (; c + 16 <= channels; c += 16) {
      const float32x4_t a = f(vld1q_f32(x + c), vld1q_f32(scale + c), vld1q_f32(shift + c));
      const float32x4_t b = f(vld1q_f32(x + c + 4), vld1q_f32(scale + c + 4), vld1q_f32(shift + c + 4));
      const float32x4_t d = f(vld1q_f32(x + c + 8), vld1q_f32(scale + c + 8), vld1q_f32(shift + c + 8));
      const float32x4_t e = f(vld1q_f32(x + c + 12), vld1q_f32(scale + c + 12), vld1q_f32(shift + c + 12));
      vst1q_f32(y + c, a);
      vst1q_f32(y + c + 4, b);
      vst1q_f32(y + c + 8, d);
      vst1q_f32(y + c + 12, e);
    }
    for (; c + 4 <= channels; c += 4)
      vst1q_f32(y + c, f(vld1q_f32(x + c), vld1q_f32(scale + c), vld1q_f32(shift + c)));
    if (tail)
      neon::store_tail(y + c, f(neon::load_tail(x + c, tail), neon::load_tail(scale + c, tail),
                                   neon::load_tail(shift + c, tail)), tail);
  }
}

}  // namespace ce::native
