// Depthwise 3x3, stride == dilation (stride 1 in units of the tap spacing), any multiplier.
//
// The sliding window of f32-dwconv-3x3s1-8c-fma3 on 16-channel strips (one zmm, one packed
// weight block): the 9 weights stay in registers and each input column (3 rows) is loaded once
// and feeds the three output pixels that use it, 3 loads per 9 FMAs.
#include "native/dwconv/dwconv-avx512f.h"

namespace ce::native {

namespace {

template <int kMode>
inline void strip(size_t pixels, const float* a, const float* b, const float* d, size_t step,
                  const float* wt, float* o, size_t out_step, dw512::Strip s, __m512 vmin,
                  __m512 vmax) {
  const __m512 vb = _mm512_loadu_ps(wt);
  const __m512 w0 = _mm512_loadu_ps(wt + 16), w1 = _mm512_loadu_ps(wt + 32),
               w2 = _mm512_loadu_ps(wt + 48), w3 = _mm512_loadu_ps(wt + 64),
               w4 = _mm512_loadu_ps(wt + 80), w5 = _mm512_loadu_ps(wt + 96),
               w6 = _mm512_loadu_ps(wt + 112), w7 = _mm512_loadu_ps(wt + 128),
               w8 = _mm512_loadu_ps(wt + 144);
  auto ld = [&](const float* p) { return dw512::load_in<kMode>(p, s.load, s.perm); };
  // Column 0: kx = 0 of output 0.
  __m512 acc0 = _mm512_fmadd_ps(ld(a), w0, vb);
  acc0 = _mm512_fmadd_ps(ld(b), w3, acc0);
  acc0 = _mm512_fmadd_ps(ld(d), w6, acc0);
  // Column 1: kx = 1 of output 0, kx = 0 of output 1.
  a += step;
  b += step;
  d += step;
  __m512 v0 = ld(a), v1 = ld(b), v2 = ld(d);
  acc0 = _mm512_fmadd_ps(v0, w1, acc0);
  acc0 = _mm512_fmadd_ps(v1, w4, acc0);
  acc0 = _mm512_fmadd_ps(v2, w7, acc0);
  __m512 acc1 = _mm512_fmadd_ps(v0, w0, vb);
  acc1 = _mm512_fmadd_ps(v1, w3, acc1);
  acc1 = _mm512_fmadd_ps(v2, w6, acc1);
  for (size_t x = 0; x < pixels; ++x) {
    // Column x + 2 completes output x, continues x + 1 and starts x + 2.
    a += step;
    b += step;
    d += step;
    v0 = ld(a);
    v1 = ld(b);
    v2 = ld(d);
    acc0 = _mm512_fmadd_ps(v0, w2, acc0);
    __m512 acc2 = _mm512_fmadd_ps(v0, w0, vb);
    acc1 = _mm512_fmadd_ps(v0, w1, acc1);
    acc0 = _mm512_fmadd_ps(v1, w5, acc0);
    acc2 = _mm512_fmadd_ps(v1, w3, acc2);
    acc1 = _mm512_fmadd_ps(v1, w4, acc1);
    acc0 = _mm512_fmadd_ps(v2, w8, acc0);
    acc2 = _mm512_fmadd_ps(v2, w6, acc2);
    acc1 = _mm512_fmadd_ps(v2, w7, acc1);
    dw512::store<kMode>(o, dw512::clamp(acc0, vmin, vmax), s.store);
    o += out_step;
    acc0 = acc1;
    acc1 = acc2;
  }
}

}  // namespace

void f32_dwconv_3x3s1_16c__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params) {
  const __m512 vmin = _mm512_set1_ps(params->min);
  const __m512 vmax = _mm512_set1_ps(params->max);
  dw512::for_each_strip(channels, params, [&](auto mode, size_t c, size_t nc, size_t off,
                                              dw512::Strip s) {
    strip<decltype(mode)::value>(pixels, rows[0] + off, rows[1] + off, rows[2] + off, in_dil,
                                 dw512::tile_weights(w, c, 9), out + c, out_step, s, vmin, vmax);
  });
}

}  // namespace ce::native
