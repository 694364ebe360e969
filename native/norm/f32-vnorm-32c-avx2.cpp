// y = (x - m) * s * g + b over rows of n floats, each operand a scalar or a per-column array:
// one instantiation per combination, 32 floats per step, then 8, then a masked tail.
#include "native/elementwise/avx2-common.h"
#include "native/norm/norm.h"

namespace ce::native {

namespace {

template <bool MS, bool GV, bool BV>
void run(size_t rows, size_t n, const float* x, size_t x_stride, float* y, size_t y_stride,
         const NormAffine* p) {
  const __m256 m0 = _mm256_set1_ps(*p->m), s0 = _mm256_set1_ps(*p->s);
  const __m256 g0 = _mm256_set1_ps(p->g ? *p->g : 1.0f), b0 = _mm256_set1_ps(p->b ? *p->b : 0.0f);
  const size_t tail = n & 7;
  const __m256i mask = avx2::tail_mask(tail);
  auto f = [&](__m256 v, size_t i, bool t) {
    auto ld = [&](const float* q) { return t ? _mm256_maskload_ps(q + i, mask) : _mm256_loadu_ps(q + i); };
    const __m256 d = _mm256_sub_ps(v, MS ? ld(p->m) : m0);
    const __m256 u = _mm256_mul_ps(d, MS ? ld(p->s) : s0);
    return _mm256_fmadd_ps(u, GV ? ld(p->g) : g0, BV ? ld(p->b) : b0);
  };
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m256 a = f(_mm256_loadu_ps(x + i), i, false);
      const __m256 b = f(_mm256_loadu_ps(x + i + 8), i + 8, false);
      const __m256 c = f(_mm256_loadu_ps(x + i + 16), i + 16, false);
      const __m256 d = f(_mm256_loadu_ps(x + i + 24), i + 24, false);
      _mm256_storeu_ps(y + i, a);
      _mm256_storeu_ps(y + i + 8, b);
      _mm256_storeu_ps(y + i + 16, c);
      _mm256_storeu_ps(y + i + 24, d);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i), i, false));
    if (tail) avx2::store_partial(y + i, f(_mm256_maskload_ps(x + i, mask), i, true), tail);
  }
}

}  // namespace

void f32_vnorm_32c__avx2(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                        size_t y_stride, const NormAffine* p) {
  const bool gv = p->g && p->g_vec, bv = p->b && p->b_vec;
  const int k = (p->ms_vec ? 4 : 0) | (gv ? 2 : 0) | (bv ? 1 : 0);
  switch (k) {
    case 0: return run<false, false, false>(rows, n, x, x_stride, y, y_stride, p);
    case 1: return run<false, false, true>(rows, n, x, x_stride, y, y_stride, p);
    case 2: return run<false, true, false>(rows, n, x, x_stride, y, y_stride, p);
    case 3: return run<false, true, true>(rows, n, x, x_stride, y, y_stride, p);
    case 4: return run<true, false, false>(rows, n, x, x_stride, y, y_stride, p);
    case 5: return run<true, false, true>(rows, n, x, x_stride, y, y_stride, p);
    case 6: return run<true, true, false>(rows, n, x, x_stride, y, y_stride, p);
    default: return run<true, true, true>(rows, n, x, x_stride, y, y_stride, p);
  }
}

}  // namespace ce::native
