// The MR x (8 * NV) AVX2 GEMM microkernel body (see gemm.h), instantiated by the
// f32-gemm-<MR>x<NR>[-prfm]-fma3.cpp files: MR * NV accumulators, NV ymm loads of W and MR
// broadcasts of A per step of k. The -prfm variants also prefetch the next tile's rows of A
// and C; every variant takes the weight-stream hint (gemm-prefetch.h).
#pragma once
#include <immintrin.h>

#include <algorithm>

#include "native/gemm/gemm-prefetch.h"
#include "native/gemm/gemm.h"
#include "native/simd/avx2.h"

namespace ce::native {

template <size_t MR, size_t NV, bool Prefetch, bool Stream>
inline void gemm_fma3_body(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                      const float* w, float* c, size_t cm_stride, size_t cn_stride,
                      bool accumulate, const ClampParams* params, const void* prefetch,
                      size_t prefetch_lines) {
  constexpr size_t NR = 8 * NV;
  const float* ar[MR];
  float* cr[MR];
  ar[0] = a;
  cr[0] = c;
#pragma GCC unroll 8
  for (size_t i = 1; i < MR; ++i) {
    ar[i] = i < mr ? ar[i - 1] + a_stride : ar[i - 1];
    cr[i] = i < mr ? cr[i - 1] + cm_stride : cr[i - 1];
  }
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);
  NextTilePrefetch<MR> pf(Prefetch && mr == MR, nc, NR, kc, a, a_stride, c, cm_stride);
  StreamPrefetch stream(prefetch, prefetch_lines, (nc + NR - 1) / NR * kc);
  for (;;) {
    if (Prefetch) pf.before_panel(cn_stride);
    __m256 acc[MR][NV];
    if (accumulate) {
      if (nc >= NR) {
#pragma GCC unroll 8
        for (size_t i = 0; i < MR; ++i)
#pragma GCC unroll 3
          for (size_t v = 0; v < NV; ++v) acc[i][v] = _mm256_loadu_ps(cr[i] + 8 * v);
      } else {
#pragma GCC unroll 3
        for (size_t v = 0; v < NV; ++v) {
          const size_t lo = 8 * v;
#pragma GCC unroll 8
          for (size_t i = 0; i < MR; ++i)
            acc[i][v] = nc >= lo + 8 ? _mm256_loadu_ps(cr[i] + lo)
                        : nc > lo    ? _mm256_maskload_ps(cr[i] + lo, avx2::tail_mask(nc - lo))
                                     : _mm256_setzero_ps();
        }
      }
    } else {
#pragma GCC unroll 3
      for (size_t v = 0; v < NV; ++v) {
        const __m256 b = _mm256_loadu_ps(w + 8 * v);
#pragma GCC unroll 8
        for (size_t i = 0; i < MR; ++i) acc[i][v] = b;
      }
    }
    w += NR;
    for (size_t k = 0; k < kc; ++k) {
      __m256 b[NV];
#pragma GCC unroll 3
      for (size_t v = 0; v < NV; ++v) b[v] = _mm256_loadu_ps(w + 8 * v);
      w += NR;
      if constexpr (Stream) stream.step();
#pragma GCC unroll 8
      for (size_t i = 0; i < MR; ++i) {
        const __m256 va = _mm256_broadcast_ss(ar[i] + k);
#pragma GCC unroll 3
        for (size_t v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(va, b[v], acc[i][v]);
      }
    }
#pragma GCC unroll 8
    for (size_t i = 0; i < MR; ++i)
#pragma GCC unroll 3
      for (size_t v = 0; v < NV; ++v)
        acc[i][v] = _mm256_min_ps(vmax, _mm256_max_ps(vmin, acc[i][v]));
    if (nc >= NR) {
      // Highest row first: aliased rows (mr < MR) end with the right value either way.
#pragma GCC unroll 8
      for (size_t r = 0; r < MR; ++r)
#pragma GCC unroll 3
        for (size_t v = 0; v < NV; ++v) _mm256_storeu_ps(cr[MR - 1 - r] + 8 * v, acc[MR - 1 - r][v]);
      nc -= NR;
      if (nc == 0) return;
#pragma GCC unroll 8
      for (size_t i = 0; i < MR; ++i) cr[i] += cn_stride;
    } else {
#pragma GCC unroll 8
      for (size_t r = 0; r < MR; ++r) {
        const size_t i = MR - 1 - r;
#pragma GCC unroll 3
        for (size_t v = 0; v < NV; ++v) {
          if (nc >= 8 * v + 8)
            _mm256_storeu_ps(cr[i] + 8 * v, acc[i][v]);
          else if (nc > 8 * v)
            avx2::store_partial(cr[i] + 8 * v, acc[i][v], nc - 8 * v);
        }
      }
      return;
    }
  }
}

// Without the weight-stream hint, a loop with no stream code (see gemm-avx512f.h).
template <size_t MR, size_t NV, bool Prefetch = false>
inline void gemm_fma3(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                      const float* w, float* c, size_t cm_stride, size_t cn_stride,
                      bool accumulate, const ClampParams* params, const void* prefetch,
                      size_t prefetch_lines) {
  if (prefetch_lines != 0)
    gemm_fma3_body<MR, NV, Prefetch, true>(mr, nc, kc, a, a_stride, w, c, cm_stride, cn_stride,
                                           accumulate, params, prefetch, prefetch_lines);
  else
    gemm_fma3_body<MR, NV, Prefetch, false>(mr, nc, kc, a, a_stride, w, c, cm_stride, cn_stride,
                                            accumulate, params, nullptr, 0);
}

}  // namespace ce::native
