// Bilinear interpolation of one output row, 32 channels per step, then 16 (the last with a
// masked tail); torch's evaluation order, as f32-ibilinear-16c-avx2.cpp.
#include <immintrin.h>

#include "native/simd/avx512.h"

#include "native/resize/resize.h"

namespace ce::native {

void f32_ibilinear_32c__avx512f(size_t pixels, size_t channels, const float* const* in,
                                const float* wx, float h0, float h1, float* out,
                                size_t out_stride) {
  const __m512 vh0 = _mm512_set1_ps(h0), vh1 = _mm512_set1_ps(h1);
  for (size_t p = 0; p < pixels; ++p, in += 4, wx += 2, out += out_stride) {
    const float* tl = in[0];
    const float* tr = in[1];
    const float* bl = in[2];
    const float* br = in[3];
    const __m512 vw0 = _mm512_set1_ps(wx[0]), vw1 = _mm512_set1_ps(wx[1]);
    auto blend = [&](__m512 a, __m512 b, __m512 c, __m512 d) {
      const __m512 top = _mm512_fmadd_ps(vw1, b, _mm512_mul_ps(vw0, a));
      const __m512 bot = _mm512_fmadd_ps(vw1, d, _mm512_mul_ps(vw0, c));
      return _mm512_fmadd_ps(vh1, bot, _mm512_mul_ps(vh0, top));
    };
    auto full = [&](size_t c) {
      return blend(_mm512_loadu_ps(tl + c), _mm512_loadu_ps(tr + c), _mm512_loadu_ps(bl + c),
                   _mm512_loadu_ps(br + c));
    };
    size_t c = 0;
    for (; c + 32 <= channels; c += 32) {
      const __m512 lo = full(c), hi = full(c + 16);
      _mm512_storeu_ps(out + c, lo);
      _mm512_storeu_ps(out + c + 16, hi);
    }
    for (; c < channels; c += 16) {
      const __mmask16 m = avx512::tail_mask(channels - c);
      _mm512_mask_storeu_ps(out + c, m,
                            blend(_mm512_maskz_loadu_ps(m, tl + c), _mm512_maskz_loadu_ps(m, tr + c),
                                  _mm512_maskz_loadu_ps(m, bl + c), _mm512_maskz_loadu_ps(m, br + c)));
    }
  }
}

}  // namespace ce::native
