// softplus(x) = max(x, 0) + log1p(exp(-|x|)), neon::softplus (max relative error 1.9e-7).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vsoftplus__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return neon::softplus(v); });
}

}  // namespace ce::native
