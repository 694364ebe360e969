// exp(x) (the C library's expf).
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vexp__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = std::exp(v);
  }
}

}  // namespace ce::native
