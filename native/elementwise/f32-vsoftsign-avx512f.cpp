// x / (1 + |x|): 2 roundings, <= 1.5 ulp; +-inf give NaN (inf / inf, as torch). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vsoftsign__avx512f(size_t n, const float* x, float* y, const MathParams*) {
  avx512::map(n, x, y, [](__m512 v) { return avx512::softsign(v); });
}

}  // namespace ce::native
