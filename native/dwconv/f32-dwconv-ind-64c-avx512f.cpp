// Depthwise through an indirection buffer: any kernel, stride, dilation, padding and
// multiplier; used for the border pixels whose taps leave the image. Two output pixels at a
// time (then one) x 64 channels (then 16, then a masked tail), so 8 independent zmm
// accumulators hide the FMA latency even though each tap has its own input pointer.
#include "native/dwconv/dwconv-avx512f.h"

namespace ce::native {

namespace {

// NP pixels x NV vectors of 16 channels starting at channel c (multiple of 16), multiplier 1.
// kTail: one vector with nc < 16 valid channels.
template <size_t NP, size_t NV, bool kTail>
inline void tile(const float* const* taps, size_t ks, size_t c, size_t nc, const float* w,
                 float* out, size_t out_step, __m512 vmin, __m512 vmax) {
  const __mmask16 m = avx512::tail_mask(nc);
  const float* wv[NV];
  __m512 acc[NP][NV];
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; ++v) {
    wv[v] = dw512::tile_weights(w, c + 16 * v, ks);
    const __m512 b = _mm512_loadu_ps(wv[v]);
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) acc[p][v] = b;
  }
  for (size_t t = 0; t < ks; ++t) {
    __m512 wt[NV];
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) wt[v] = _mm512_loadu_ps(wv[v] + kDwTile * (1 + t));
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) {
      const float* src = taps[p * ks + t] + c;
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v) {
        const __m512 x = kTail ? _mm512_maskz_loadu_ps(m, src + 16 * v) : _mm512_loadu_ps(src + 16 * v);
        acc[p][v] = _mm512_fmadd_ps(x, wt[v], acc[p][v]);
      }
    }
  }
#pragma GCC unroll 2
  for (size_t p = 0; p < NP; ++p)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) {
      const __m512 r = dw512::clamp(acc[p][v], vmin, vmax);
      float* o = out + p * out_step + c + 16 * v;
      if (kTail) _mm512_mask_storeu_ps(o, m, r);
      else _mm512_storeu_ps(o, r);
    }
}

template <size_t NP>
inline void pixels_m1(size_t channels, const float* const* taps, size_t ks, const float* w,
                      float* out, size_t out_step, __m512 vmin, __m512 vmax) {
  size_t c = 0;
  for (; c + 64 <= channels; c += 64)
    tile<NP, 4, false>(taps, ks, c, 16, w, out, out_step, vmin, vmax);
  for (; c + 16 <= channels; c += 16)
    tile<NP, 1, false>(taps, ks, c, 16, w, out, out_step, vmin, vmax);
  if (c < channels)
    tile<NP, 1, true>(taps, ks, c, channels - c, w, out, out_step, vmin, vmax);
}

// Multiplier > 1: one 16-channel strip for NP pixels (inputs permuted to the output lanes).
template <size_t NP>
inline void pixels_mult(size_t channels, const float* const* taps, size_t ks, const float* w,
                        float* out, size_t out_step, const int32_t* table, __m512 vmin,
                        __m512 vmax) {
  for (size_t c = 0; c < channels; c += 16) {
    const size_t nc = channels - c < 16 ? channels - c : 16;
    const int32_t* e = table + (c / 8) * kDwMultEntry;
    const dw512::Strip s = dw512::mult_strip(e, nc);
    const size_t base = static_cast<size_t>(e[16]);
    const float* wt = dw512::tile_weights(w, c, ks);
    __m512 acc[NP];
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) acc[p] = _mm512_loadu_ps(wt);
    for (size_t t = 0; t < ks; ++t) {
      const __m512 wv = _mm512_loadu_ps(wt + kDwTile * (1 + t));
#pragma GCC unroll 2
      for (size_t p = 0; p < NP; ++p)
        acc[p] = _mm512_fmadd_ps(
            dw512::load_in<dw512::kMult>(taps[p * ks + t] + base, s.load, s.perm), wv, acc[p]);
    }
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p)
      _mm512_mask_storeu_ps(out + p * out_step + c, s.store, dw512::clamp(acc[p], vmin, vmax));
  }
}

}  // namespace

void f32_dwconv_ind_64c__avx512f(size_t channels, size_t pixels, const float* const* taps,
                                 size_t ks, const float* w, float* out, size_t out_step,
                                 const DwParams* params) {
  const __m512 vmin = _mm512_set1_ps(params->min);
  const __m512 vmax = _mm512_set1_ps(params->max);
  size_t x = 0;
  if (params->mult == nullptr) {
    for (; x + 2 <= pixels; x += 2)
      pixels_m1<2>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, vmin, vmax);
    if (x < pixels)
      pixels_m1<1>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, vmin, vmax);
  } else {
    for (; x + 2 <= pixels; x += 2)
      pixels_mult<2>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, params->mult,
                     vmin, vmax);
    if (x < pixels)
      pixels_mult<1>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, params->mult,
                     vmin, vmax);
  }
}

}  // namespace ce::native
