// Global average pooling of channels-first planes: out[j] = scale * sum of the `pixels`
// contiguous floats of plane j. Four 8-lane accumulators (32 floats per step), then 8, then a
// masked tail, then one horizontal sum per plane.
#include <immintrin.h>

#include "native/simd/avx2.h"

#include <cstdint>

#include "native/pool/pool.h"

namespace ce::native {

namespace {
using avx2::tail_mask;
}  // namespace

void f32_gavgpool_cw__avx2(size_t planes, size_t pixels, const float* in, float scale,
                           float* out) {
  const __m256i mask = tail_mask(pixels & 7);
  for (size_t j = 0; j < planes; ++j, in += pixels) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* p = in;
    size_t n = pixels;
    for (; n >= 32; n -= 32, p += 32) {
      a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p));
      a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + 8));
      a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + 16));
      a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + 24));
    }
    for (; n >= 8; n -= 8, p += 8) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p));
    if (n) a1 = _mm256_add_ps(a1, _mm256_maskload_ps(p, mask));
    out[j] = avx2::hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) * scale;
  }
}

}  // namespace ce::native
