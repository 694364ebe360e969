// PRelu: a < 0 ? a * b : a, by the sign bit (portable twin of f32-vprelu-avx2.cpp).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vprelu__scalar(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) y[i] = std::signbit(a[i]) ? a[i] * b[i] : a[i];
}

}  // namespace ce::native
