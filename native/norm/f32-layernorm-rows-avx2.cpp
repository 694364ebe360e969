// Layer norm of contiguous rows (a pixel's channels in a channels-last tensor): sum, then sum
// of squared deviations from the mean, then y = (x - mean) * rstd * g + b, 8 floats at a time
// with a masked tail. Rows of up to kShort floats go 4 at a time, each pass interleaving the 4
// rows' independent add chains (one row at a time is latency-bound: 56 x 56 pixels of 96
// channels, 1 thread, Zen 3: 0.147 -> 0.077 ms); longer rows take the blocked reductions of
// f32-rreduce-u32-avx2 (double totals per 2048 floats).
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

constexpr size_t kShort = 2048;

// R rows of n <= kShort floats, statistics of all R in each pass.
template <int R>
void short_rows(size_t n, const float* x, size_t xs, float* y, size_t ys, const float* g,
                const float* b, float eps, float* mean, float* rstd) {
  const size_t n8 = n & ~size_t{7}, tail = n - n8;
  const __m256i mask = avx2::tail_mask(tail);
  const __m256 live = _mm256_castsi256_ps(mask);
  __m256 s[R], q[R], vm[R];
  for (int j = 0; j < R; ++j) s[j] = q[j] = _mm256_setzero_ps();
  for (size_t i = 0; i < n8; i += 8)
    for (int j = 0; j < R; ++j) s[j] = _mm256_add_ps(s[j], _mm256_loadu_ps(x + j * xs + i));
  if (tail)
    for (int j = 0; j < R; ++j) s[j] = _mm256_add_ps(s[j], _mm256_maskload_ps(x + j * xs + n8, mask));
  float m[R], r[R];
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int j = 0; j < R; ++j) {
    m[j] = avx2::hsum(s[j]) * inv_n;
    vm[j] = _mm256_set1_ps(m[j]);
  }
  for (size_t i = 0; i < n8; i += 8)
    for (int j = 0; j < R; ++j) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + j * xs + i), vm[j]);
      q[j] = _mm256_fmadd_ps(d, d, q[j]);
    }
  if (tail)
    for (int j = 0; j < R; ++j) {
      const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j * xs + n8, mask), vm[j]), live);
      q[j] = _mm256_fmadd_ps(d, d, q[j]);
    }
  for (int j = 0; j < R; ++j) r[j] = 1.0f / std::sqrt(avx2::hsum(q[j]) * inv_n + eps);
  for (int j = 0; j < R; ++j) {
    if (g && b) write<true, true>(n, x + j * xs, y + j * ys, g, b, m[j], r[j]);
    else if (g) write<true, false>(n, x + j * xs, y + j * ys, g, b, m[j], r[j]);
    else if (b) write<false, true>(n, x + j * xs, y + j * ys, g, b, m[j], r[j]);
    else write<false, false>(n, x + j * xs, y + j * ys, g, b, m[j], r[j]);
    if (mean) mean[j] = m[j];
    if (rstd) rstd[j] = r[j];
  }
}

}  // namespace

void f32_layernorm_rows__avx2(size_t rows, size_t n, const float* x, size_t x_stride, float* y,
                              size_t y_stride, const float* gamma, const float* beta, float eps,
                              float* mean, float* rstd) {
  if (n <= kShort) {
    size_t r = 0;
    for (; r + 4 <= rows; r += 4)
      short_rows<4>(n, x + r * x_stride, x_stride, y + r * y_stride, y_stride, gamma, beta, eps,
                    mean ? mean + r : nullptr, rstd ? rstd + r : nullptr);
    for (; r < rows; ++r)
      short_rows<1>(n, x + r * x_stride, x_stride, y + r * y_stride, y_stride, gamma, beta, eps,
                    mean ? mean + r : nullptr, rstd ? rstd + r : nullptr);
    return;
  }
  for (size_t r = 0; r < rows; ++r, x += x_stride, y += y_stride) {
    const float m = f32_rreduce_u32__avx2(ReduceOp::kSum, n, x, 0.0f) / static_cast<float>(n);
    const float q = f32_rreduce_u32__avx2(ReduceOp::kSumSquare, n, x, m);
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
