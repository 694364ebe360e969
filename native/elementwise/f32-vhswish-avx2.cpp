// hardswish(x) = x * (min(max(x + 3, 0), 6) / 6); NaN propagates. Scaling the clamp first keeps
// x > 5.7e37 finite (torch's x * relu6(x + 3) / 6 overflows to inf there).
#include "native/elementwise/avx2-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vhswish__avx2(size_t n, const float* x, float* y, const ClampParams*) {
  const __m256 vthree = _mm256_set1_ps(3.0f), vsix = _mm256_set1_ps(6.0f);
  const __m256 vzero = _mm256_setzero_ps(), vsixth = _mm256_set1_ps(1.0f / 6.0f);
  avx2::map(n, x, y, [&](__m256 v) {
    __m256 r = _mm256_min_ps(vsix, _mm256_max_ps(vzero, _mm256_add_ps(v, vthree)));
    return _mm256_mul_ps(v, _mm256_mul_ps(r, vsixth));
  });
}

}  // namespace ce::native
