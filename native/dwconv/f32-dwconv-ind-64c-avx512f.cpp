// Depthwise through an indirection buffer: any kernel, stride, dilation, padding and
// multiplier; used for the border pixels whose taps leave the image. Two output pixels at a
// time (then one) x 64 channels (then 16, then a masked tail), so 8 independent zmm
// accumulators hide the FMA latency even though each tap has its own input pointer.
#include "native/dwconv/dwconv-avx512f.h"

namespace ce::native {

namespace {

// NP pixels x NV vectors of 16 channels starting at channel c (multiple of 16), multiplier 1,
// or (kMode == kTail) one vector of nc < 16 channels: V = __m256 when nc <= 8.
template <class V, size_t NP, size_t NV, int kMode>
inline void tile(const float* const* taps, size_t ks, size_t c, size_t nc, const float* w,
                 float* out, size_t out_step, const DwParams* params) {
  const __mmask16 m = avx512::tail_mask(nc);
  const dw512::Strip s{m, m, _mm512_setzero_si512()};
  const V vmin = dw512::set1<V>(params->min), vmax = dw512::set1<V>(params->max);
  const float* wv[NV];
  V acc[NP][NV];
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; ++v) {
    wv[v] = dw512::tile_weights(w, c + 16 * v, ks);
    const V b = dw512::load<V>(wv[v]);
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) acc[p][v] = b;
  }
  for (size_t t = 0; t < ks; ++t) {
    V wt[NV];
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) wt[v] = dw512::load<V>(wv[v] + kDwTile * (1 + t));
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) {
      const float* src = taps[p * ks + t] + c;
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v)
        acc[p][v] = dw512::fma(dw512::load_in<V, kMode>(src + 16 * v, s), wt[v], acc[p][v]);
    }
  }
#pragma GCC unroll 2
  for (size_t p = 0; p < NP; ++p)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v)
      dw512::store<kMode>(out + p * out_step + c + 16 * v, dw512::clamp(acc[p][v], vmin, vmax),
                          s);
}

template <size_t NP>
inline void pixels_m1(size_t channels, const float* const* taps, size_t ks, const float* w,
                      float* out, size_t out_step, const DwParams* params) {
  using dw512::kFull, dw512::kTail;
  size_t c = 0;
  for (; c + 64 <= channels; c += 64)
    tile<__m512, NP, 4, kFull>(taps, ks, c, 16, w, out, out_step, params);
  for (; c + 16 <= channels; c += 16)
    tile<__m512, NP, 1, kFull>(taps, ks, c, 16, w, out, out_step, params);
  if (c + 8 < channels)
    tile<__m512, NP, 1, kTail>(taps, ks, c, channels - c, w, out, out_step, params);
  else if (c < channels)
    tile<__m256, NP, 1, kTail>(taps, ks, c, channels - c, w, out, out_step, params);
}

// Multiplier > 1: one 16-channel strip for NP pixels (inputs permuted to the output lanes).
template <size_t NP>
inline void pixels_mult(size_t channels, const float* const* taps, size_t ks, const float* w,
                        float* out, size_t out_step, const DwParams* params) {
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  for (size_t c = 0; c < channels; c += 16) {
    const size_t nc = channels - c < 16 ? channels - c : 16;
    const int32_t* e = params->mult + (c / 8) * kDwMultEntry;
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
            dw512::load_in<__m512, dw512::kMult>(taps[p * ks + t] + base, s), wv, acc[p]);
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
  size_t x = 0;
  if (params->mult == nullptr) {
    for (; x + 2 <= pixels; x += 2)
      pixels_m1<2>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, params);
    if (x < pixels)
      pixels_m1<1>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, params);
  } else {
    for (; x + 2 <= pixels; x += 2)
      pixels_mult<2>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, params);
    if (x < pixels)
      pixels_mult<1>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, params);
  }
}

}  // namespace ce::native
