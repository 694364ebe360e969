// softplus(x) = max(x, 0) + log1p(exp(-|x|)) (avx512::softplus, as f32-vsoftplus-avx2.cpp). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vsoftplus__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::softplus(v); });
}

}  // namespace ce::native
