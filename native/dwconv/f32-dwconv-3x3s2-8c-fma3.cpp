// Depthwise 3x3, stride == 2 * dilation (stride 2 in units of the tap spacing), any multiplier.
//
// Sliding window: for each strip of 8 output channels the 9 weights stay in registers. Output x
// reads columns 2x, 2x+1, 2x+2; column 2x+2 is also kx = 0 of output x + 1, so each output
// costs two new columns: 6 loads per 9 FMAs. Two partial sums per output halve the FMA
// dependency chain.
#include "native/dwconv/dwconv-fma3.h"

namespace ce::native {

namespace {

template <int kMode>
inline void strip(size_t nc, size_t pixels, const float* a, const float* b, const float* d,
                  size_t dil, const float* wt, float* o, size_t out_step, __m256i m,
                  __m256i perm, __m256 vmin, __m256 vmax) {
  const __m256 vb = _mm256_loadu_ps(wt);
  const __m256 w0 = _mm256_loadu_ps(wt + 16), w1 = _mm256_loadu_ps(wt + 32),
               w2 = _mm256_loadu_ps(wt + 48), w3 = _mm256_loadu_ps(wt + 64),
               w4 = _mm256_loadu_ps(wt + 80), w5 = _mm256_loadu_ps(wt + 96),
               w6 = _mm256_loadu_ps(wt + 112), w7 = _mm256_loadu_ps(wt + 128),
               w8 = _mm256_loadu_ps(wt + 144);
  auto ld = [&](const float* p) { return dw::load_in<kMode>(p, m, perm); };
  // Column 0: kx = 0 of output 0.
  __m256 acc = _mm256_fmadd_ps(ld(a), w0, vb);
  acc = _mm256_fmadd_ps(ld(b), w3, acc);
  acc = _mm256_fmadd_ps(ld(d), w6, acc);
  for (size_t x = 0; x < pixels; ++x) {
    // Column 2x + 1 (kx = 1) into a second partial sum.
    a += dil;
    b += dil;
    d += dil;
    __m256 part = _mm256_mul_ps(ld(a), w1);
    part = _mm256_fmadd_ps(ld(b), w4, part);
    part = _mm256_fmadd_ps(ld(d), w7, part);
    // Column 2x + 2: kx = 2 of output x, kx = 0 of output x + 1.
    a += dil;
    b += dil;
    d += dil;
    const __m256 v0 = ld(a), v1 = ld(b), v2 = ld(d);
    acc = _mm256_fmadd_ps(v0, w2, acc);
    __m256 next = _mm256_fmadd_ps(v0, w0, vb);
    acc = _mm256_fmadd_ps(v1, w5, acc);
    next = _mm256_fmadd_ps(v1, w3, next);
    acc = _mm256_fmadd_ps(v2, w8, acc);
    next = _mm256_fmadd_ps(v2, w6, next);
    avx2::store_n(o, dw::clamp(_mm256_add_ps(acc, part), vmin, vmax), nc);
    o += out_step;
    acc = next;
  }
}

}  // namespace

void f32_dwconv_3x3s2_8c__fma3(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);
  dw::for_each_strip(channels, params, [&](auto mode, size_t c, size_t nc, size_t off,
                                           __m256i mask, __m256i perm) {
    strip<decltype(mode)::value>(nc, pixels, rows[0] + off, rows[1] + off, rows[2] + off, in_dil,
                                 dw::tile_weights(w, c, 9), out + c, out_step, mask, perm, vmin,
                                 vmax);
  });
}

}  // namespace ce::native
