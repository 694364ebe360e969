// ThresholdedRelu: x > alpha ? x : 0, NaN stays NaN.
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vthreshold__neon(size_t n, const float* x, float* y, const MathParams* p) {
  const float32x4_t va = vdupq_n_f32(p->alpha);
  neon::map(n, x, y, [&](float32x4_t v) { return neon::threshold(v, va); });
}

}  // namespace ce::native
