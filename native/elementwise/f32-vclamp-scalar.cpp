// y = min(max(x, params->min), params->max) (ReLU, ReLU6, any clamp); NaN propagates.
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vclamp__scalar(size_t n, const float* x, float* y, const ClampParams* params) {
  const float lo = params->min, hi = params->max;
  for (size_t i = 0; i < n; ++i) {
    float v = x[i];
    v = v < lo ? lo : v;  // comparisons with NaN are false: NaN passes through
    v = v > hi ? hi : v;
    y[i] = v;
  }
}

}  // namespace ce::native
