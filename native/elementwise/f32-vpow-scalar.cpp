// pow(a, b) (C semantics) element by element, in double and rounded once; the common constant
// exponents have vector kernels.
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vpow__scalar(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i)
    y[i] = static_cast<float>(std::pow(static_cast<double>(a[i]), static_cast<double>(b[i])));
}

}  // namespace ce::native
