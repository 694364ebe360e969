// The register-blocked row algorithm shared by f32-dwconv-{5x5,kxk}-4c8p-neon.cpp (and the
// leftover pixels of the row-sliding kernels), as in dwconv-blocked-fma3.h: for each strip of 4
// output channels (one q), blocks of 8 (then 4, 2, 1) output pixels accumulate in registers;
// each tap loads its weights once and FMAs them into every pixel of the block (1 weight load +
// 8 input loads per 8 FMAs, 8 independent sums). Taps are compile-time (KH, KW > 0) or run-time
// (0). Any channel multiplier (dwconv-neon.h).
#pragma once
#include "native/dwconv/dwconv-neon.h"

namespace ce::native::dwn {

template <size_t P, int KH, int KW, int NQ, int kMode>
inline void block(const Lanes& l, const float* const* rows, size_t off, size_t step, size_t dil,
                  size_t kh, size_t kw, const float* wt, float* o, size_t out_step,
                  float32x4_t vmin, float32x4_t vmax) {
  const size_t nkh = KH ? KH : kh;
  const size_t nkw = KW ? KW : kw;
  V<NQ> acc[P];
  const V<NQ> vb = load<NQ>(wt);
#pragma GCC unroll 8
  for (size_t p = 0; p < P; ++p) acc[p] = vb;
  const float* wp = wt + kDwTile;
  for (size_t ky = 0; ky < nkh; ++ky) {
    const float* r = rows[ky] + off;
    // Not unrolled: a tap loop addresses the 8 pixels as [r, offset] with the offsets in
    // registers; unrolled 5x5 taps made GCC build each address with its own add (40 per row).
#pragma GCC unroll 1
    for (size_t kx = 0; kx < nkw; ++kx, r += dil, wp += kDwTile) {
      const V<NQ> wv = load<NQ>(wp);
#pragma GCC unroll 8
      for (size_t p = 0; p < P; ++p) acc[p] = fma(acc[p], load_in<NQ, kMode>(r + p * step, l), wv);
    }
  }
#pragma GCC unroll 8
  for (size_t p = 0; p < P; ++p)
    store_out<NQ, kMode>(o + p * out_step, clamp(acc[p], vmin, vmax), l);
}

// Blocks of 8 pixels only when kBlock8 (the row-sliding kernels' leftovers are fewer than 8).
template <int KH, int KW, int NQ, int kMode, bool kBlock8 = true>
inline void strip(const Lanes& l, size_t pixels, const float* const* rows, size_t off,
                  size_t step, size_t dil, size_t kh, size_t kw, const float* wt, float* o,
                  size_t out_step, float32x4_t vmin, float32x4_t vmax) {
  size_t x = 0;
  if constexpr (kBlock8)
    for (; x + 8 <= pixels; x += 8)
      block<8, KH, KW, NQ, kMode>(l, rows, off + x * step, step, dil, kh, kw, wt,
                                  o + x * out_step, out_step, vmin, vmax);
  if (x + 4 <= pixels) {
    block<4, KH, KW, NQ, kMode>(l, rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                                out_step, vmin, vmax);
    x += 4;
  }
  if (x + 2 <= pixels) {
    block<2, KH, KW, NQ, kMode>(l, rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                                out_step, vmin, vmax);
    x += 2;
  }
  if (x < pixels)
    block<1, KH, KW, NQ, kMode>(l, rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                                out_step, vmin, vmax);
}

// The whole row: strips of 4 output channels, any multiplier.
template <int KH, int KW>
inline void row(size_t channels, size_t pixels, const float* const* rows, size_t in_step,
                size_t in_dil, size_t kh, size_t kw, const float* w, float* out, size_t out_step,
                const DwParams* params) {
  const float32x4_t vmin = vdupq_n_f32(params->min);
  const float32x4_t vmax = vdupq_n_f32(params->max);
  const size_t taps = (KH ? KH : kh) * (KW ? KW : kw);
  for_each_strip<1>(channels, params, [&](auto cfg, size_t c, size_t off, const Lanes& l) {
    using C = decltype(cfg);
    strip<KH, KW, C::NQ, C::kMode>(l, pixels, rows, off, in_step, in_dil, kh, kw,
                                   tile_weights(w, c, taps), out + c, out_step, vmin, vmax);
  });
}

}  // namespace ce::native::dwn
