// sqrt(x) (correctly rounded), and pow(x, 0.5) / pow(x, -0.5), which differ from
// sqrt at -0 (+0) and -inf (+inf).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

namespace {
// sqrt(x) + 0 turns -0 into +0; -inf gives +inf (C pow(x, 0.5)).
inline __m256 powhalf(__m256 v) {
  const __m256 r = _mm256_add_ps(_mm256_sqrt_ps(v), _mm256_setzero_ps());
  return _mm256_blendv_ps(r, avx2::splat(INFINITY), _mm256_cmp_ps(v, avx2::splat(-INFINITY), _CMP_EQ_OQ));
}
}  // namespace

void f32_vsqrt__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return _mm256_sqrt_ps(v); });
}

void f32_vpowhalf__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return powhalf(v); });
}

void f32_vrsqrt__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return _mm256_div_ps(avx2::splat(1.0f), powhalf(v)); });
}

}  // namespace ce::native
