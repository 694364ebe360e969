// Channels-first affine map: plane j (`pixels` contiguous floats) becomes
// clamp(x * scale[j] + shift[j]) (batch norm on NCHW data). 16 floats per step, 4, lane tail.
#include "native/elementwise/elementwise.h"
#include "native/elementwise/neon-common.h"

namespace ce::native {

void f32_vscaleshift_cw__neon(size_t planes, size_t pixels, const float* x, const float* scale,
                              const float* shift, float* y, const ClampParams* params) {
  const float32x4_t vmin = vdupq_n_f32(params->min), vmax = vdupq_n_f32(params->max);
  for (size_t j = 0; j < planes; ++j, x += pixels, y += pixels) {
    const float32x4_t vs = vdupq_n_f32(scale[j]), vb = vdupq_n_f32(shift[j]);
    neon::map(pixels, x, y, [&](float32x4_t v) {
      return vminq_f32(vmax, vmaxq_f32(vmin, vfmaq_f32(vb, v, vs)));
    });
  }
}

}  // namespace ce::native
