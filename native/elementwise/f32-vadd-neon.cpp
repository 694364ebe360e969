// (a + b) * alpha: Sum (alpha 1) and the last input of Mean (alpha 1 / count).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_vadd__neon(size_t n, const float* a, const float* b, float* y, const MathParams* p) {
  const float32x4_t va = vdupq_n_f32(p->alpha);
  neon::map2<false>(n, a, b, y, [&](float32x4_t u, float32x4_t v) { return vmulq_f32(vaddq_f32(u, v), va); });
}

}  // namespace ce::native
