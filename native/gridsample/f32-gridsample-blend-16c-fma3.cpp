// GridSample gather: 16 channels per step (two ymm accumulators over the taps), then 8, then a
// masked tail; nearest (1 tap) copies.
#include <immintrin.h>

#include <cstring>

#include "native/gridsample/gridsample.h"
#include "native/simd/avx2.h"

namespace ce::native {

namespace {

template <size_t T>
inline void blend(size_t taps, size_t c, const float* const* p, const float* w, float* out) {
  const size_t nt = T ? T : taps;
  size_t k = 0;
  for (; k + 16 <= c; k += 16) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (size_t t = 0; t < nt; ++t) {
      const __m256 wt = _mm256_broadcast_ss(w + t);
      lo = _mm256_fmadd_ps(wt, _mm256_loadu_ps(p[t] + k), lo);
      hi = _mm256_fmadd_ps(wt, _mm256_loadu_ps(p[t] + k + 8), hi);
    }
    _mm256_storeu_ps(out + k, lo);
    _mm256_storeu_ps(out + k + 8, hi);
  }
  if (k + 8 <= c) {
    __m256 v = _mm256_setzero_ps();
    for (size_t t = 0; t < nt; ++t)
      v = _mm256_fmadd_ps(_mm256_broadcast_ss(w + t), _mm256_loadu_ps(p[t] + k), v);
    _mm256_storeu_ps(out + k, v);
    k += 8;
  }
  if (k < c) {
    const __m256i m = avx2::tail_mask(c - k);
    __m256 v = _mm256_setzero_ps();
    for (size_t t = 0; t < nt; ++t)
      v = _mm256_fmadd_ps(_mm256_broadcast_ss(w + t), _mm256_maskload_ps(p[t] + k, m), v);
    avx2::store_partial(out + k, v, c - k);
  }
}

}  // namespace

void f32_gridsample_blend_16c__fma3(size_t n, size_t taps, size_t c, const float* const* ptr,
                                    const float* coef, float* out, size_t out_stride) {
  for (size_t s = 0; s < n; ++s, ptr += taps, coef += taps, out += out_stride) {
    switch (taps) {
      case 1: std::memcpy(out, ptr[0], c * sizeof(float)); break;
      case 4: blend<4>(taps, c, ptr, coef, out); break;
      case 8: blend<8>(taps, c, ptr, coef, out); break;
      case 16: blend<16>(taps, c, ptr, coef, out); break;
      default: blend<0>(taps, c, ptr, coef, out); break;
    }
  }
}

}  // namespace ce::native
