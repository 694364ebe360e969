// pow(x, 2) = x x (correctly rounded, as pow).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vsqr__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return vmulq_f32(v, v); });
}

}  // namespace ce::native
