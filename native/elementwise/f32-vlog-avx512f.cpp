// log(x) (avx512::log, as f32-vlog-avx2.cpp); denormal inputs exact. 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vlog__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::log(v); });
}

}  // namespace ce::native
