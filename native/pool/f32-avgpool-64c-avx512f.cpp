// Average pooling of one output pixel: scale * sum over a clipped window, 64 channels per step,
// then 16 (the last 16 with a masked tail).
#include <immintrin.h>

#include "native/simd/avx512.h"

#include "native/pool/pool.h"

namespace ce::native {

void f32_avgpool_64c__avx512f(size_t kh, size_t kw, size_t channels, const float* in,
                              size_t row_stride, size_t col_stride, float scale, float* out,
                              const ClampParams* params) {
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  const __m512 vscale = _mm512_set1_ps(scale);
  auto finish = [&](__m512 acc) {
    return _mm512_min_ps(vmax, _mm512_max_ps(vmin, _mm512_mul_ps(acc, vscale)));
  };
  size_t c = 0;
  for (; c + 64 <= channels; c += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < kh; ++i) {
      const float* p = in + i * row_stride + c;
      for (size_t j = 0; j < kw; ++j, p += col_stride) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + 48));
      }
    }
    _mm512_storeu_ps(out + c, finish(a0));
    _mm512_storeu_ps(out + c + 16, finish(a1));
    _mm512_storeu_ps(out + c + 32, finish(a2));
    _mm512_storeu_ps(out + c + 48, finish(a3));
  }
  for (; c < channels; c += 16) {
    const __mmask16 mask = avx512::tail_mask(channels - c);
    __m512 a = _mm512_setzero_ps();
    for (size_t i = 0; i < kh; ++i) {
      const float* p = in + i * row_stride + c;
      for (size_t j = 0; j < kw; ++j, p += col_stride)
        a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(mask, p));
    }
    _mm512_mask_storeu_ps(out + c, mask, finish(a));
  }
}

}  // namespace ce::native
