// mish(x) = x n / (n + 2), n = e (e + 2), e = exp(x) (avx2-math.h).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vmish__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::mish(v); });
}

}  // namespace ce::native
