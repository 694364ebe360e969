// hardsigmoid(x) = min(max(x + 3, 0), 6) / 6, 16 lanes (torch's formula, with * (1/6)); NaN
// propagates.
#include "native/elementwise/avx512-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vhsigmoid__avx512f(size_t n, const float* x, float* y, const ClampParams*) {
  const __m512 vthree = _mm512_set1_ps(3.0f), vsix = _mm512_set1_ps(6.0f);
  const __m512 vzero = _mm512_setzero_ps(), vsixth = _mm512_set1_ps(1.0f / 6.0f);
  avx512::map(n, x, y, [&](__m512 v) {
    const __m512 r = _mm512_min_ps(vsix, _mm512_max_ps(vzero, _mm512_add_ps(v, vthree)));
    return _mm512_mul_ps(r, vsixth);
  });
}

}  // namespace ce::native
