// hardswish(x) = x * (min(max(x + 3, 0), 6) / 6); NaN propagates, no overflow for large x.
#include "native/elementwise/elementwise.h"
#include "native/elementwise/neon-common.h"

namespace ce::native {

void f32_vhswish__neon(size_t n, const float* x, float* y, const ClampParams*) {
  const float32x4_t vthree = vdupq_n_f32(3.0f), vsix = vdupq_n_f32(6.0f);
  const float32x4_t vzero = vdupq_n_f32(0.0f), vsixth = vdupq_n_f32(1.0f / 6.0f);
  neon::map(n, x, y, [&](float32x4_t v) {
    const float32x4_t r = vminq_f32(vsix, vmaxq_f32(vzero, vaddq_f32(v, vthree)));
    return vmulq_f32(v, vmulq_f32(r, vsixth));
  });
}

}  // namespace ce::native
