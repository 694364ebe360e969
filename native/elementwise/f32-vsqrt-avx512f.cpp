// sqrt(x), correctly rounded. 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vsqrt__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return _mm512_sqrt_ps(v); });
}

}  // namespace ce::native
