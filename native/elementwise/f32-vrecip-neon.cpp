// 1 / x (a division: correctly rounded).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vrecip__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return vdivq_f32(neon::splat(1.0f), v); });
}

}  // namespace ce::native
