// Depthwise 3x3, stride == dilation, any multiplier: sliding window over input columns on
// strips of 4 channels (one q register).
//
// The 9 weights stay in registers; each input column (3 rows) is loaded once and feeds the
// three outputs that use it (kx = 2 of x, kx = 1 of x + 1, kx = 0 of x + 2): 3 loads per 9 FMAs.
// The loop is unrolled by three outputs so that the three running sums rotate roles instead of
// moving between registers, and a new sum starts from a reloaded bias (a load, not a vector
// move). 17 q registers. 8-channel strips (two q) would need 34: GCC then spilled a weight and
// added two vector moves per output, for the same loads per FMA; a strip walk touches one cache
// line per pixel and row (64 pixels x 3 rows = 12 KB), so the next strips reuse them from L1.
#include "native/dwconv/dwconv-neon.h"

namespace ce::native {

namespace {

struct Strip {
  template <int NQ, int kMode>
  static void run(const dwn::Lanes& l, size_t pixels, const float* a, const float* b,
                  const float* d, size_t step, const float* wt, float* o, size_t out_step,
                  float32x4_t vmin, float32x4_t vmax) {
    using V = dwn::V<NQ>;
    V w[9];
    dwn::load_taps(wt, w);
    auto ld = [&](const float* p) { return dwn::load_in<NQ, kMode>(p, l); };
    // Column 0: kx = 0 of output 0; column 1: kx = 1 of output 0, kx = 0 of output 1.
    V acc0 = dwn::fma(dwn::fma(dwn::fma(dwn::load<NQ>(wt), ld(a), w[0]), ld(b), w[3]), ld(d), w[6]);
    a += step;
    b += step;
    d += step;
    V v0 = ld(a), v1 = ld(b), v2 = ld(d);
    acc0 = dwn::fma(dwn::fma(dwn::fma(acc0, v0, w[1]), v1, w[4]), v2, w[7]);
    V acc1 = dwn::fma(dwn::fma(dwn::fma(dwn::load<NQ>(wt), v0, w[0]), v1, w[3]), v2, w[6]);
    V acc2 = acc1;
    // Column x + 2 completes output x (s0), continues x + 1 (s1) and starts x + 2 (s2). For the
    // last two outputs the started sums are unused; the column itself is always in bounds.
    auto column = [&](V& s0, V& s1, V& s2) __attribute__((always_inline)) {
      a += step;
      b += step;
      d += step;
      const V u0 = ld(a), u1 = ld(b), u2 = ld(d);
      s0 = dwn::fma(s0, u0, w[2]);
      s2 = dwn::fma(dwn::load<NQ>(wt), u0, w[0]);
      s1 = dwn::fma(s1, u0, w[1]);
      s0 = dwn::fma(s0, u1, w[5]);
      s2 = dwn::fma(s2, u1, w[3]);
      s1 = dwn::fma(s1, u1, w[4]);
      s0 = dwn::fma(s0, u2, w[8]);
      s2 = dwn::fma(s2, u2, w[6]);
      s1 = dwn::fma(s1, u2, w[7]);
      dwn::store_out<NQ, kMode>(o, dwn::clamp(s0, vmin, vmax), l);
      o += out_step;
    };
    size_t x = 0;
    for (; x + 3 <= pixels; x += 3) {
      column(acc0, acc1, acc2);
      column(acc1, acc2, acc0);
      column(acc2, acc0, acc1);
    }
    if (x < pixels) {
      column(acc0, acc1, acc2);
      if (x + 1 < pixels) column(acc1, acc2, acc0);
    }
  }
};

}  // namespace

void f32_dwconv_3x3s1_4c__neon(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params) {
  dwn::row3x3<Strip>(channels, pixels, rows, in_dil, w, out, out_step, params);
}

}  // namespace ce::native
