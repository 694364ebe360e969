// x > 0 ? beta x : alpha expm1(gamma x): Elu, Selu, Celu (neon::elu; max relative error elu 8.7e-8,
// selu 1.4e-7).
#include "native/elementwise/math.h"
#include "native/elementwise/neon-math.h"

namespace ce::native {

void f32_velu__neon(size_t n, const float* x, float* y, const MathParams* p) {
  const float32x4_t va = vdupq_n_f32(p->alpha), vb = vdupq_n_f32(p->beta), vg = vdupq_n_f32(p->gamma);
  neon::map(n, x, y, [&](float32x4_t v) { return neon::elu(v, va, vb, vg); });
}

}  // namespace ce::native
