// PRelu: a < 0 ? a * b : a (by the sign bit: -0 gives -0 * b).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vprelu__avx2(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  avx2::map2<false>(n, a, b, y, [&](__m256 u, __m256 v) { return _mm256_blendv_ps(u, _mm256_mul_ps(u, v), u); });
}

void f32_vpreluc__avx2(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  avx2::map2<true>(n, a, b, y, [&](__m256 u, __m256 v) { return _mm256_blendv_ps(u, _mm256_mul_ps(u, v), u); });
}

}  // namespace ce::native
