// ThresholdedRelu: x > alpha ? x : 0, NaN stays NaN. 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vthreshold__avx512f(size_t n, const float* x, float* y, const MathParams* p) {
  const __m512 va = avx512::splat(p->alpha);
  avx512::map(n, x, y, [&](__m512 v) { return avx512::threshold(v, va); });
}

}  // namespace ce::native
