// PRelu: a < 0 ? a * b : a (avx2::prelu).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vprelu__avx2(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  avx2::map2<false>(n, a, b, y, [](__m256 u, __m256 v) { return avx2::prelu(u, v); });
}

}  // namespace ce::native
