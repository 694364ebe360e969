// 1 / sqrt(x) (two roundings, <= 1 ulp; pow(x, -0.5) as torch).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vrsqrt__neon(size_t n, const float* x, float* y, const MathParams*) {
  neon::map(n, x, y, [&](float32x4_t v) { return vdivq_f32(neon::splat(1.0f), vsqrtq_f32(v)); });
}

}  // namespace ce::native
