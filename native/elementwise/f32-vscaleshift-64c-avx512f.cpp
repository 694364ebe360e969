// y[r][c] = clamp(x[r][c] * scale[c] + shift[c]) on channels-innermost rows, 64 channels per
// step, then 16, then a masked tail.
#include "native/elementwise/avx512-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vscaleshift_64c__avx512f(size_t rows, size_t channels, const float* x, size_t x_stride,
                                  const float* scale, const float* shift, float* y,
                                  size_t y_stride, const ClampParams* params) {
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  auto f = [&](__m512 v, __m512 s, __m512 b) {
    return _mm512_min_ps(vmax, _mm512_max_ps(vmin, _mm512_fmadd_ps(v, s, b)));
  };
  auto full = [&](const float* xx, size_t c) {
    return f(_mm512_loadu_ps(xx + c), _mm512_loadu_ps(scale + c), _mm512_loadu_ps(shift + c));
  };
  const __mmask16 mask = avx512::tail_mask(channels & 15);
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    size_t c = 0;
    for (; c + 64 <= channels; c += 64) {
      const __m512 a = full(x, c), b = full(x, c + 16), d = full(x, c + 32), e = full(x, c + 48);
      _mm512_storeu_ps(y + c, a);
      _mm512_storeu_ps(y + c + 16, b);
      _mm512_storeu_ps(y + c + 32, d);
      _mm512_storeu_ps(y + c + 48, e);
    }
    for (; c + 16 <= channels; c += 16) _mm512_storeu_ps(y + c, full(x, c));
    if (c < channels)
      _mm512_mask_storeu_ps(y + c, mask,
                            f(_mm512_maskz_loadu_ps(mask, x + c), _mm512_maskz_loadu_ps(mask, scale + c),
                              _mm512_maskz_loadu_ps(mask, shift + c)));
  }
}

}  // namespace ce::native
