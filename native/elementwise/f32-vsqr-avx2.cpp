// pow(x, 2) = x x (correctly rounded, as pow).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vsqr__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return _mm256_mul_ps(v, v); });
}

}  // namespace ce::native
