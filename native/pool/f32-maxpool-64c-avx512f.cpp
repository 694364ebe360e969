// Max pooling of one output pixel over a clipped (dilated) window, 64 channels per step, then
// 16, then a masked tail. NaN propagates: max_ps drops NaN, so NaN lanes are collected in a
// mask and set to an all-ones pattern (a NaN) at the end, as f32-maxpool-32c-avx2.cpp does.
#include <immintrin.h>

#include "native/simd/avx512.h"

#include <cmath>

#include "native/pool/pool.h"

namespace ce::native {

namespace {
inline void step(__m512& acc, __mmask16& nan, __m512 v) {
  acc = _mm512_max_ps(acc, v);
  nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
}
}  // namespace

void f32_maxpool_64c__avx512f(size_t kh, size_t kw, size_t channels, const float* in,
                              size_t row_stride, size_t col_stride, float* out,
                              const ClampParams* params) {
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  const __m512 vninf = _mm512_set1_ps(-INFINITY);
  auto finish = [&](__m512 acc, __mmask16 nan) {
    acc = _mm512_or_ps(acc, _mm512_castsi512_ps(_mm512_movm_epi32(nan)));
    return _mm512_min_ps(vmax, _mm512_max_ps(vmin, acc));
  };
  size_t c = 0;
  for (; c + 64 <= channels; c += 64) {
    __m512 a0 = vninf, a1 = vninf, a2 = vninf, a3 = vninf;
    __mmask16 n0 = 0, n1 = 0, n2 = 0, n3 = 0;
    for (size_t i = 0; i < kh; ++i) {
      const float* p = in + i * row_stride + c;
      for (size_t j = 0; j < kw; ++j, p += col_stride) {
        step(a0, n0, _mm512_loadu_ps(p));
        step(a1, n1, _mm512_loadu_ps(p + 16));
        step(a2, n2, _mm512_loadu_ps(p + 32));
        step(a3, n3, _mm512_loadu_ps(p + 48));
      }
    }
    _mm512_storeu_ps(out + c, finish(a0, n0));
    _mm512_storeu_ps(out + c + 16, finish(a1, n1));
    _mm512_storeu_ps(out + c + 32, finish(a2, n2));
    _mm512_storeu_ps(out + c + 48, finish(a3, n3));
  }
  for (; c < channels; c += 16) {
    const __mmask16 mask = avx512::tail_mask(channels - c);
    __m512 a = vninf;
    __mmask16 nan = 0;
    for (size_t i = 0; i < kh; ++i) {
      const float* p = in + i * row_stride + c;
      for (size_t j = 0; j < kw; ++j, p += col_stride) step(a, nan, _mm512_maskz_loadu_ps(mask, p));
    }
    _mm512_mask_storeu_ps(out + c, mask, finish(a, nan));
  }
}

}  // namespace ce::native
