// gelu's tanh form, z and its reduction in double, neon::gelu_tanh (max relative error 2.7e-7).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vgelu_tanh__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return neon::gelu_tanh(v); });
}

}  // namespace ce::native
