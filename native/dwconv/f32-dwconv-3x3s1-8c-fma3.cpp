// Depthwise 3x3, stride == dilation (stride 1 in units of the tap spacing), any multiplier.
//
// Sliding window: for each strip of 8 output channels the 9 weights stay in registers and the
// row is walked one input column (3 rows) at a time. Each column is loaded once and feeds the
// three output pixels that use it (kx = 2 for x, kx = 1 for x + 1, kx = 0 for x + 2): 3 loads
// per 9 FMAs, against 9 loads for a per-pixel kernel. With a channel multiplier the loads are
// lane shuffles (LoadMode), also 3 per 9 FMAs.
#include "native/dwconv/dwconv-fma3.h"

namespace ce::native {

namespace {

template <int kMode>
inline void strip(size_t nc, size_t pixels, const float* a, const float* b, const float* d,
                  size_t step, const float* wt, float* o, size_t out_step, __m256i m,
                  __m256i perm, __m256 vmin, __m256 vmax) {
  const __m256 vb = _mm256_loadu_ps(wt);
  const __m256 w0 = _mm256_loadu_ps(wt + 16), w1 = _mm256_loadu_ps(wt + 32),
               w2 = _mm256_loadu_ps(wt + 48), w3 = _mm256_loadu_ps(wt + 64),
               w4 = _mm256_loadu_ps(wt + 80), w5 = _mm256_loadu_ps(wt + 96),
               w6 = _mm256_loadu_ps(wt + 112), w7 = _mm256_loadu_ps(wt + 128),
               w8 = _mm256_loadu_ps(wt + 144);
  auto ld = [&](const float* p) { return dw::load_in<kMode>(p, m, perm); };
  // Column 0: kx = 0 of output 0.
  __m256 acc0 = _mm256_fmadd_ps(ld(a), w0, vb);
  acc0 = _mm256_fmadd_ps(ld(b), w3, acc0);
  acc0 = _mm256_fmadd_ps(ld(d), w6, acc0);
  // Column 1: kx = 1 of output 0, kx = 0 of output 1.
  a += step;
  b += step;
  d += step;
  __m256 v0 = ld(a), v1 = ld(b), v2 = ld(d);
  acc0 = _mm256_fmadd_ps(v0, w1, acc0);
  acc0 = _mm256_fmadd_ps(v1, w4, acc0);
  acc0 = _mm256_fmadd_ps(v2, w7, acc0);
  __m256 acc1 = _mm256_fmadd_ps(v0, w0, vb);
  acc1 = _mm256_fmadd_ps(v1, w3, acc1);
  acc1 = _mm256_fmadd_ps(v2, w6, acc1);
  for (size_t x = 0; x < pixels; ++x) {
    // Column x + 2 completes output x, continues x + 1 and starts x + 2. (For the last two
    // outputs the started sums are unused; the column itself is always in bounds.)
    a += step;
    b += step;
    d += step;
    v0 = ld(a);
    v1 = ld(b);
    v2 = ld(d);
    acc0 = _mm256_fmadd_ps(v0, w2, acc0);
    __m256 acc2 = _mm256_fmadd_ps(v0, w0, vb);
    acc1 = _mm256_fmadd_ps(v0, w1, acc1);
    acc0 = _mm256_fmadd_ps(v1, w5, acc0);
    acc2 = _mm256_fmadd_ps(v1, w3, acc2);
    acc1 = _mm256_fmadd_ps(v1, w4, acc1);
    acc0 = _mm256_fmadd_ps(v2, w8, acc0);
    acc2 = _mm256_fmadd_ps(v2, w6, acc2);
    acc1 = _mm256_fmadd_ps(v2, w7, acc1);
    avx2::store_n(o, dw::clamp(acc0, vmin, vmax), nc);
    o += out_step;
    acc0 = acc1;
    acc1 = acc2;
  }
}

}  // namespace

void f32_dwconv_3x3s1_8c__fma3(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);
  // Tap kx of output x is column x + kx: the column spacing is in_dil (== in_step).
  dw::for_each_strip(channels, params, [&](auto mode, size_t c, size_t nc, size_t off,
                                           __m256i mask, __m256i perm) {
    strip<decltype(mode)::value>(nc, pixels, rows[0] + off, rows[1] + off, rows[2] + off, in_dil,
                                 dw::tile_weights(w, c, 9), out + c, out_step, mask, perm, vmin,
                                 vmax);
  });
}

}  // namespace ce::native
