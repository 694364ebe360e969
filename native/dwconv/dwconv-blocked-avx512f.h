// The register-blocked row algorithm of dwconv-blocked-fma3.h on 16-channel strips, shared by
// f32-dwconv-{5x5,kxk}-16c8p-avx512f.cpp (and the leftover pixels of the row-sliding kernels):
// blocks of 8 (then 4, 2, 1) output pixels accumulate in zmm registers; each tap loads its
// weights once and FMAs them into every pixel of the block. Taps are compile-time (KH, KW > 0)
// or run-time (0). Any channel multiplier (LoadMode).
// Include only from files compiled with -mavx512f -mavx512vl -mavx512dq.
#pragma once
#include "native/dwconv/dwconv-avx512f.h"

namespace ce::native::dw512 {

template <size_t P, int KH, int KW, class V, int kMode>
inline void block(const float* const* rows, size_t off, size_t step, size_t dil, size_t kh,
                  size_t kw, const float* wt, float* o, size_t out_step, const Strip& s, V vmin,
                  V vmax) {
  const size_t nkh = KH ? KH : kh;
  const size_t nkw = KW ? KW : kw;
  V acc[P];
  const V vb = load<V>(wt);
#pragma GCC unroll 8
  for (size_t p = 0; p < P; ++p) acc[p] = vb;
  const float* wp = wt + kDwTile;
  for (size_t ky = 0; ky < nkh; ++ky) {
    // Pixel p reads q[p / 3] + (p % 3) * step: three base pointers and one index register.
    const float* q[3];
    q[0] = rows[ky] + off;
    q[1] = q[0] + 3 * step;
    q[2] = q[0] + 6 * step;
    for (size_t kx = 0; kx < nkw; ++kx) {
      const V wv = load<V>(wp);
      wp += kDwTile;
#pragma GCC unroll 8
      for (size_t p = 0; p < P; ++p)
        acc[p] = fma(load_in<V, kMode>(q[p / 3] + (p % 3) * step, s), wv, acc[p]);
      q[0] += dil;
      q[1] += dil;
      q[2] += dil;
    }
  }
#pragma GCC unroll 8
  for (size_t p = 0; p < P; ++p) store<kMode>(o + p * out_step, clamp(acc[p], vmin, vmax), s);
}

template <int KH, int KW, class V, int kMode>
inline void strip(size_t pixels, const float* const* rows, size_t off, size_t step, size_t dil,
                  size_t kh, size_t kw, const float* wt, float* o, size_t out_step, const Strip& s,
                  V vmin, V vmax) {
  size_t x = 0;
  for (; x + 8 <= pixels; x += 8)
    block<8, KH, KW, V, kMode>(rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                            out_step, s, vmin, vmax);
  if (x + 4 <= pixels) {
    block<4, KH, KW, V, kMode>(rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                            out_step, s, vmin, vmax);
    x += 4;
  }
  if (x + 2 <= pixels) {
    block<2, KH, KW, V, kMode>(rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                            out_step, s, vmin, vmax);
    x += 2;
  }
  if (x < pixels)
    block<1, KH, KW, V, kMode>(rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                            out_step, s, vmin, vmax);
}

// A wide row (dwconv-avx512f.h): strips of 16 output channels, any multiplier.
template <int KH, int KW>
__attribute__((noinline)) void row(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params) {
  const size_t taps = (KH ? KH : kh) * (KW ? KW : kw);
  for_each_strip(channels, params, [&](auto v, auto mode, size_t c, size_t off, const Strip& s) {
    using V = decltype(v);
    strip<KH, KW, V, decltype(mode)::value>(pixels, rows, off, in_step, in_dil, kh, kw,
                                            tile_weights(w, c, taps), out + c, out_step, s,
                                            set1<V>(params->min), set1<V>(params->max));
  });
}

}  // namespace ce::native::dw512
