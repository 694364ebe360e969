// Softmax of contiguous rows, 8 lanes: the row's max, then e = exp(x - max) (avx2::exp, as
// f32-vexp-avx2) stored and summed in one pass, then y = e * (1 / sum) (the reciprocal in
// double); tails by masked loads and partial stores. A row stays in L1 between the passes.
#include "native/elementwise/avx2-math.h"
#include "native/norm/norm.h"
#include "native/simd/avx2.h"

#include <algorithm>
#include <cmath>

namespace ce::native {

void f32_softmax_rows__avx2(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                            size_t y_stride) {
  if (n == 0) return;
  const size_t full = n & ~size_t{7};
  const __m256i tail = avx2::tail_mask(n - full);
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (size_t i = 0; i < full; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    float m = avx2::hmax(vmax);
    for (size_t i = full; i < n; ++i) m = std::max(m, x[i]);  // a NaN is caught by the sum
    const __m256 vm = _mm256_set1_ps(m);
    __m256 vsum = _mm256_setzero_ps();
    for (size_t i = 0; i < full; i += 8) {
      const __m256 e = avx2::exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
      _mm256_storeu_ps(y + i, e);
      vsum = _mm256_add_ps(vsum, e);
    }
    if (full < n) {
      const __m256 e = avx2::exp(_mm256_sub_ps(_mm256_maskload_ps(x + full, tail), vm));
      avx2::store_partial(y + full, e, n - full);
      vsum = _mm256_add_ps(vsum, _mm256_and_ps(e, _mm256_castsi256_ps(tail)));
    }
    const __m256 vs = _mm256_set1_ps(static_cast<float>(1.0 / avx2::hsum(vsum)));
    for (size_t i = 0; i < full; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), vs));
    if (full < n)
      avx2::store_partial(y + full, _mm256_mul_ps(_mm256_maskload_ps(y + full, tail), vs), n - full);
  }
}

}  // namespace ce::native
