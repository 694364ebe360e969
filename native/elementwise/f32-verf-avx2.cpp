// erf(x): a rational x P(x^2) / Q(x^2) (avx2-math.h). Max relative error 2.5e-7 (at
// x = 0.0556), measured against float64 over every 1024th float32 with |x| in [2^-126, 4]
// (tools/measure_math_accuracy.py, Zen 4); +-1 from |x| = 3.92 on; NaN propagates.
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_verf__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::erf(v); });
}

}  // namespace ce::native
