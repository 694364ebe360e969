// y = min(max(x, params->min), params->max) (ReLU, ReLU6, any clamp); NaN propagates (fmax /
// fmin return NaN for a NaN operand). -0 clamped at a bound of 0 gives +0 (fmax orders -0 < +0).
#include "native/elementwise/elementwise.h"
#include "native/elementwise/neon-common.h"

namespace ce::native {

void f32_vclamp__neon(size_t n, const float* x, float* y, const ClampParams* params) {
  const float32x4_t vmin = vdupq_n_f32(params->min), vmax = vdupq_n_f32(params->max);
  neon::map(n, x, y, [&](float32x4_t v) { return vminq_f32(vmax, vmaxq_f32(vmin, v)); });
}

}  // namespace ce::native
