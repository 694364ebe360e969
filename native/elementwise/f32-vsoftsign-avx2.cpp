// x / (1 + |x|): 2 roundings, <= 1.5 ulp; +-inf give NaN (inf / inf, as torch).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vsoftsign__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::softsign(v); });
}

}  // namespace ce::native
