// exp(x), every float (avx512::exp, as f32-vexp-avx2.cpp: the same accuracy). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vexp__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::exp(v); });
}

}  // namespace ce::native
