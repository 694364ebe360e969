// Average pooling of output pixels, each scale * sum over a clipped window, 32 channels per step,
// then 8, then a masked tail.
#include <immintrin.h>

#include "native/simd/avx2.h"

#include <cstdint>

#include "native/pool/pool.h"

namespace ce::native {

using avx2::tail_mask;

void f32_avgpool_32c__avx2(size_t pixels, size_t kh, size_t kw, size_t channels,
                           const float* in, size_t in_step, size_t row_stride, size_t col_stride,
                           float scale, float* out, size_t out_step, const ClampParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  const __m256 vscale = _mm256_set1_ps(scale);
  auto finish = [&](__m256 acc) {
    return _mm256_min_ps(vmax, _mm256_max_ps(vmin, _mm256_mul_ps(acc, vscale)));
  };
  for (; pixels != 0; --pixels, in += in_step, out += out_step) {
    size_t c = 0;
    for (; c + 32 <= channels; c += 32) {
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (size_t i = 0; i < kh; ++i) {
        const float* p = in + i * row_stride + c;
        for (size_t j = 0; j < kw; ++j, p += col_stride) {
          a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p));
          a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + 8));
          a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + 16));
          a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + 24));
        }
      }
      _mm256_storeu_ps(out + c, finish(a0));
      _mm256_storeu_ps(out + c + 8, finish(a1));
      _mm256_storeu_ps(out + c + 16, finish(a2));
      _mm256_storeu_ps(out + c + 24, finish(a3));
    }
    for (; c + 8 <= channels; c += 8) {
      __m256 a = _mm256_setzero_ps();
      for (size_t i = 0; i < kh; ++i) {
        const float* p = in + i * row_stride + c;
        for (size_t j = 0; j < kw; ++j, p += col_stride) a = _mm256_add_ps(a, _mm256_loadu_ps(p));
      }
      _mm256_storeu_ps(out + c, finish(a));
    }
    if (c < channels) {
      const __m256i mask = tail_mask(channels - c);
      __m256 a = _mm256_setzero_ps();
      for (size_t i = 0; i < kh; ++i) {
        const float* p = in + i * row_stride + c;
        for (size_t j = 0; j < kw; ++j, p += col_stride)
          a = _mm256_add_ps(a, _mm256_maskload_ps(p, mask));
      }
      _mm256_maskstore_ps(out + c, mask, finish(a));
    }
  }
}

}  // namespace ce::native
