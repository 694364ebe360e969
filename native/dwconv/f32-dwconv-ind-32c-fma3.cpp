// Depthwise through an indirection buffer: any kernel, stride, dilation, padding and
// multiplier; used for the border pixels whose taps leave the image. Two output pixels at a
// time (then one) x 32 channels (then 8, then a masked tail), so 8 independent accumulators
// hide the FMA latency even though each tap has its own input pointer.
#include "native/dwconv/dwconv-fma3.h"

namespace ce::native {

namespace {

// NP pixels x NV vectors of 8 channels starting at channel c (multiple of 8), multiplier 1.
// kTail: one vector with nc < 8 valid channels.
template <size_t NP, size_t NV, bool kTail>
inline void tile(const float* const* taps, size_t ks, size_t c, size_t nc, const float* w,
                 float* out, size_t out_step, __m256 vmin, __m256 vmax) {
  const __m256i m = dw::lane_mask(nc);
  const float* wv[NV];
  __m256 acc[NP][NV];
#pragma GCC unroll 4
  for (size_t v = 0; v < NV; ++v) {
    wv[v] = dw::tile_weights(w, c + 8 * v, ks);
    const __m256 b = _mm256_loadu_ps(wv[v]);
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) acc[p][v] = b;
  }
  for (size_t t = 0; t < ks; ++t) {
    __m256 wt[NV];
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v) wt[v] = _mm256_loadu_ps(wv[v] + kDwTile * (1 + t));
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) {
      const float* src = taps[p * ks + t] + c;
#pragma GCC unroll 4
      for (size_t v = 0; v < NV; ++v)
        acc[p][v] = _mm256_fmadd_ps(dw::load8<kTail>(src + 8 * v, m), wt[v], acc[p][v]);
    }
  }
#pragma GCC unroll 2
  for (size_t p = 0; p < NP; ++p)
#pragma GCC unroll 4
    for (size_t v = 0; v < NV; ++v)
      dw::store8<kTail>(out + p * out_step + c + 8 * v, dw::clamp(acc[p][v], vmin, vmax), nc);
}

template <size_t NP>
inline void pixels_m1(size_t channels, const float* const* taps, size_t ks, const float* w,
                      float* out, size_t out_step, __m256 vmin, __m256 vmax) {
  size_t c = 0;
  for (; c + 32 <= channels; c += 32)
    tile<NP, 4, false>(taps, ks, c, 8, w, out, out_step, vmin, vmax);
  for (; c + 8 <= channels; c += 8)
    tile<NP, 1, false>(taps, ks, c, 8, w, out, out_step, vmin, vmax);
  if (c < channels)
    tile<NP, 1, true>(taps, ks, c, channels - c, w, out, out_step, vmin, vmax);
}

// Multiplier > 1: one 8-channel block for NP pixels (inputs permuted to the output lanes).
template <size_t NP>
inline void pixels_mult(size_t channels, const float* const* taps, size_t ks, const float* w,
                        float* out, size_t out_step, const int32_t* table, __m256 vmin,
                        __m256 vmax) {
  for (size_t c = 0; c < channels; c += 8) {
    const size_t nc = channels - c < 8 ? channels - c : 8;
    const int32_t* e = table + (c / 8) * kDwMultEntry;
    const __m256i perm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e));
    const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + 8));
    const size_t base = static_cast<size_t>(e[16]);
    const float* wt = dw::tile_weights(w, c, ks);
    __m256 acc[NP];
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) acc[p] = _mm256_loadu_ps(wt);
    for (size_t t = 0; t < ks; ++t) {
      const __m256 wv = _mm256_loadu_ps(wt + kDwTile * (1 + t));
#pragma GCC unroll 2
      for (size_t p = 0; p < NP; ++p) {
        const __m256 v =
            _mm256_permutevar8x32_ps(_mm256_maskload_ps(taps[p * ks + t] + base, m), perm);
        acc[p] = _mm256_fmadd_ps(v, wv, acc[p]);
      }
    }
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p) {
      const __m256 r = dw::clamp(acc[p], vmin, vmax);
      if (nc == 8) _mm256_storeu_ps(out + p * out_step + c, r);
      else avx2::store_partial(out + p * out_step + c, r, nc);
    }
  }
}

}  // namespace

void f32_dwconv_ind_32c__fma3(size_t channels, size_t pixels, const float* const* taps, size_t ks,
                              const float* w, float* out, size_t out_step,
                              const DwParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);
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
