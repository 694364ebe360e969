// x > 0 ? beta x : alpha expm1(gamma x): Elu, Selu and Celu (avx512::elu, as f32-velu-avx2.cpp). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_velu__avx512f(size_t n, const float* x, float* y, const MathParams* p) {
  const __m512 va = avx512::splat(p->alpha), vb = avx512::splat(p->beta), vg = avx512::splat(p->gamma);
  avx512::map(n, x, y, [&](__m512 v) { return avx512::elu(v, va, vb, vg); });
}

}  // namespace ce::native
