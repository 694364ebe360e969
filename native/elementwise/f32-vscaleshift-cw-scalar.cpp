// Channels-first affine map: plane j (`pixels` contiguous floats) becomes
// clamp(x * scale[j] + shift[j]) (batch norm on NCHW data).
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vscaleshift_cw__scalar(size_t planes, size_t pixels, const float* x, const float* scale,
                                const float* shift, float* y, const ClampParams* params) {
  const float lo = params->min, hi = params->max;
  for (size_t j = 0; j < planes; ++j, x += pixels, y += pixels) {
    const float s = scale[j], b = shift[j];
    for (size_t p = 0; p < pixels; ++p) {
      float v = x[p] * s + b;
      v = v < lo ? lo : v;
      v = v > hi ? hi : v;
      y[p] = v;
    }
  }
}

}  // namespace ce::native
