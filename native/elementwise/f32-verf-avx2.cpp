// erf(x): a rational x P(x^2) / Q(x^2) (avx2-math.h).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_verf__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::erf(v); });
}

}  // namespace ce::native
