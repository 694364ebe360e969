// gelu(x) = x Phi(x) through erfc, neon::gelu (avx2::gelu's: max relative error 4.0e-7).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vgelu__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return neon::gelu(v); });
}

}  // namespace ce::native
