// max(a, b), NaN when either is NaN (avx2::max).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vmax__avx2(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  avx2::map2<false>(n, a, b, y, [](__m256 u, __m256 v) { return avx2::max(u, v); });
}

}  // namespace ce::native
