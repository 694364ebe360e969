// gelu's tanh approximation as x sigmoid(2u), 2u and its reduction in double
// (avx512::gelu_tanh, as f32-vgelu-tanh-avx2.cpp: the same accuracy). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vgelu_tanh__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::gelu_tanh(v); });
}

}  // namespace ce::native
