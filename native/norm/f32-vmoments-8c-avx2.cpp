// Per-column mean and squared deviations of a block of rows, merged into running statistics:
// 8 columns per vector, two passes over the block (the block's strip stays in L1).
#include "native/elementwise/avx2-common.h"
#include "native/norm/norm.h"

namespace ce::native {

namespace {

inline void strip(size_t rows, const float* x, size_t stride, size_t seen, float* mean, float* m2,
                  size_t tail, __m256i mask) {
  auto load = [&](const float* p) { return tail ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p); };
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    s0 = _mm256_add_ps(s0, load(x + r * stride));
    s1 = _mm256_add_ps(s1, load(x + (r + 1) * stride));
  }
  if (r < rows) s0 = _mm256_add_ps(s0, load(x + r * stride));
  const __m256 mb = _mm256_mul_ps(_mm256_add_ps(s0, s1), _mm256_set1_ps(1.0f / rows));
  __m256 q0 = _mm256_setzero_ps(), q1 = _mm256_setzero_ps();
  for (r = 0; r + 2 <= rows; r += 2) {
    const __m256 d0 = _mm256_sub_ps(load(x + r * stride), mb);
    const __m256 d1 = _mm256_sub_ps(load(x + (r + 1) * stride), mb);
    q0 = _mm256_fmadd_ps(d0, d0, q0);
    q1 = _mm256_fmadd_ps(d1, d1, q1);
  }
  if (r < rows) {
    const __m256 d0 = _mm256_sub_ps(load(x + r * stride), mb);
    q0 = _mm256_fmadd_ps(d0, d0, q0);
  }
  __m256 qb = _mm256_add_ps(q0, q1), mn = mb;
  if (seen) {
    const float na = static_cast<float>(seen), nb = static_cast<float>(rows), t = na + nb;
    const __m256 ma = load(mean);
    const __m256 d = _mm256_sub_ps(mb, ma);
    mn = _mm256_fmadd_ps(d, _mm256_set1_ps(nb / t), ma);
    qb = _mm256_add_ps(_mm256_add_ps(load(m2), qb),
                       _mm256_mul_ps(_mm256_mul_ps(d, d), _mm256_set1_ps(na * nb / t)));
  }
  if (tail) {
    avx2::store_partial(mean, mn, tail);
    avx2::store_partial(m2, qb, tail);
  } else {
    _mm256_storeu_ps(mean, mn);
    _mm256_storeu_ps(m2, qb);
  }
}

}  // namespace

void f32_vmoments_8c__avx2(size_t rows, size_t n, const float* x, size_t stride, size_t seen,
                           float* mean, float* m2) {
  if (rows == 0) return;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    strip(rows, x + i, stride, seen, mean + i, m2 + i, 0, _mm256_setzero_si256());
  if (i < n) strip(rows, x + i, stride, seen, mean + i, m2 + i, n - i, avx2::tail_mask(n - i));
}

}  // namespace ce::native
