// The 1 x (8 * NV) AVX2 GEMM microkernel (see gemm.h; mr must be 1): a matrix-vector product
// for single-row tiles (a batch-1 Gemm, a 1x1 conv on a 1x1 image, the last row of an M that
// MR does not divide). One row has no reuse of W, so this streams W: K is cut into 4 quarters,
// each with its own accumulators (4 independent FMA chains instead of one) and its own stream
// of W rows (4 hardware prefetch streams instead of one). Measured on Zen 3, 1 thread, 9216 x
// 4096 (151 MB, from DRAM): 11.9 ms with the MR-row kernel, 9.2 with 4 chains reading one
// stream, 7.6-7.9 with 2 or 4 streams (OpenBLAS sgemv 7.3); 1280 x 1000 (in L3): 0.16 -> 0.08.
// Software prefetch 256, 1024 or 4096 bytes ahead did not help.
#pragma once
#include <immintrin.h>

#include "native/gemm/gemm.h"
#include "native/simd/avx2.h"

namespace ce::native {

template <size_t NV>
inline void gemm_1xn_fma3(size_t nc, size_t kc, const float* a, const float* w, float* c,
                          size_t cn_stride, bool accumulate, const ClampParams* params) {
  constexpr size_t NR = 8 * NV;
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);
  const size_t q = kc / 4;
  for (;;) {
    __m256 acc[4][NV];
#pragma GCC unroll 3
    for (size_t v = 0; v < NV; ++v) {
      const size_t lo = 8 * v;
      if (!accumulate)
        acc[0][v] = _mm256_loadu_ps(w + lo);
      else
        acc[0][v] = nc >= lo + 8 ? _mm256_loadu_ps(c + lo)
                    : nc > lo    ? _mm256_maskload_ps(c + lo, avx2::tail_mask(nc - lo))
                                 : _mm256_setzero_ps();
      acc[1][v] = acc[2][v] = acc[3][v] = _mm256_setzero_ps();
    }
    w += NR;
    const float* ws[4] = {w, w + q * NR, w + 2 * q * NR, w + 3 * q * NR};
    for (size_t k = 0; k < q; ++k) {
#pragma GCC unroll 4
      for (size_t u = 0; u < 4; ++u) {
        const __m256 va = _mm256_broadcast_ss(a + u * q + k);
#pragma GCC unroll 3
        for (size_t v = 0; v < NV; ++v)
          acc[u][v] = _mm256_fmadd_ps(va, _mm256_loadu_ps(ws[u] + 8 * v), acc[u][v]);
        ws[u] += NR;
      }
    }
    w = ws[3];
    for (size_t k = 4 * q; k < kc; ++k) {
      const __m256 va = _mm256_broadcast_ss(a + k);
#pragma GCC unroll 3
      for (size_t v = 0; v < NV; ++v)
        acc[0][v] = _mm256_fmadd_ps(va, _mm256_loadu_ps(w + 8 * v), acc[0][v]);
      w += NR;
    }
#pragma GCC unroll 3
    for (size_t v = 0; v < NV; ++v) {
      const __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0][v], acc[1][v]),
                                     _mm256_add_ps(acc[2][v], acc[3][v]));
      acc[0][v] = _mm256_min_ps(vmax, _mm256_max_ps(vmin, s));
    }
    if (nc >= NR) {
#pragma GCC unroll 3
      for (size_t v = 0; v < NV; ++v) _mm256_storeu_ps(c + 8 * v, acc[0][v]);
      nc -= NR;
      if (nc == 0) return;
      c += cn_stride;
    } else {
#pragma GCC unroll 3
      for (size_t v = 0; v < NV; ++v) {
        if (nc >= 8 * v + 8)
          _mm256_storeu_ps(c + 8 * v, acc[0][v]);
        else if (nc > 8 * v)
          avx2::store_partial(c + 8 * v, acc[0][v], nc - 8 * v);
      }
      return;
    }
  }
}

}  // namespace ce::native
