// Depthwise 3x3, stride == 2 * dilation, any multiplier: sliding window on strips of 4 channels
// (one q register, as f32-dwconv-3x3s1-4c-neon).
//
// Output x reads columns 2x, 2x+1, 2x+2; column 2x+2 is also kx = 0 of output x + 1, so each
// output costs two new columns: 6 loads per 9 FMAs. Column 2x+1 goes to a second partial sum
// (halving the FMA chain), added before the clamp. Unrolled by two outputs so that the running
// sum and the next one swap roles instead of moving between registers.
#include "native/dwconv/dwconv-neon.h"

namespace ce::native {

namespace {

template <int NQ, int kMode>
inline void strip(const dwn::Lanes& l, size_t pixels, const float* a, const float* b,
                  const float* d, size_t dil, const float* wt, float* o, size_t out_step,
                  float32x4_t vmin, float32x4_t vmax) {
  using V = dwn::V<NQ>;
  const V w0 = dwn::load<NQ>(wt + 16), w1 = dwn::load<NQ>(wt + 32), w2 = dwn::load<NQ>(wt + 48),
          w3 = dwn::load<NQ>(wt + 64), w4 = dwn::load<NQ>(wt + 80), w5 = dwn::load<NQ>(wt + 96),
          w6 = dwn::load<NQ>(wt + 112), w7 = dwn::load<NQ>(wt + 128),
          w8 = dwn::load<NQ>(wt + 144);
  auto ld = [&](const float* p) { return dwn::load_in<NQ, kMode>(p, l); };
  // Column 0: kx = 0 of output 0.
  V acc = dwn::fma(dwn::fma(dwn::fma(dwn::load<NQ>(wt), ld(a), w0), ld(b), w3), ld(d), w6);
  V next = acc;
  // Output x: columns 2x + 1 and 2x + 2 complete `cur` and start `nxt` (output x + 1).
  auto output = [&](V& cur, V& nxt) __attribute__((always_inline)) {
    a += dil;
    b += dil;
    d += dil;
    V part = dwn::mul(ld(a), w1);
    part = dwn::fma(part, ld(b), w4);
    part = dwn::fma(part, ld(d), w7);
    a += dil;
    b += dil;
    d += dil;
    const V u0 = ld(a), u1 = ld(b), u2 = ld(d);
    cur = dwn::fma(cur, u0, w2);
    nxt = dwn::fma(dwn::load<NQ>(wt), u0, w0);
    cur = dwn::fma(cur, u1, w5);
    nxt = dwn::fma(nxt, u1, w3);
    cur = dwn::fma(cur, u2, w8);
    nxt = dwn::fma(nxt, u2, w6);
    dwn::store_out<NQ, kMode>(o, dwn::clamp(dwn::add(cur, part), vmin, vmax), l);
    o += out_step;
  };
  size_t x = 0;
  for (; x + 2 <= pixels; x += 2) {
    output(acc, next);
    output(next, acc);
  }
  if (x < pixels) output(acc, next);
}

}  // namespace

void f32_dwconv_3x3s2_4c__neon(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params) {
  const float32x4_t vmin = vdupq_n_f32(params->min);
  const float32x4_t vmax = vdupq_n_f32(params->max);
  dwn::for_each_strip<1>(channels, params, [&](auto cfg, size_t c, size_t off,
                                               const dwn::Lanes& l) {
    using C = decltype(cfg);
    strip<C::NQ, C::kMode>(l, pixels, rows[0] + off, rows[1] + off, rows[2] + off, in_dil,
                           dwn::tile_weights(w, c, 9), out + c, out_step, vmin, vmax);
  });
}

}  // namespace ce::native
