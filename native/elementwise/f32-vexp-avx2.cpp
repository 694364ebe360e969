// exp(x), every float (avx2-math.h). Max relative error 1.6e-7 (at x = -69.7) against
// float64 over every 1024th float32 with |x| in [2^-126, 89]; overflow gives +inf, results
// below 2^-126 (x < -87.34) give 0.
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vexp__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::exp(v); });
}

}  // namespace ce::native
