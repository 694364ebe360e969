// The MR x (16 * NV) AVX-512 IGEMM microkernel body (see igemm.h), instantiated by the
// f32-igemm-<MR>x<NR>-avx512f.cpp files: per tap, MR row pointers (displaced by a_offset unless
// they are the zero buffer), then the GEMM step of gemm-avx512f.h. Tails of nc are masked stores.
#pragma once
#include <immintrin.h>

#include "native/gemm/gemm-prefetch.h"
#include "native/gemm/igemm.h"
#include "native/simd/avx512.h"

namespace ce::native {

template <size_t MR, size_t NV, bool Stream>
inline void igemm_avx512f_body(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                          const float* w, float* c, size_t cm_stride, size_t cn_stride,
                          size_t a_offset, const float* zero, const ClampParams* params,
                          const void* prefetch, size_t prefetch_lines) {
  constexpr size_t NR = 16 * NV;
  StreamPrefetch stream(prefetch, prefetch_lines, (nc + NR - 1) / NR * ks * kc);
  float* cr[MR];
  cr[0] = c;
#pragma GCC unroll 16
  for (size_t i = 1; i < MR; ++i) cr[i] = i < mr ? cr[i - 1] + cm_stride : cr[i - 1];
  const __m512 vmin = _mm512_set1_ps(params->min);
  const __m512 vmax = _mm512_set1_ps(params->max);
  for (;;) {
    __m512 acc[MR][NV];
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) {
      const __m512 b = _mm512_loadu_ps(w + 16 * v);
#pragma GCC unroll 16
      for (size_t i = 0; i < MR; ++i) acc[i][v] = b;
    }
    w += NR;
    const float* const* ap = a;
    for (size_t t = 0; t < ks; ++t, ap += MR) {
      const float* ar[MR];
#pragma GCC unroll 16
      for (size_t i = 0; i < MR; ++i) ar[i] = ap[i] != zero ? ap[i] + a_offset : zero;
      for (size_t k = 0; k < kc; ++k) {
        __m512 b[NV];
#pragma GCC unroll 4
        for (size_t v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(w + 16 * v);
        w += NR;
        if constexpr (Stream) stream.step();
#pragma GCC unroll 16
        for (size_t i = 0; i < MR; ++i) {
          const __m512 va = _mm512_set1_ps(ar[i][k]);
#pragma GCC unroll 4
          for (size_t v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(va, b[v], acc[i][v]);
        }
      }
    }
    // Highest row first: aliased rows (mr < MR) end with row mr - 1's value.
#pragma GCC unroll 16
    for (size_t r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v) {
        const size_t i = MR - 1 - r;
        const __m512 y = _mm512_min_ps(vmax, _mm512_max_ps(vmin, acc[i][v]));
        _mm512_mask_storeu_ps(cr[i] + 16 * v, avx512::tail_mask(nc > 16 * v ? nc - 16 * v : 0), y);
      }
    if (nc <= NR) return;
    nc -= NR;
#pragma GCC unroll 16
    for (size_t i = 0; i < MR; ++i) cr[i] += cn_stride;
  }
}

// Without the weight-stream hint, a loop with no stream code (see gemm-avx512f.h).
template <size_t MR, size_t NV>
inline void igemm_avx512f(size_t mr, size_t nc, size_t kc, size_t ks, const float* const* a,
                          const float* w, float* c, size_t cm_stride, size_t cn_stride,
                          size_t a_offset, const float* zero, const ClampParams* params,
                          const void* prefetch, size_t prefetch_lines) {
  if (prefetch_lines != 0)
    igemm_avx512f_body<MR, NV, true>(mr, nc, kc, ks, a, w, c, cm_stride, cn_stride, a_offset,
                                     zero, params, prefetch, prefetch_lines);
  else
    igemm_avx512f_body<MR, NV, false>(mr, nc, kc, ks, a, w, c, cm_stride, cn_stride, a_offset,
                                      zero, params, nullptr, 0);
}

}  // namespace ce::native
