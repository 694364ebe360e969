// Global average pooling of channels-first planes: out[j] = scale * sum of the `pixels`
// contiguous floats of plane j. Four 16-lane accumulators (64 floats per step), then 16, then a
// masked tail, then one horizontal sum per plane.
#include <immintrin.h>

#include "native/simd/avx512.h"

#include "native/pool/pool.h"

namespace ce::native {

void f32_gavgpool_cw__avx512f(size_t planes, size_t pixels, const float* in, float scale,
                              float* out) {
  const __mmask16 mask = avx512::tail_mask(pixels & 15);
  for (size_t j = 0; j < planes; ++j, in += pixels) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* p = in;
    size_t n = pixels;
    for (; n >= 64; n -= 64, p += 64) {
      a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p));
      a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + 16));
      a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + 32));
      a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + 48));
    }
    for (; n >= 16; n -= 16, p += 16) a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p));
    if (n) a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(mask, p));
    out[j] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))) * scale;
  }
}

}  // namespace ce::native
