// (a + b) * alpha, b one value for every element (portable twin of f32-vaddc-avx2.cpp).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vaddc__scalar(size_t n, const float* a, const float* b, float* y, const MathParams* p) {
  const float s = p->alpha;
  const float bv = b[0];
  for (size_t i = 0; i < n; ++i) y[i] = (a[i] + bv) * s;
}

}  // namespace ce::native
