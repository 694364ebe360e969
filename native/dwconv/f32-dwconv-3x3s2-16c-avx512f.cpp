// Depthwise 3x3, stride == 2 * dilation (stride 2 in units of the tap spacing), any multiplier.
//
// The sliding window of f32-dwconv-3x3s2-8c-fma3 on 16-channel strips: output x reads columns
// 2x, 2x+1, 2x+2, and column 2x+2 is also kx = 0 of output x + 1 (6 loads per 9 FMAs). Two
// partial sums per output halve the FMA dependency chain.
#include "native/dwconv/dwconv-avx512f.h"

namespace ce::native {

namespace {

struct Slide {
  template <class V, int kMode>
  static void strip(size_t pixels, const float* a, const float* b, const float* d, size_t dil,
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
    V acc = dw512::fma(ld(a), w0, vb);
    acc = dw512::fma(ld(b), w3, acc);
    acc = dw512::fma(ld(d), w6, acc);
    for (size_t x = 0; x < pixels; ++x) {
      // Column 2x + 1 (kx = 1) into a second partial sum.
      a += dil;
      b += dil;
      d += dil;
      V part = dw512::mul(ld(a), w1);
      part = dw512::fma(ld(b), w4, part);
      part = dw512::fma(ld(d), w7, part);
      // Column 2x + 2: kx = 2 of output x, kx = 0 of output x + 1.
      a += dil;
      b += dil;
      d += dil;
      const V v0 = ld(a), v1 = ld(b), v2 = ld(d);
      acc = dw512::fma(v0, w2, acc);
      V next = dw512::fma(v0, w0, vb);
      acc = dw512::fma(v1, w5, acc);
      next = dw512::fma(v1, w3, next);
      acc = dw512::fma(v2, w8, acc);
      next = dw512::fma(v2, w6, next);
      dw512::store<kMode>(o, dw512::clamp(dw512::add(acc, part), vmin, vmax), s);
      o += out_step;
      acc = next;
    }
  }
};

}  // namespace

void f32_dwconv_3x3s2_16c__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params) {
  dw512::route<dw512::rows3x3<Slide>, f32_dwconv_3x3s2_8c__fma3>(
      channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

}  // namespace ce::native
