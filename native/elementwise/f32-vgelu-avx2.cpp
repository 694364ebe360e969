// gelu(x) = x Phi(x) through erfc (avx2-math.h), and the tanh approximation
// as x sigmoid(2u).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vgelu__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::gelu(v); });
}

void f32_vgelu_tanh__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::gelu_tanh(v); });
}

}  // namespace ce::native
