// mish(x) = x n / (n + 2), n = e (e + 2), e = exp(x) (avx512::mish, as f32-vmish-avx2.cpp). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vmish__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::mish(v); });
}

}  // namespace ce::native
