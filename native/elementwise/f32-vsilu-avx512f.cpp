// silu(x) = x * sigmoid(x), 16 lanes, sigmoid as in f32-vsigmoid-avx512f.cpp.
#include "native/elementwise/avx512-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vsilu__avx512f(size_t n, const float* x, float* y, const ClampParams*) {
  avx512::map(n, x, y, [](__m512 v) { return _mm512_mul_ps(v, avx512::sigmoid(v)); });
}

}  // namespace ce::native
