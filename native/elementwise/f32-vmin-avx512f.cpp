// min(a, b), NaN when either is NaN (avx512::min). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vmin__avx512f(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  avx512::map2<false>(n, a, b, y, [](__m512 u, __m512 v) { return avx512::min(u, v); });
}

}  // namespace ce::native
