// cos(x) in double, rounded once (no vector version: rare in conv nets).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vcos__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<float>(std::cos(static_cast<double>(x[i])));
}

}  // namespace ce::native
