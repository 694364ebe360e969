// PRelu with one slope for every element (portable twin of f32-vpreluc-avx2.cpp).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vpreluc__scalar(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  const float bv = b[0];
  for (size_t i = 0; i < n; ++i) y[i] = std::signbit(a[i]) ? a[i] * bv : a[i];
}

}  // namespace ce::native
