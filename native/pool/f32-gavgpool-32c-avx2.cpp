// Global average pooling: out[c] = scale * sum over `rows` pixels of in[r][c]. 32 channels per
// step (four independent accumulators), then 8 channels with two accumulators over alternate
// rows (so a narrow tensor is not bound by the add latency), then a masked tail.
#include <immintrin.h>

#include "native/simd/avx2.h"

#include <cstdint>

#include "native/pool/pool.h"

namespace ce::native {

using avx2::tail_mask;

void f32_gavgpool_32c__avx2(size_t rows, size_t channels, const float* in, size_t in_stride,
                            float scale, float* out) {
  const __m256 vscale = _mm256_set1_ps(scale);
  size_t c = 0;
  for (; c + 32 <= channels; c += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* p = in + c;
    for (size_t r = 0; r < rows; ++r, p += in_stride) {
      a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p));
      a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + 8));
      a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + 16));
      a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + 24));
    }
    _mm256_storeu_ps(out + c, _mm256_mul_ps(a0, vscale));
    _mm256_storeu_ps(out + c + 8, _mm256_mul_ps(a1, vscale));
    _mm256_storeu_ps(out + c + 16, _mm256_mul_ps(a2, vscale));
    _mm256_storeu_ps(out + c + 24, _mm256_mul_ps(a3, vscale));
  }
  // Two accumulators over alternate rows for one 8-channel block; `load` reads one row.
  auto block = [&](const float* p, auto load) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    size_t r = 0;
    for (; r + 2 <= rows; r += 2, p += 2 * in_stride) {
      a0 = _mm256_add_ps(a0, load(p));
      a1 = _mm256_add_ps(a1, load(p + in_stride));
    }
    if (r < rows) a0 = _mm256_add_ps(a0, load(p));
    return _mm256_mul_ps(_mm256_add_ps(a0, a1), vscale);
  };
  for (; c + 8 <= channels; c += 8)
    _mm256_storeu_ps(out + c, block(in + c, [](const float* p) { return _mm256_loadu_ps(p); }));
  if (c < channels) {
    const __m256i mask = tail_mask(channels - c);
    _mm256_maskstore_ps(out + c, mask,
                        block(in + c, [&](const float* p) { return _mm256_maskload_ps(p, mask); }));
  }
}

}  // namespace ce::native
