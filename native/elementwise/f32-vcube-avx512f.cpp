// pow(x, 3) = x x x (two roundings, <= 1 ulp). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vcube__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return _mm512_mul_ps(_mm512_mul_ps(v, v), v); });
}

}  // namespace ce::native
