// mish(x) = x n / (n + 2), n = e (e + 2), e = exp(x), neon::mish (max relative error 2.8e-7).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vmish__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return neon::mish(v); });
}

}  // namespace ce::native
