// sigmoid(x), 16 lanes: avx512::sigmoid, the evaluation of f32-vsigmoid-avx2.cpp (rr2-p5, one
// division) lane for lane, so its accuracy (max relative error 2.63e-7) and special values.
#include "native/elementwise/avx512-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vsigmoid__avx512f(size_t n, const float* x, float* y, const ClampParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::sigmoid(v); });
}

}  // namespace ce::native
