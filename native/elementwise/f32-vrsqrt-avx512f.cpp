// 1 / sqrt(x) (two roundings, <= 1 ulp; pow(x, -0.5) as torch). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vrsqrt__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return _mm512_div_ps(avx512::splat(1.0f), _mm512_sqrt_ps(v)); });
}

}  // namespace ce::native
