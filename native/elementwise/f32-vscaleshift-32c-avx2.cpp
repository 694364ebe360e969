// y[r][c] = clamp(x[r][c] * scale[c] + shift[c]): batch norm (inference) folded to a per-channel
// affine map, on channels-innermost rows. 32 channels per step, then 8, then a masked tail.
#include "native/elementwise/avx2-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void f32_vscaleshift_32c__avx2(size_t rows, size_t channels, const float* x, size_t x_stride,
                               const float* scale, const float* shift, float* y, size_t y_stride,
                               const ClampParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  auto f = [&](__m256 v, const float* s, const float* b) {
    v = _mm256_fmadd_ps(v, _mm256_loadu_ps(s), _mm256_loadu_ps(b));
    return _mm256_min_ps(vmax, _mm256_max_ps(vmin, v));
  };
  const size_t tail = channels & 7;
  const __m256i mask = avx2::tail_mask(tail);
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    size_t c = 0;
    for (; c + 32 <= channels; c += 32) {
      const __m256 a = f(_mm256_loadu_ps(x + c), scale + c, shift + c);
      const __m256 b = f(_mm256_loadu_ps(x + c + 8), scale + c + 8, shift + c + 8);
      const __m256 d = f(_mm256_loadu_ps(x + c + 16), scale + c + 16, shift + c + 16);
      const __m256 e = f(_mm256_loadu_ps(x + c + 24), scale + c + 24, shift + c + 24);
      _mm256_storeu_ps(y + c, a);
      _mm256_storeu_ps(y + c + 8, b);
      _mm256_storeu_ps(y + c + 16, d);
      _mm256_storeu_ps(y + c + 24, e);
    }
    for (; c + 8 <= channels; c += 8)
      _mm256_storeu_ps(y + c, f(_mm256_loadu_ps(x + c), scale + c, shift + c));
    if (tail) {
      __m256 v = _mm256_maskload_ps(x + c, mask);
      v = _mm256_fmadd_ps(v, _mm256_maskload_ps(scale + c, mask), _mm256_maskload_ps(shift + c, mask));
      _mm256_maskstore_ps(y + c, mask, _mm256_min_ps(vmax, _mm256_max_ps(vmin, v)));
    }
  }
}

}  // namespace ce::native
