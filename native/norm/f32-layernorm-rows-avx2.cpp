// Layer norm of contiguous rows (a pixel's channels in a channels-last tensor): sum, then sum
// of squared deviations from the mean (f32-rreduce-32-avx2), then y = (x - mean) * rstd * g + b,
// 8 floats at a time with a masked tail.
#include "native/elementwise/avx2-common.h"
#include "native/norm/norm.h"
#include "native/reduce/reduce.h"

#include <cmath>

namespace ce::native {

namespace {

template <bool G, bool B>
void write(size_t n, const float* x, float* y, const float* g, const float* b, float mean, float r) {
  const __m256 vm = _mm256_set1_ps(mean), vr = _mm256_set1_ps(r);
  auto f = [&](__m256 v, size_t i, bool tail, __m256i mask) {
    __m256 t = _mm256_mul_ps(_mm256_sub_ps(v, vm), vr);
    if (G) t = _mm256_mul_ps(t, tail ? _mm256_maskload_ps(g + i, mask) : _mm256_loadu_ps(g + i));
    if (B) t = _mm256_add_ps(t, tail ? _mm256_maskload_ps(b + i, mask) : _mm256_loadu_ps(b + i));
    return t;
  };
  const __m256i none = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = f(_mm256_loadu_ps(x + i), i, false, none);
    const __m256 c = f(_mm256_loadu_ps(x + i + 8), i + 8, false, none);
    _mm256_storeu_ps(y + i, a);
    _mm256_storeu_ps(y + i + 8, c);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i), i, false, none));
  if (i < n) {
    const __m256i m = avx2::tail_mask(n - i);
    avx2::store_partial(y + i, f(_mm256_maskload_ps(x + i, m), i, true, m), n - i);
  }
}

}  // namespace

void f32_layernorm_rows__avx2(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                              size_t y_stride, const float* gamma, const float* beta, float eps,
                              float* mean, float* rstd) {
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    const float m = f32_rreduce_32__avx2(ReduceOp::kSum, n, x, 0.0f) / static_cast<float>(n);
    const float q = f32_rreduce_32__avx2(ReduceOp::kSumSquare, n, x, m);
    const float rs = static_cast<float>(1.0 / std::sqrt(static_cast<double>(q) / n + eps));
    if (gamma && beta) write<true, true>(n, x, y, gamma, beta, m, rs);
    else if (gamma) write<true, false>(n, x, y, gamma, beta, m, rs);
    else if (beta) write<false, true>(n, x, y, gamma, beta, m, rs);
    else write<false, false>(n, x, y, gamma, beta, m, rs);
    if (mean) mean[r] = m;
    if (rstd) rstd[r] = rs;
  }
}

}  // namespace ce::native
