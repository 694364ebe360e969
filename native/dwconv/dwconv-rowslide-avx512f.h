// Row-sliding register block of dwconv-rowslide-fma3.h on 16-channel strips, for k x k kernels
// at stride == S x dilation, any multiplier: shared by f32-dwconv-{5x5s1,5x5s2,7x7s1}-16c8p-
// avx512f.cpp. For each strip and block of P output pixels the P sums stay in registers for the
// whole kernel; per kernel row the K weights are loaded once and each of the S(P-1)+K input
// columns is loaded once and feeds up to ceil(K / S) FMAs. Leftover pixels (n < P) run as one
// block of n.
// Include only from files compiled with -mavx512f -mavx512vl -mavx512dq.
#pragma once
#include "native/dwconv/dwconv-blocked-avx512f.h"

namespace ce::native::dw512 {

template <int K, int P, int S, class V, int kMode>
inline void rowslide_block(const float* const* rows, size_t off, size_t dil, const float* wt,
                           float* o, size_t out_step, const Strip& s, V vmin, V vmax) {
  V acc[P];
  const V vb = load<V>(wt);
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) acc[p] = vb;
  const float* wp = wt + kDwTile;
#pragma GCC unroll 1
  for (int ky = 0; ky < K; ++ky) {
    V wk[K];
#pragma GCC unroll 16
    for (int kx = 0; kx < K; ++kx) wk[kx] = load<V>(wp + kx * kDwTile);
    wp += K * kDwTile;
    const float* r = rows[ky] + off;
#pragma GCC unroll 32
    for (int j = 0; j < S * (P - 1) + K; ++j) {
      const V v = load_in<V, kMode>(r, s);
      r += dil;
#pragma GCC unroll 16
      for (int kx = 0; kx < K; ++kx) {
        const int p = (j - kx) / S;
        if (j >= kx && (j - kx) % S == 0 && p < P) acc[p] = fma(v, wk[kx], acc[p]);
      }
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) store<kMode>(o + p * out_step, clamp(acc[p], vmin, vmax), s);
}

// The n < P leftover pixels of a row as one row-sliding block of n (n independent FMA chains;
// the blocked kernel's 4 + 2 + 1 blocks ran the 7 pixels of a 7x7 image on chains of 4, 2
// and 1, latency-bound).
template <int K, int P, int S, class V, int kMode>
inline void rowslide_tail(size_t n, const float* const* rows, size_t off, size_t dil,
                          const float* wt, float* o, size_t out_step, const Strip& s, V vmin,
                          V vmax) {
  if constexpr (P > 1) {
    if (n == P - 1)
      return rowslide_block<K, P - 1, S, V, kMode>(rows, off, dil, wt, o, out_step, s, vmin,
                                                   vmax);
    return rowslide_tail<K, P - 1, S, V, kMode>(n, rows, off, dil, wt, o, out_step, s, vmin,
                                                vmax);
  }
}

// A wide row (dwconv-avx512f.h), the DwRowFn signature (kh = kw = K, in_step = S * in_dil).
template <int K, int P, int S = 1>
__attribute__((noinline)) void rowslide_row(size_t channels, size_t pixels,
                                            const float* const* rows, size_t in_step,
                                            size_t in_dil, size_t kh, size_t kw, const float* w,
                                            float* out, size_t out_step, const DwParams* params) {
  const size_t full = pixels / P * P;
  for_each_strip(channels, params, [&](auto v, auto mode, size_t c, size_t off, const Strip& s) {
    using V = decltype(v);
    constexpr int kMode = decltype(mode)::value;
    const V vmin = set1<V>(params->min), vmax = set1<V>(params->max);
    const float* wt = tile_weights(w, c, K * K);
    for (size_t x = 0; x < full; x += P)
      rowslide_block<K, P, S, V, kMode>(rows, off + x * in_step, in_dil, wt,
                                        out + c + x * out_step, out_step, s, vmin, vmax);
    if (full < pixels)
      rowslide_tail<K, P, S, V, kMode>(pixels - full, rows, off + full * in_step, in_dil, wt,
                                       out + c + full * out_step, out_step, s, vmin, vmax);
  });
}

}  // namespace ce::native::dw512
