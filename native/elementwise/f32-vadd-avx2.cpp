// (a + b) * alpha: Sum (alpha 1, exact) and the last input of Mean (alpha 1 / count).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vadd__avx2(size_t n, const float* a, const float* b, float* y, const MathParams* p) {
  const __m256 va = _mm256_set1_ps(p->alpha);
  avx2::map2<false>(n, a, b, y, [&](__m256 u, __m256 v) { return _mm256_mul_ps(_mm256_add_ps(u, v), va); });
}

}  // namespace ce::native
