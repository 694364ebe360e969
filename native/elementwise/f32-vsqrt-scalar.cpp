// sqrt(x), pow(x, 0.5) and pow(x, -0.5), as f32-vsqrt-avx2.cpp.
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vsqrt__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = std::sqrt(v);
  }
}

void f32_vpowhalf__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = scalar::powhalf(v);
  }
}

void f32_vrsqrt__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 1.0f / scalar::powhalf(v);
  }
}

}  // namespace ce::native
