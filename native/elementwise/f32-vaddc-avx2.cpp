// (a + b) * alpha, b one value for every element (as f32-vadd-avx2.cpp).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vaddc__avx2(size_t n, const float* a, const float* b, float* y, const MathParams* p) {
  const __m256 va = _mm256_set1_ps(p->alpha);
  avx2::map2<true>(n, a, b, y, [&](__m256 u, __m256 v) { return _mm256_mul_ps(_mm256_add_ps(u, v), va); });
}

}  // namespace ce::native
