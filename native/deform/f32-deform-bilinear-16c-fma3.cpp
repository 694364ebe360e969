// Bilinear gather over channels, 16 channels per step (two ymm), masked tail.
#include <immintrin.h>

#include "native/simd/avx2.h"

#include <cstdint>

#include "native/deform/bilinear.h"

namespace ce::native {

using avx2::tail_mask;

void f32_deform_bilinear_16c__fma3(size_t n, size_t c, const float* const* corner,
                                   const float* coef, float* out, size_t out_stride) {
  for (size_t s = 0; s < n; ++s, corner += 4, coef += 4, out += out_stride) {
    const float* p0 = corner[0];
    const float* p1 = corner[1];
    const float* p2 = corner[2];
    const float* p3 = corner[3];
    const __m256 w0 = _mm256_broadcast_ss(coef + 0);
    const __m256 w1 = _mm256_broadcast_ss(coef + 1);
    const __m256 w2 = _mm256_broadcast_ss(coef + 2);
    const __m256 w3 = _mm256_broadcast_ss(coef + 3);
    size_t k = 0;
    for (; k + 16 <= c; k += 16) {
      __m256 lo = _mm256_mul_ps(w0, _mm256_loadu_ps(p0 + k));
      __m256 hi = _mm256_mul_ps(w0, _mm256_loadu_ps(p0 + k + 8));
      lo = _mm256_fmadd_ps(w1, _mm256_loadu_ps(p1 + k), lo);
      hi = _mm256_fmadd_ps(w1, _mm256_loadu_ps(p1 + k + 8), hi);
      lo = _mm256_fmadd_ps(w2, _mm256_loadu_ps(p2 + k), lo);
      hi = _mm256_fmadd_ps(w2, _mm256_loadu_ps(p2 + k + 8), hi);
      lo = _mm256_fmadd_ps(w3, _mm256_loadu_ps(p3 + k), lo);
      hi = _mm256_fmadd_ps(w3, _mm256_loadu_ps(p3 + k + 8), hi);
      _mm256_storeu_ps(out + k, lo);
      _mm256_storeu_ps(out + k + 8, hi);
    }
    if (k + 8 <= c) {
      __m256 v = _mm256_mul_ps(w0, _mm256_loadu_ps(p0 + k));
      v = _mm256_fmadd_ps(w1, _mm256_loadu_ps(p1 + k), v);
      v = _mm256_fmadd_ps(w2, _mm256_loadu_ps(p2 + k), v);
      v = _mm256_fmadd_ps(w3, _mm256_loadu_ps(p3 + k), v);
      _mm256_storeu_ps(out + k, v);
      k += 8;
    }
    if (k < c) {
      const __m256i m = tail_mask(c - k);
      __m256 v = _mm256_mul_ps(w0, _mm256_maskload_ps(p0 + k, m));
      v = _mm256_fmadd_ps(w1, _mm256_maskload_ps(p1 + k, m), v);
      v = _mm256_fmadd_ps(w2, _mm256_maskload_ps(p2 + k, m), v);
      v = _mm256_fmadd_ps(w3, _mm256_maskload_ps(p3 + k, m), v);
      _mm256_maskstore_ps(out + k, m, v);
    }
  }
}

}  // namespace ce::native
