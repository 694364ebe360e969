// pow(x, 2) = x x (correctly rounded, as pow). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vsqr__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return _mm512_mul_ps(v, v); });
}

}  // namespace ce::native
