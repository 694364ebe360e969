// min(a, b), NaN when either is NaN (avx2::min), b one value for every element.
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vminc__avx2(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  avx2::map2<true>(n, a, b, y, [](__m256 u, __m256 v) { return avx2::min(u, v); });
}

}  // namespace ce::native
