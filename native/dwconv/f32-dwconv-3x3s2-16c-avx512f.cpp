// Depthwise 3x3, stride == 2 * dilation (stride 2 in units of the tap spacing), any multiplier.
//
// The sliding window of f32-dwconv-3x3s2-8c-fma3 on 16-channel strips: output x reads columns
// 2x, 2x+1, 2x+2, and column 2x+2 is also kx = 0 of output x + 1 (6 loads per 9 FMAs). Two
// partial sums per output halve the FMA dependency chain.
#include "native/dwconv/dwconv-avx512f.h"

namespace ce::native {

namespace {

template <int kMode>
inline void strip(size_t pixels, const float* a, const float* b, const float* d, size_t dil,
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
  __m512 acc = _mm512_fmadd_ps(ld(a), w0, vb);
  acc = _mm512_fmadd_ps(ld(b), w3, acc);
  acc = _mm512_fmadd_ps(ld(d), w6, acc);
  for (size_t x = 0; x < pixels; ++x) {
    // Column 2x + 1 (kx = 1) into a second partial sum.
    a += dil;
    b += dil;
    d += dil;
    __m512 part = _mm512_mul_ps(ld(a), w1);
    part = _mm512_fmadd_ps(ld(b), w4, part);
    part = _mm512_fmadd_ps(ld(d), w7, part);
    // Column 2x + 2: kx = 2 of output x, kx = 0 of output x + 1.
    a += dil;
    b += dil;
    d += dil;
    const __m512 v0 = ld(a), v1 = ld(b), v2 = ld(d);
    acc = _mm512_fmadd_ps(v0, w2, acc);
    __m512 next = _mm512_fmadd_ps(v0, w0, vb);
    acc = _mm512_fmadd_ps(v1, w5, acc);
    next = _mm512_fmadd_ps(v1, w3, next);
    acc = _mm512_fmadd_ps(v2, w8, acc);
    next = _mm512_fmadd_ps(v2, w6, next);
    dw512::store<kMode>(o, dw512::clamp(_mm512_add_ps(acc, part), vmin, vmax), s.store);
    o += out_step;
    acc = next;
  }
}

}  // namespace

void f32_dwconv_3x3s2_16c__avx512f(size_t channels, size_t pixels, const float* const* rows,
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
