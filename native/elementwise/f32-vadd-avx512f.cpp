// (a + b) * alpha: Sum (alpha 1, exact) and the last input of Mean (alpha 1 / count). 16 lanes, masked tail.
#include "native/elementwise/avx512-math.h"
#include "native/elementwise/math.h"

namespace ce::native {

void f32_vadd__avx512f(size_t n, const float* a, const float* b, float* y, const MathParams* p) {
  const __m512 va = avx512::splat(p->alpha);
  avx512::map2<false>(n, a, b, y, [&](__m512 u, __m512 v) { return _mm512_mul_ps(_mm512_add_ps(u, v), va); });
}

}  // namespace ce::native
