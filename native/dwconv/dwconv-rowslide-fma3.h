// Row-sliding register block for k x k kernels at stride == S x dilation (stride S in units of
// the tap spacing), any multiplier: shared by f32-dwconv-{5x5s1,5x5s2,7x7s1}-8c8p-fma3.cpp.
//
// For each strip of 8 channels and block of P output pixels, the P sums stay in registers for
// the whole kernel. Per kernel row, the row's K weights are loaded into registers and the
// S(P-1)+K input columns are loaded once each; column j feeds output (j - kx) / S with weight
// kx where S divides j - kx. Per kernel row: S(P-1)+K input loads + K weight loads for P*K FMAs
// (5x5 s1: 17 loads per 40 FMAs, s2: 24 per 40, against 45 for the tap-by-tap blocked kernel);
// with a multiplier, each column's lane shuffle serves up to ceil(K / S) FMAs. Leftover pixels
// (n < P) run as one block of n.
// Include only from files compiled with -mavx2 -mfma.
#pragma once
#include "native/dwconv/dwconv-blocked-fma3.h"

namespace ce::native::dw {

template <int K, int P, int S, int kMode>
inline void rowslide_block(size_t nc, const float* const* rows, size_t off, size_t dil,
                           const float* wt, float* o, size_t out_step, __m256i mask,
                           __m256i perm, __m256 vmin, __m256 vmax) {
  __m256 acc[P];
  const __m256 vb = _mm256_loadu_ps(wt);
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) acc[p] = vb;
  const float* wp = wt + kDwTile;
#pragma GCC unroll 1
  for (int ky = 0; ky < K; ++ky) {
    __m256 wk[K];
#pragma GCC unroll 16
    for (int kx = 0; kx < K; ++kx) wk[kx] = _mm256_loadu_ps(wp + kx * kDwTile);
    wp += K * kDwTile;
    const float* r = rows[ky] + off;
#pragma GCC unroll 32
    for (int j = 0; j < S * (P - 1) + K; ++j) {
      const __m256 v = load_in<kMode>(r, mask, perm);
      r += dil;
#pragma GCC unroll 16
      for (int kx = 0; kx < K; ++kx) {
        const int p = (j - kx) / S;
        if (j >= kx && (j - kx) % S == 0 && p < P)
          acc[p] = _mm256_fmadd_ps(v, wk[kx], acc[p]);
      }
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) avx2::store_n(o + p * out_step, clamp(acc[p], vmin, vmax), nc);
}

// The n < P leftover pixels of a row as one block of n (n independent FMA chains).
template <int K, int P, int S, int kMode>
inline void rowslide_tail(size_t n, size_t nc, const float* const* rows, size_t off, size_t dil,
                          const float* wt, float* o, size_t out_step, __m256i mask,
                          __m256i perm, __m256 vmin, __m256 vmax) {
  if constexpr (P > 1) {
    if (n == P - 1)
      return rowslide_block<K, P - 1, S, kMode>(nc, rows, off, dil, wt, o, out_step, mask, perm,
                                                vmin, vmax);
    return rowslide_tail<K, P - 1, S, kMode>(n, nc, rows, off, dil, wt, o, out_step, mask, perm,
                                             vmin, vmax);
  }
}

template <int K, int P, int S = 1>
inline void rowslide_row(size_t channels, size_t pixels, const float* const* rows,
                         size_t in_step, size_t in_dil, const float* w, float* out,
                         size_t out_step, const DwParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);
  const size_t full = pixels / P * P;
  for_each_strip(channels, params, [&](auto mode, size_t c, size_t nc, size_t off, __m256i mask,
                                       __m256i perm) {
    constexpr int kMode = decltype(mode)::value;
    const float* wt = tile_weights(w, c, K * K);
    for (size_t x = 0; x < full; x += P)
      rowslide_block<K, P, S, kMode>(nc, rows, off + x * in_step, in_dil, wt,
                                     out + c + x * out_step, out_step, mask, perm, vmin, vmax);
    if (full < pixels)
      rowslide_tail<K, P, S, kMode>(pixels - full, nc, rows, off + full * in_step, in_dil, wt,
                                    out + c + full * out_step, out_step, mask, perm, vmin, vmax);
  });
}

}  // namespace ce::native::dw
