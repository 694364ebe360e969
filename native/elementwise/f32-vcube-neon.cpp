// pow(x, 3) = x x x (two roundings, <= 1 ulp).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vcube__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return vmulq_f32(vmulq_f32(v, v), v); });
}

}  // namespace ce::native
