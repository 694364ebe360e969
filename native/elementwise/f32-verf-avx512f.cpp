// erf(x) (avx512::erf, the rational of f32-verf-avx2.cpp: the same accuracy). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_verf__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::erf(v); });
}

}  // namespace ce::native
