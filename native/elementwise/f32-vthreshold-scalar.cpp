// ThresholdedRelu: x > alpha ? x : 0, NaN stays NaN (portable).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vthreshold__scalar(size_t n, const float* x, float* y, const MathParams* p) {
  const float a = p->alpha;
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = scalar::threshold(v, a);
  }
}

}  // namespace ce::native
