// Depthwise 3x3, stride == dilation (stride 1 in units of the tap spacing), any multiplier.
//
// The sliding window of f32-dwconv-3x3s1-8c-fma3 on 16-channel strips (one zmm, one packed
// weight block): the 9 weights stay in registers and each input column (3 rows) is loaded once
// and feeds the three output pixels that use it, 3 loads per 9 FMAs.
#include "native/dwconv/dwconv-avx512f.h"

namespace ce::native {

namespace {

struct Slide {
  template <class V, int kMode>
  static void strip(size_t pixels, const float* a, const float* b, const float* d, size_t step,
                    const float* wt, float* o, size_t out_step, const dw512::Strip& s, V vmin,
                    V vmax) {
    const V vb = dw512::load<V>(wt);
    const V w0 = dw512::load<V>(wt + 16), w1 = dw512::load<V>(wt + 32),
            w2 = dw512::load<V>(wt + 48), w3 = dw512::load<V>(wt + 64),
            w4 = dw512::load<V>(wt + 80), w5 = dw512::load<V>(wt + 96),
            w6 = dw512::load<V>(wt + 112), w7 = dw512::load<V>(wt + 128),
            w8 = dw512::load<V>(wt + 144);
    auto ld = [&](const float* p) { return dw512::load_in<V, kMode>(p, s); };
    // Column 0: kx = 0 of output 0.
    V acc0 = dw512::fma(ld(a), w0, vb);
    acc0 = dw512::fma(ld(b), w3, acc0);
    acc0 = dw512::fma(ld(d), w6, acc0);
    // Column 1: kx = 1 of output 0, kx = 0 of output 1.
    a += step;
    b += step;
    d += step;
    const V u0 = ld(a), u1 = ld(b), u2 = ld(d);
    acc0 = dw512::fma(u0, w1, acc0);
    acc0 = dw512::fma(u1, w4, acc0);
    acc0 = dw512::fma(u2, w7, acc0);
    V acc1 = dw512::fma(u0, w0, vb);
    acc1 = dw512::fma(u1, w3, acc1);
    acc1 = dw512::fma(u2, w6, acc1);
    for (size_t x = 0; x < pixels; ++x) {
      // Column x + 2 completes output x, continues x + 1 and starts x + 2. (For the last two
      // outputs the started sums are unused; the column itself is always in bounds.)
      a += step;
      b += step;
      d += step;
      const V v0 = ld(a), v1 = ld(b), v2 = ld(d);
      acc0 = dw512::fma(v0, w2, acc0);
      V acc2 = dw512::fma(v0, w0, vb);
      acc1 = dw512::fma(v0, w1, acc1);
      acc0 = dw512::fma(v1, w5, acc0);
      acc2 = dw512::fma(v1, w3, acc2);
      acc1 = dw512::fma(v1, w4, acc1);
      acc0 = dw512::fma(v2, w8, acc0);
      acc2 = dw512::fma(v2, w6, acc2);
      acc1 = dw512::fma(v2, w7, acc1);
      dw512::store<kMode>(o, dw512::clamp(acc0, vmin, vmax), s);
      o += out_step;
      acc0 = acc1;
      acc1 = acc2;
    }
  }
};

}  // namespace

void f32_dwconv_3x3s1_16c__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params) {
  dw512::route<dw512::rows3x3<Slide>, f32_dwconv_3x3s1_8c__fma3>(
      channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

}  // namespace ce::native
