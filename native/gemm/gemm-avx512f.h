// The MR x (16 * NV + 8 * NH) AVX-512 GEMM microkernel body (see gemm.h), instantiated by the
// f32-gemm-<MR>x<NR>[-prfm]-avx512f.cpp files: MR * NV zmm accumulators (and, NH = 1, MR ymm
// ones for an 8-column half vector: 24-wide panels without a masked-off half zmm, whose FMAs
// would cost a full zmm), NV (+ NH) loads of W and MR broadcasts of A per step of k. Tails of
// nc are masked loads and stores (they touch no memory past the tail). Prefetch (the -prfm
// variants' next tile, every variant's weight stream): gemm-prefetch.h.
#pragma once
#include <immintrin.h>

#include <algorithm>

#include "native/gemm/gemm-prefetch.h"
#include "native/gemm/gemm.h"
#include "native/simd/avx512.h"

namespace ce::native {

template <size_t MR, size_t NV, bool Prefetch, size_t NH, bool Stream>
inline void gemm_avx512f_body(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                         const float* w, float* c, size_t cm_stride, size_t cn_stride,
                         bool accumulate, const ClampParams* params, const void* prefetch,
                         size_t prefetch_lines) {
  static_assert(NH <= 1, "at most one 8-column half vector");
  constexpr size_t NR = 16 * NV + 8 * NH, H0 = 16 * NV;
  const float* ar[MR];
  float* cr[MR];
  ar[0] = a;
  cr[0] = c;
#pragma GCC unroll 16
  for (size_t i = 1; i < MR; ++i) {
    ar[i] = i < mr ? ar[i - 1] + a_stride : ar[i - 1];
    cr[i] = i < mr ? cr[i - 1] + cm_stride : cr[i - 1];
  }
  const __m512 vmin = _mm512_set1_ps(params->min);
  const __m512 vmax = _mm512_set1_ps(params->max);
  NextTilePrefetch<MR> pf(Prefetch && mr == MR, nc, NR, kc, a, a_stride, c, cm_stride);
  StreamPrefetch stream(prefetch, prefetch_lines, (nc + NR - 1) / NR * kc);
  for (;;) {
    if (Prefetch) pf.before_panel(cn_stride);
    __mmask16 mask[NV];
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) mask[v] = avx512::tail_mask(nc > 16 * v ? nc - 16 * v : 0);
    const __mmask8 hmask = static_cast<__mmask8>(avx512::tail_mask(nc > H0 ? nc - H0 : 0));
    __m512 acc[MR][NV];
    __m256 acch[MR];
    if (accumulate) {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v)
#pragma GCC unroll 16
        for (size_t i = 0; i < MR; ++i) acc[i][v] = _mm512_maskz_loadu_ps(mask[v], cr[i] + 16 * v);
      if constexpr (NH > 0)
#pragma GCC unroll 16
        for (size_t i = 0; i < MR; ++i) acch[i] = _mm256_maskz_loadu_ps(hmask, cr[i] + H0);
    } else {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v) {
        const __m512 b = _mm512_loadu_ps(w + 16 * v);
#pragma GCC unroll 16
        for (size_t i = 0; i < MR; ++i) acc[i][v] = b;
      }
      if constexpr (NH > 0) {
        const __m256 b = _mm256_loadu_ps(w + H0);
#pragma GCC unroll 16
        for (size_t i = 0; i < MR; ++i) acch[i] = b;
      }
    }
    w += NR;
    for (size_t k = 0; k < kc; ++k) {
      __m512 b[NV];
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(w + 16 * v);
      __m256 bh;
      if constexpr (NH > 0) bh = _mm256_loadu_ps(w + H0);
      w += NR;
      if constexpr (Stream) stream.step();
#pragma GCC unroll 16
      for (size_t i = 0; i < MR; ++i) {
        const __m512 va = _mm512_set1_ps(ar[i][k]);
#pragma GCC unroll 4
        for (size_t v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(va, b[v], acc[i][v]);
        if constexpr (NH > 0) acch[i] = _mm256_fmadd_ps(_mm512_castps512_ps256(va), bh, acch[i]);
      }
    }
#pragma GCC unroll 16
    for (size_t i = 0; i < MR; ++i) {
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v)
        acc[i][v] = _mm512_min_ps(vmax, _mm512_max_ps(vmin, acc[i][v]));
      if constexpr (NH > 0)
        acch[i] = _mm256_min_ps(_mm512_castps512_ps256(vmax),
                                _mm256_max_ps(_mm512_castps512_ps256(vmin), acch[i]));
    }
    // Highest row first: aliased rows (mr < MR) end with the right value either way.
    if (nc >= NR) {
#pragma GCC unroll 16
      for (size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
        for (size_t v = 0; v < NV; ++v) _mm512_storeu_ps(cr[MR - 1 - r] + 16 * v, acc[MR - 1 - r][v]);
        if constexpr (NH > 0) _mm256_storeu_ps(cr[MR - 1 - r] + H0, acch[MR - 1 - r]);
      }
      nc -= NR;
      if (nc == 0) return;
#pragma GCC unroll 16
      for (size_t i = 0; i < MR; ++i) cr[i] += cn_stride;
    } else {
#pragma GCC unroll 16
      for (size_t r = 0; r < MR; ++r) {
#pragma GCC unroll 4
        for (size_t v = 0; v < NV; ++v)
          _mm512_mask_storeu_ps(cr[MR - 1 - r] + 16 * v, mask[v], acc[MR - 1 - r][v]);
        if constexpr (NH > 0) _mm256_mask_storeu_ps(cr[MR - 1 - r] + H0, hmask, acch[MR - 1 - r]);
      }
      return;
    }
  }
}

// A call without the weight-stream hint runs a loop with no stream code in it (a check per k
// step cost the 8x16 tiles, 8 FMAs per step, 4-8% on the 3 -> 16 stem).
template <size_t MR, size_t NV, bool Prefetch = false, size_t NH = 0>
inline void gemm_avx512f(size_t mr, size_t nc, size_t kc, const float* a, size_t a_stride,
                         const float* w, float* c, size_t cm_stride, size_t cn_stride,
                         bool accumulate, const ClampParams* params, const void* prefetch,
                         size_t prefetch_lines) {
  if (prefetch_lines != 0)
    gemm_avx512f_body<MR, NV, Prefetch, NH, true>(mr, nc, kc, a, a_stride, w, c, cm_stride,
                                                  cn_stride, accumulate, params, prefetch,
                                                  prefetch_lines);
  else
    gemm_avx512f_body<MR, NV, Prefetch, NH, false>(mr, nc, kc, a, a_stride, w, c, cm_stride,
                                                   cn_stride, accumulate, params, nullptr, 0);
}

}  // namespace ce::native
