// Depthwise through an indirection buffer: any kernel, stride, dilation, padding and
// multiplier; used for the border pixels whose taps leave the image. Two output pixels at a
// time (then one) x 16 channels (four q registers; the remainder of fewer than 16 channels in
// one strip, a partial last q), so 8 independent sums hide the FMA latency even though every
// tap has its own input pointer. Per tap and q: one weight load shared by the pixels, one
// input load per pixel. With a multiplier, strips of one 8-channel table block.
#include "native/dwconv/dwconv-neon.h"

namespace ce::native {

namespace {

template <size_t NP, int NQ, int kMode>
inline void tile(const float* const* taps, size_t ks, size_t off, const float* wt, float* out,
                 size_t out_step, const dwn::Lanes& l, float32x4_t vmin, float32x4_t vmax) {
  using V = dwn::V<NQ>;
  V acc[NP];
  const V b = dwn::load<NQ>(wt);
#pragma GCC unroll 2
  for (size_t p = 0; p < NP; ++p) acc[p] = b;
  const float* wp = wt + kDwTile;
  for (size_t t = 0; t < ks; ++t, wp += kDwTile) {
    const V wv = dwn::load<NQ>(wp);
#pragma GCC unroll 2
    for (size_t p = 0; p < NP; ++p)
      acc[p] = dwn::fma(acc[p], dwn::load_in<NQ, kMode>(taps[p * ks + t] + off, l), wv);
  }
#pragma GCC unroll 2
  for (size_t p = 0; p < NP; ++p)
    dwn::store_out<NQ, kMode>(out + p * out_step, dwn::clamp(acc[p], vmin, vmax), l);
}

template <size_t NP>
inline void run(size_t channels, const float* const* taps, size_t ks, const float* w, float* out,
                size_t out_step, const DwParams* params, float32x4_t vmin, float32x4_t vmax) {
  dwn::for_each_strip<4>(channels, params, [&](auto cfg, size_t c, size_t off,
                                               const dwn::Lanes& l) {
    using C = decltype(cfg);
    tile<NP, C::NQ, C::kMode>(taps, ks, off, dwn::tile_weights(w, c, ks), out + c, out_step, l,
                              vmin, vmax);
  });
}

}  // namespace

void f32_dwconv_ind_16c__neon(size_t channels, size_t pixels, const float* const* taps, size_t ks,
                              const float* w, float* out, size_t out_step,
                              const DwParams* params) {
  const float32x4_t vmin = vdupq_n_f32(params->min);
  const float32x4_t vmax = vdupq_n_f32(params->max);
  size_t x = 0;
  for (; x + 2 <= pixels; x += 2)
    run<2>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, params, vmin, vmax);
  if (x < pixels)
    run<1>(channels, taps + x * ks, ks, w, out + x * out_step, out_step, params, vmin, vmax);
}

}  // namespace ce::native
