// The 1 x (16 * NV + 8 * NH) AVX-512 GEMM microkernel (see gemm.h; mr must be 1): the
// matrix-vector product of gemm-1xn-fma3.h (K in 4 quarters, each with its own accumulators
// and its own stream of W rows) with zmm vectors and masked tails; an 8-column half vector
// (NH = 1) is a zmm with its upper lanes masked off (this kernel streams W: its FMAs are free).
#pragma once
#include <immintrin.h>

#include "native/gemm/gemm.h"
#include "native/simd/avx512.h"

namespace ce::native {

template <size_t NV, size_t NH = 0>
inline void gemm_1xn_avx512f(size_t nc, size_t kc, const float* a, const float* w, float* c,
                             size_t cn_stride, bool accumulate, const ClampParams* params) {
  constexpr size_t NT = NV + NH, NR = 16 * NV + 8 * NH;
  // Lanes of vector v inside the panel (the half vector has 8).
  auto lanes = [](size_t v) { return static_cast<__mmask16>(v < NV ? 0xFFFF : 0x00FF); };
  const __m512 vmin = _mm512_set1_ps(params->min);
  const __m512 vmax = _mm512_set1_ps(params->max);
  const size_t q = kc / 4;
  for (;;) {
    __mmask16 mask[NT];
    __m512 acc[4][NT];
#pragma GCC unroll 4
    for (size_t v = 0; v < NT; ++v) {
      mask[v] = avx512::tail_mask(nc > 16 * v ? nc - 16 * v : 0) & lanes(v);
      acc[0][v] = accumulate ? _mm512_maskz_loadu_ps(mask[v], c + 16 * v)
                             : _mm512_maskz_loadu_ps(lanes(v), w + 16 * v);
      acc[1][v] = acc[2][v] = acc[3][v] = _mm512_setzero_ps();
    }
    w += NR;
    const float* ws[4] = {w, w + q * NR, w + 2 * q * NR, w + 3 * q * NR};
    for (size_t k = 0; k < q; ++k) {
#pragma GCC unroll 4
      for (size_t u = 0; u < 4; ++u) {
        const __m512 va = _mm512_set1_ps(a[u * q + k]);
#pragma GCC unroll 4
        for (size_t v = 0; v < NT; ++v)
          acc[u][v] = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(lanes(v), ws[u] + 16 * v), acc[u][v]);
        ws[u] += NR;
      }
    }
    w = ws[3];
    for (size_t k = 4 * q; k < kc; ++k) {
      const __m512 va = _mm512_set1_ps(a[k]);
#pragma GCC unroll 4
      for (size_t v = 0; v < NT; ++v)
        acc[0][v] = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(lanes(v), w + 16 * v), acc[0][v]);
      w += NR;
    }
#pragma GCC unroll 4
    for (size_t v = 0; v < NT; ++v) {
      const __m512 s = _mm512_add_ps(_mm512_add_ps(acc[0][v], acc[1][v]),
                                     _mm512_add_ps(acc[2][v], acc[3][v]));
      _mm512_mask_storeu_ps(c + 16 * v, mask[v], _mm512_min_ps(vmax, _mm512_max_ps(vmin, s)));
    }
    if (nc <= NR) return;
    nc -= NR;
    c += cn_stride;
  }
}

}  // namespace ce::native
