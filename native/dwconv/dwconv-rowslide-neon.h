// Row-sliding register block for k x k kernels at stride == S x dilation, any multiplier: shared
// by f32-dwconv-{5x5s1,5x5s2,7x7s1}-4c8p-neon.cpp (the algorithm of dwconv-rowslide-fma3.h on
// strips of 4 channels, one q).
//
// For each strip and block of P output pixels, the P sums stay in registers for the whole
// kernel. Per kernel row, the row's K weights are loaded into registers and the S(P-1)+K input
// columns are loaded once each; column j feeds output (j - kx) / S with weight kx where S
// divides j - kx. Per kernel row: S(P-1)+K input loads + K weight loads for P*K FMAs (5x5 s1:
// 17 per 40, s2: 24 per 40, 7x7: 21 per 56); P = 8 independent sums, 8 + K + 1 q registers.
// Leftover pixels (< P) use the blocked kernel.
#pragma once
#include "native/dwconv/dwconv-blocked-neon.h"

namespace ce::native::dwn {

template <int K, int P, int S, int NQ, int kMode>
inline void rowslide_block(const Lanes& l, const float* const* rows, size_t off, size_t dil,
                           const float* wt, float* o, size_t out_step, float32x4_t vmin,
                           float32x4_t vmax) {
  V<NQ> acc[P];
  const V<NQ> vb = load<NQ>(wt);
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) acc[p] = vb;
  const float* wp = wt + kDwTile;
#pragma GCC unroll 1
  for (int ky = 0; ky < K; ++ky) {
    V<NQ> wk[K];
#pragma GCC unroll 16
    for (int kx = 0; kx < K; ++kx) wk[kx] = load<NQ>(wp + kx * kDwTile);
    wp += K * kDwTile;
    const float* r = rows[ky] + off;
#pragma GCC unroll 32
    for (int j = 0; j < S * (P - 1) + K; ++j) {
      const V<NQ> v = load_in<NQ, kMode>(r, l);
      r += dil;
#pragma GCC unroll 16
      for (int kx = 0; kx < K; ++kx) {
        const int p = (j - kx) / S;
        if (j >= kx && (j - kx) % S == 0 && p < P) acc[p] = fma(acc[p], v, wk[kx]);
      }
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) store_out<NQ, kMode>(o + p * out_step, clamp(acc[p], vmin, vmax), l);
}

template <int K, int P, int S = 1>
inline void rowslide_row(size_t channels, size_t pixels, const float* const* rows,
                         size_t in_step, size_t in_dil, const float* w, float* out,
                         size_t out_step, const DwParams* params) {
  const float32x4_t vmin = vdupq_n_f32(params->min);
  const float32x4_t vmax = vdupq_n_f32(params->max);
  const size_t full = pixels / P * P;
  for_each_strip<1>(channels, params, [&](auto cfg, size_t c, size_t off, const Lanes& l) {
    using C = decltype(cfg);
    const float* wt = tile_weights(w, c, K * K);
    for (size_t x = 0; x < full; x += P)
      rowslide_block<K, P, S, C::NQ, C::kMode>(l, rows, off + x * in_step, in_dil, wt,
                                               out + c + x * out_step, out_step, vmin, vmax);
    if (full < pixels)
      strip<K, K, C::NQ, C::kMode, false>(l, pixels - full, rows, off + full * in_step, in_step,
                                          in_dil, K, K, wt, out + c + full * out_step, out_step,
                                          vmin, vmax);
  });
}

}  // namespace ce::native::dwn
