// max(a, b), b one value for every element, NaN when either is NaN (portable).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vmaxc__scalar(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  const float bv = b[0];
  for (size_t i = 0; i < n; ++i) y[i] = scalar::max(a[i], bv);
}

}  // namespace ce::native
