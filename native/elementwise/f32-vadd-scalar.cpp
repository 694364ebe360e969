// (a + b) * alpha: Sum and Mean (portable twin of f32-vadd-avx2.cpp).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vadd__scalar(size_t n, const float* a, const float* b, float* y, const MathParams* p) {
  const float s = p->alpha;
  for (size_t i = 0; i < n; ++i) y[i] = (a[i] + b[i]) * s;
}

}  // namespace ce::native
