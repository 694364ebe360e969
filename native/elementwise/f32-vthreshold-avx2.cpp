// ThresholdedRelu: x > alpha ? x : 0, NaN stays NaN.
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vthreshold__avx2(size_t n, const float* x, float* y, const MathParams* p) {
  const __m256 va = _mm256_set1_ps(p->alpha);
  avx2::map(n, x, y, [&](__m256 v) { return avx2::threshold(v, va); });
}

}  // namespace ce::native
