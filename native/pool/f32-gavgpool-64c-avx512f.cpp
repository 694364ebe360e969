// Global average pooling: out[c] = scale * sum over `rows` pixels of in[r][c]. 64 channels per
// step (four independent accumulators), then 16 channels (the last with a masked tail) with two
// accumulators over alternate rows, so a narrow tensor is not bound by the add latency.
#include <immintrin.h>

#include "native/simd/avx512.h"

#include "native/pool/pool.h"

namespace ce::native {

void f32_gavgpool_64c__avx512f(size_t rows, size_t channels, const float* in, size_t in_stride,
                               float scale, float* out) {
  const __m512 vscale = _mm512_set1_ps(scale);
  size_t c = 0;
  for (; c + 64 <= channels; c += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* p = in + c;
    for (size_t r = 0; r < rows; ++r, p += in_stride) {
      a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p));
      a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + 16));
      a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + 32));
      a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + 48));
    }
    _mm512_storeu_ps(out + c, _mm512_mul_ps(a0, vscale));
    _mm512_storeu_ps(out + c + 16, _mm512_mul_ps(a1, vscale));
    _mm512_storeu_ps(out + c + 32, _mm512_mul_ps(a2, vscale));
    _mm512_storeu_ps(out + c + 48, _mm512_mul_ps(a3, vscale));
  }
  for (; c < channels; c += 16) {
    const __mmask16 mask = avx512::tail_mask(channels - c);
    const float* p = in + c;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    size_t r = 0;
    for (; r + 2 <= rows; r += 2, p += 2 * in_stride) {
      a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(mask, p));
      a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(mask, p + in_stride));
    }
    if (r < rows) a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(mask, p));
    _mm512_mask_storeu_ps(out + c, mask, _mm512_mul_ps(_mm512_add_ps(a0, a1), vscale));
  }
}

}  // namespace ce::native
