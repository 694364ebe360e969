// pow(x, 3) = x x x (two roundings, <= 1 ulp).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vcube__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return _mm256_mul_ps(_mm256_mul_ps(v, v), v); });
}

}  // namespace ce::native
