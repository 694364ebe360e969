// gelu's tanh approximation as x sigmoid(2u), 2u and its reduction in double (avx2-math.h).
// Max relative error against float64 over every 1024th float32 with |x| in [2^-126, 12]:
// 2.7e-7 (at x = -1.81); results below 2^-126 |x| (x < -10) are flushed to 0. +inf gives
// +inf, -inf NaN (as torch), NaN propagates.
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vgelu_tanh__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::gelu_tanh(v); });
}

}  // namespace ce::native
