// gelu(x) = x Phi(x) through erfc, relative accuracy on both tails (avx2-math.h). Max relative
// error against float64 over every 1024th float32 with |x| in [2^-126, 14]: 4.0e-7 (at
// x = -11.7); results below 2^-126 are flushed to 0. +inf gives +inf, -inf NaN (as torch),
// NaN propagates.
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vgelu__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::gelu(v); });
}

}  // namespace ce::native
