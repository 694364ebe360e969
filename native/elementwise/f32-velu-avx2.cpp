// x > 0 ? beta x : alpha expm1(gamma x): Elu, Selu and Celu (avx2-math.h).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_velu__avx2(size_t n, const float* x, float* y, const MathParams* p) {
  const __m256 va = _mm256_set1_ps(p->alpha), vb = _mm256_set1_ps(p->beta),
               vg = _mm256_set1_ps(p->gamma);
  avx2::map(n, x, y, [&](__m256 v) { return avx2::elu(v, va, vb, vg); });
}

}  // namespace ce::native
