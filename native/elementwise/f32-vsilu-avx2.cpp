// silu(x) = x * sigmoid(x), 8 lanes, sigmoid as in f32-vsigmoid-avx2.cpp (one more rounding).
#include "native/elementwise/avx2-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vsilu__avx2(size_t n, const float* x, float* y, const ClampParams*) {
  avx2::map(n, x, y, [](__m256 v) { return _mm256_mul_ps(v, avx2::sigmoid(v)); });
}

}  // namespace ce::native
