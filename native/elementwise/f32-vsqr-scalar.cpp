// pow(x, 2) = x x, as f32-vsqr-avx2.cpp.
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vsqr__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v * v;
  }
}

}  // namespace ce::native
