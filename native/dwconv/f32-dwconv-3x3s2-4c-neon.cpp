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

struct Strip {
  template <int NQ, int kMode>
  static void run(const dwn::Lanes& l, size_t pixels, const float* a, const float* b,
                  const float* d, size_t dil, const float* wt, float* o, size_t out_step,
                  float32x4_t vmin, float32x4_t vmax) {
    using V = dwn::V<NQ>;
    V w[9];
    dwn::load_taps(wt, w);
    auto ld = [&](const float* p) { return dwn::load_in<NQ, kMode>(p, l); };
    // Column 0: kx = 0 of output 0.
    V acc = dwn::fma(dwn::fma(dwn::fma(dwn::load<NQ>(wt), ld(a), w[0]), ld(b), w[3]), ld(d), w[6]);
    V next = acc;
    // Output x: columns 2x + 1 and 2x + 2 complete `cur` and start `nxt` (output x + 1).
    auto output = [&](V& cur, V& nxt) __attribute__((always_inline)) {
      a += dil;
      b += dil;
      d += dil;
      V part = dwn::mul(ld(a), w[1]);
      part = dwn::fma(part, ld(b), w[4]);
      part = dwn::fma(part, ld(d), w[7]);
      a += dil;
      b += dil;
      d += dil;
      const V u0 = ld(a), u1 = ld(b), u2 = ld(d);
      cur = dwn::fma(cur, u0, w[2]);
      nxt = dwn::fma(dwn::load<NQ>(wt), u0, w[0]);
      cur = dwn::fma(cur, u1, w[5]);
      nxt = dwn::fma(nxt, u1, w[3]);
      cur = dwn::fma(cur, u2, w[8]);
      nxt = dwn::fma(nxt, u2, w[6]);
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
};

}  // namespace

void f32_dwconv_3x3s2_4c__neon(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params) {
  dwn::row3x3<Strip>(channels, pixels, rows, in_dil, w, out, out_step, params);
}

}  // namespace ce::native
