// 1 / sqrt(x), as f32-vrsqrt-avx2.cpp.
#include <cmath>

#include "native/elementwise/math.h"

namespace ce::native {

void f32_vrsqrt__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) y[i] = 1.0f / std::sqrt(x[i]);
}

}  // namespace ce::native
