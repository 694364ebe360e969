// 1 / sqrt(x) (two roundings, <= 1 ulp; pow(x, -0.5) as torch).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vrsqrt__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [](__m256 v) { return _mm256_div_ps(avx2::splat(1.0f), _mm256_sqrt_ps(v)); });
}

}  // namespace ce::native
