// exp(x), every float, neon::exp (max relative error 1.6e-7; +inf above 88.72, 0 below -87.34).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vexp__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return neon::exp(v); });
}

}  // namespace ce::native
