// sqrt(x), as f32-vsqrt-avx2.cpp.
#include <cmath>

#include "native/elementwise/math.h"

namespace ce::native {

void f32_vsqrt__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) y[i] = std::sqrt(x[i]);
}

}  // namespace ce::native
