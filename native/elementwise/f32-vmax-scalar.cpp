// max(a, b), NaN when either is NaN (portable).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vmax__scalar(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) y[i] = scalar::max(a[i], b[i]);
}

}  // namespace ce::native
