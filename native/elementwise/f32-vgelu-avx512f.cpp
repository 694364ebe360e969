// gelu(x) = x Phi(x) through erfc (avx512::gelu, as f32-vgelu-avx2.cpp: the same accuracy,
// +inf gives +inf, -inf NaN). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vgelu__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::gelu(v); });
}

}  // namespace ce::native
