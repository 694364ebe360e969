// Bilinear interpolation of one output row, 16 channels per step, then 8, then a masked tail.
#include <immintrin.h>

#include "native/simd/avx2.h"

#include <cstdint>

#include "native/resize/resize.h"

namespace ce::native {

using avx2::tail_mask;

void f32_ibilinear_16c__avx2(size_t pixels, size_t channels, const float* const* in,
                             const float* wx, float h0, float h1, float* out, size_t out_stride) {
  const __m256 vh0 = _mm256_set1_ps(h0), vh1 = _mm256_set1_ps(h1);
  const size_t tail = channels & 7;
  const __m256i mask = tail_mask(tail);
  for (size_t p = 0; p < pixels; ++p, in += 4, wx += 2, out += out_stride) {
    const float* tl = in[0];
    const float* tr = in[1];
    const float* bl = in[2];
    const float* br = in[3];
    const __m256 vw0 = _mm256_broadcast_ss(wx), vw1 = _mm256_broadcast_ss(wx + 1);
    auto blend = [&](__m256 a, __m256 b, __m256 c, __m256 d) {
      const __m256 top = _mm256_fmadd_ps(vw1, b, _mm256_mul_ps(vw0, a));
      const __m256 bot = _mm256_fmadd_ps(vw1, d, _mm256_mul_ps(vw0, c));
      return _mm256_fmadd_ps(vh1, bot, _mm256_mul_ps(vh0, top));
    };
    size_t c = 0;
    for (; c + 16 <= channels; c += 16) {
      const __m256 lo = blend(_mm256_loadu_ps(tl + c), _mm256_loadu_ps(tr + c),
                              _mm256_loadu_ps(bl + c), _mm256_loadu_ps(br + c));
      const __m256 hi = blend(_mm256_loadu_ps(tl + c + 8), _mm256_loadu_ps(tr + c + 8),
                              _mm256_loadu_ps(bl + c + 8), _mm256_loadu_ps(br + c + 8));
      _mm256_storeu_ps(out + c, lo);
      _mm256_storeu_ps(out + c + 8, hi);
    }
    for (; c + 8 <= channels; c += 8)
      _mm256_storeu_ps(out + c, blend(_mm256_loadu_ps(tl + c), _mm256_loadu_ps(tr + c),
                                      _mm256_loadu_ps(bl + c), _mm256_loadu_ps(br + c)));
    if (tail)
      _mm256_maskstore_ps(out + c, mask,
                          blend(_mm256_maskload_ps(tl + c, mask), _mm256_maskload_ps(tr + c, mask),
                                _mm256_maskload_ps(bl + c, mask), _mm256_maskload_ps(br + c, mask)));
  }
}

}  // namespace ce::native
