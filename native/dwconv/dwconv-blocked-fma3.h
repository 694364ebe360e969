// The register-blocked row algorithm shared by f32-dwconv-{5x5,kxk,mult}-8c8p-fma3.cpp: for each
// strip of 8 output channels, blocks of 8 (then 4, 2, 1) output pixels accumulate in registers;
// each tap loads its weights once and FMAs them into every pixel of the block (1 weight load
// + 8 input loads per 8 FMAs). Taps are compile-time (KH, KW > 0) or run-time (0).
// Include only from files compiled with -mavx2 -mfma.
#pragma once
#include "native/dwconv/dwconv-fma3.h"

namespace ce::native::dw {

// kMultLoad: the block's inputs are 4 channels base..base+3 (multiplier >= 2), all inside the
// pixel: one 128-bit broadcast load and an in-lane vpermilps. kMultTail: the last blocks, where
// 4 channels would run past c_in: masked load and a lane-crossing vpermps.
enum LoadMode { kFull, kTailLoad, kMultLoad, kMultTail };

template <int kMode>
inline __m256 load_in(const float* p, __m256i mask, __m256i perm) {
  if constexpr (kMode == kFull) return _mm256_loadu_ps(p);
  else if constexpr (kMode == kTailLoad) return _mm256_maskload_ps(p, mask);
  else if constexpr (kMode == kMultLoad)
    return _mm256_permutevar_ps(_mm256_broadcast_ps(reinterpret_cast<const __m128*>(p)), perm);
  else return _mm256_permutevar8x32_ps(_mm256_maskload_ps(p, mask), perm);
}

template <size_t P, int KH, int KW, int kMode>
inline void block(size_t nc, const float* const* rows, size_t off, size_t step, size_t dil,
                  size_t kh, size_t kw, const float* wt, float* o, size_t out_step, __m256i mask,
                  __m256i perm, __m256 vmin, __m256 vmax) {
  const size_t nkh = KH ? KH : kh;
  const size_t nkw = KW ? KW : kw;
  __m256 acc[P];
  const __m256 vb = _mm256_loadu_ps(wt);
#pragma GCC unroll 8
  for (size_t p = 0; p < P; ++p) acc[p] = vb;
  const float* wp = wt + kDwTile;
  for (size_t ky = 0; ky < nkh; ++ky) {
    // Pixel p reads q[p / 3] + (p % 3) * step: three base pointers and one index register
    // (scales 4 and 8) address all 8 pixels without spilling offsets.
    const float* q[3];
    q[0] = rows[ky] + off;
    q[1] = q[0] + 3 * step;
    q[2] = q[0] + 6 * step;
    for (size_t kx = 0; kx < nkw; ++kx) {
      const __m256 wv = _mm256_loadu_ps(wp);
      wp += kDwTile;
#pragma GCC unroll 8
      for (size_t p = 0; p < P; ++p)
        acc[p] = _mm256_fmadd_ps(load_in<kMode>(q[p / 3] + (p % 3) * step, mask, perm), wv, acc[p]);
      q[0] += dil;
      q[1] += dil;
      q[2] += dil;
    }
  }
  if (nc == 8) {
#pragma GCC unroll 8
    for (size_t p = 0; p < P; ++p) _mm256_storeu_ps(o + p * out_step, clamp(acc[p], vmin, vmax));
  } else {
    for (size_t p = 0; p < P; ++p) store_partial(o + p * out_step, clamp(acc[p], vmin, vmax), nc);
  }
}

template <int KH, int KW, int kMode>
inline void strip(size_t nc, size_t pixels, const float* const* rows, size_t off, size_t step,
                  size_t dil, size_t kh, size_t kw, const float* wt, float* o, size_t out_step,
                  __m256i mask, __m256i perm, __m256 vmin, __m256 vmax) {
  size_t x = 0;
  for (; x + 8 <= pixels; x += 8)
    block<8, KH, KW, kMode>(nc, rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                            out_step, mask, perm, vmin, vmax);
  if (x + 4 <= pixels) {
    block<4, KH, KW, kMode>(nc, rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                            out_step, mask, perm, vmin, vmax);
    x += 4;
  }
  if (x + 2 <= pixels) {
    block<2, KH, KW, kMode>(nc, rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                            out_step, mask, perm, vmin, vmax);
    x += 2;
  }
  if (x < pixels)
    block<1, KH, KW, kMode>(nc, rows, off + x * step, step, dil, kh, kw, wt, o + x * out_step,
                            out_step, mask, perm, vmin, vmax);
}

// The whole row: strips of 8 output channels; multiplier 1 or (kMult) any.
template <int KH, int KW, bool kMult>
inline void row(size_t channels, size_t pixels, const float* const* rows, size_t in_step,
                size_t in_dil, size_t kh, size_t kw, const float* w, float* out, size_t out_step,
                const DwParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);
  const size_t taps = (KH ? KH : kh) * (KW ? KW : kw);
  for (size_t c = 0; c < channels; c += 8) {
    const float* wt = tile_weights(w, c, taps);
    const size_t nc = channels - c < 8 ? channels - c : 8;
    if constexpr (kMult) {
      const int32_t* e = params->mult + (c / 8) * kDwMultEntry;
      const __m256i perm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e));
      const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + 8));
      if (e[16 + 1])  // all 4 lanes of the 128-bit load are input channels
        strip<KH, KW, kMultLoad>(nc, pixels, rows, static_cast<size_t>(e[16]), in_step, in_dil,
                                 kh, kw, wt, out + c, out_step, mask, perm, vmin, vmax);
      else
        strip<KH, KW, kMultTail>(nc, pixels, rows, static_cast<size_t>(e[16]), in_step, in_dil,
                                 kh, kw, wt, out + c, out_step, mask, perm, vmin, vmax);
    } else if (nc == 8) {
      strip<KH, KW, kFull>(8, pixels, rows, c, in_step, in_dil, kh, kw, wt, out + c, out_step,
                           _mm256_setzero_si256(), _mm256_setzero_si256(), vmin, vmax);
    } else {
      strip<KH, KW, kTailLoad>(nc, pixels, rows, c, in_step, in_dil, kh, kw, wt, out + c,
                               out_step, lane_mask(nc), _mm256_setzero_si256(), vmin, vmax);
    }
  }
}

}  // namespace ce::native::dw
