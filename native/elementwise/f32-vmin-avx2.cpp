// min(a, b), NaN when either is NaN (minps returns its second operand for NaN, so
// a NaN a is put back).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vmin__avx2(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  avx2::map2<false>(n, a, b, y, [&](__m256 u, __m256 v) { return _mm256_blendv_ps(_mm256_min_ps(u, v), u, _mm256_cmp_ps(u, u, _CMP_UNORD_Q)); });
}

void f32_vminc__avx2(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  avx2::map2<true>(n, a, b, y, [&](__m256 u, __m256 v) { return _mm256_blendv_ps(_mm256_min_ps(u, v), u, _mm256_cmp_ps(u, u, _CMP_UNORD_Q)); });
}

}  // namespace ce::native
