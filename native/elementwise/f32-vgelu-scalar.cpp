// gelu(x), exact form, in double and rounded once (scalar-math.h).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vgelu__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = scalar::gelu(v);
  }
}

}  // namespace ce::native
