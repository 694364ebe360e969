// Max pooling of output pixels, each over a clipped (dilated) window, 32 channels per step, then 8,
// then a masked tail. NaN propagates: max_ps drops NaN, so NaN lanes are tracked in a mask and
// OR-ed in at the end (an all-ones pattern is a NaN).
#include <immintrin.h>

#include "native/simd/avx2.h"

#include <cmath>
#include <cstdint>

#include "native/pool/pool.h"

namespace ce::native {

namespace {
using avx2::tail_mask;
inline void step(__m256& acc, __m256& nan, __m256 v) {
  acc = _mm256_max_ps(acc, v);
  nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}
}  // namespace

void f32_maxpool_32c__avx2(size_t pixels, size_t kh, size_t kw, size_t channels,
                           const float* in, size_t in_step, size_t row_stride, size_t col_stride,
                           float* out, size_t out_step, const ClampParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  const __m256 vninf = _mm256_set1_ps(-INFINITY);
  auto finish = [&](__m256 acc, __m256 nan) {
    return _mm256_min_ps(vmax, _mm256_max_ps(vmin, _mm256_or_ps(acc, nan)));
  };
  for (; pixels != 0; --pixels, in += in_step, out += out_step) {
    size_t c = 0;
    for (; c + 32 <= channels; c += 32) {
      __m256 a0 = vninf, a1 = vninf, a2 = vninf, a3 = vninf;
      __m256 n0 = _mm256_setzero_ps(), n1 = n0, n2 = n0, n3 = n0;
      for (size_t i = 0; i < kh; ++i) {
        const float* p = in + i * row_stride + c;
        for (size_t j = 0; j < kw; ++j, p += col_stride) {
          step(a0, n0, _mm256_loadu_ps(p));
          step(a1, n1, _mm256_loadu_ps(p + 8));
          step(a2, n2, _mm256_loadu_ps(p + 16));
          step(a3, n3, _mm256_loadu_ps(p + 24));
        }
      }
      _mm256_storeu_ps(out + c, finish(a0, n0));
      _mm256_storeu_ps(out + c + 8, finish(a1, n1));
      _mm256_storeu_ps(out + c + 16, finish(a2, n2));
      _mm256_storeu_ps(out + c + 24, finish(a3, n3));
    }
    for (; c + 8 <= channels; c += 8) {
      __m256 a = vninf, nan = _mm256_setzero_ps();
      for (size_t i = 0; i < kh; ++i) {
        const float* p = in + i * row_stride + c;
        for (size_t j = 0; j < kw; ++j, p += col_stride) step(a, nan, _mm256_loadu_ps(p));
      }
      _mm256_storeu_ps(out + c, finish(a, nan));
    }
    if (c < channels) {
      const __m256i mask = tail_mask(channels - c);
      __m256 a = vninf, nan = _mm256_setzero_ps();
      for (size_t i = 0; i < kh; ++i) {
        const float* p = in + i * row_stride + c;
        for (size_t j = 0; j < kw; ++j, p += col_stride) step(a, nan, _mm256_maskload_ps(p, mask));
      }
      _mm256_maskstore_ps(out + c, mask, finish(a, nan));
    }
  }
}

}  // namespace ce::native
