// x / (1 + |x|) in float, as f32-vsoftsign-avx2.cpp.
#include "native/elementwise/math.h"
#include "native/elementwise/scalar-math.h"

#include <cmath>

namespace ce::native {

void f32_vsoftsign__scalar(size_t n, const float* x, float* y, const MathParams*) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = scalar::softsign(v);
  }
}

}  // namespace ce::native
