// Local response normalisation across the channels of each pixel: squares into a zero-padded
// scratch row, the window sum as `size` shifted loads per 8 channels, then the power: beta 0.75
// (AlexNet, GoogLeNet) as 1 / (sqrt(d) * sqrt(sqrt(d))), 0.5 and 1 directly, others by std::pow.
#include "native/elementwise/avx2-common.h"
#include "native/norm/norm.h"

#include <cmath>
#include <cstring>

namespace ce::native {

void f32_lrn__avx2(size_t rows, size_t c, const float* x, size_t x_stride, float* y,
                   size_t y_stride, const LrnParams* p, float* scratch) {
  const size_t lo = p->lo, size = p->lo + p->hi + 1;
  const __m256 va = _mm256_set1_ps(p->alpha_over_size), vb = _mm256_set1_ps(p->bias);
  const __m256 one = _mm256_set1_ps(1.0f);
  const int kind = p->beta == 0.75f ? 0 : p->beta == 0.5f ? 1 : p->beta == 1.0f ? 2 : 3;
  std::memset(scratch, 0, (lo + c + p->hi + 8) * sizeof(float));
  float* sq = scratch + lo;
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    for (size_t i = 0; i < c; ++i) sq[i] = x[i] * x[i];
    for (size_t i = 0; i < c; i += 8) {
      const size_t m = c - i < 8 ? c - i : 8;
      __m256 s = _mm256_loadu_ps(scratch + i);
      for (size_t j = 1; j < size; ++j) s = _mm256_add_ps(s, _mm256_loadu_ps(scratch + i + j));
      const __m256 d = _mm256_fmadd_ps(s, va, vb);
      __m256 f;
      if (kind == 0) {
        const __m256 h = _mm256_sqrt_ps(d);
        f = _mm256_div_ps(one, _mm256_mul_ps(h, _mm256_sqrt_ps(h)));
      } else if (kind == 1) {
        f = _mm256_div_ps(one, _mm256_sqrt_ps(d));
      } else if (kind == 2) {
        f = _mm256_div_ps(one, d);
      } else {
        alignas(32) float t[8];
        _mm256_store_ps(t, d);
        for (int k = 0; k < 8; ++k) t[k] = std::pow(t[k], -p->beta);
        f = _mm256_load_ps(t);
      }
      const __m256i mask = avx2::tail_mask(m & 7);
      const __m256 v = m == 8 ? _mm256_loadu_ps(x + i) : _mm256_maskload_ps(x + i, mask);
      avx2::store_n(y + i, _mm256_mul_ps(v, f), m);
    }
  }
}

}  // namespace ce::native
