// -x (the sign bit flipped).
#include "native/elementwise/avx2-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vneg__avx2(size_t n, const float* x, float* y, const MathParams*) {
  avx2::map(n, x, y, [&](__m256 v) { return _mm256_xor_ps(v, avx2::splat(-0.0f)); });
}

}  // namespace ce::native
