// softplus(x) = max(x, 0) + log1p(exp(-|x|)) (avx2-math.h).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vsoftplus__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return avx2::softplus(v); });
}

}  // namespace ce::native
