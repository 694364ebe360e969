// Softmax of contiguous rows, 16 lanes: the row's max, then e = exp(x - max) (avx512::exp, as
// f32-vexp-avx512f) stored and summed in one pass, then y = e * (1 / sum) (the reciprocal in
// double); masked tails. A row stays in L1 between the passes.
#include "native/elementwise/avx512-math.h"
#include "native/norm/norm.h"
#include "native/simd/avx512.h"

#include <cmath>

namespace ce::native {

void f32_softmax_rows__avx512f(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                               size_t y_stride) {
  if (n == 0) return;
  const size_t full = n & ~size_t{15};
  const __mmask16 tail = avx512::tail_mask(n - full);
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (size_t i = 0; i < full; i += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
    if (tail) vmax = _mm512_mask_max_ps(vmax, tail, vmax, _mm512_maskz_loadu_ps(tail, x + full));
    const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (size_t i = 0; i < full; i += 16) {
      const __m512 e = avx512::exp(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
      _mm512_storeu_ps(y + i, e);
      vsum = _mm512_add_ps(vsum, e);
    }
    if (tail) {
      const __m512 e = avx512::exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + full), vm));
      _mm512_mask_storeu_ps(y + full, tail, e);
      vsum = _mm512_mask_add_ps(vsum, tail, vsum, e);
    }
    const __m512 vs = _mm512_set1_ps(static_cast<float>(1.0 / _mm512_reduce_add_ps(vsum)));
    for (size_t i = 0; i < full; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), vs));
    if (tail)
      _mm512_mask_storeu_ps(y + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, y + full), vs));
  }
}

}  // namespace ce::native
