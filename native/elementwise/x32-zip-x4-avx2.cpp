// Channel shuffle of one pixel with 4 groups: y[4i + g] = x[g * n + i].
#include "native/elementwise/avx2-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void x32_zip_x4__avx2(size_t n, size_t, const float* x, float* y) {
  const float* a = x;
  const float* b = x + n;
  const float* c = x + 2 * n;
  const float* d = x + 3 * n;
  for (; n >= 8; n -= 8, a += 8, b += 8, c += 8, d += 8, y += 32) {
    const __m256 va = _mm256_loadu_ps(a), vb = _mm256_loadu_ps(b);
    const __m256 vc = _mm256_loadu_ps(c), vd = _mm256_loadu_ps(d);
    const __m256 ab_lo = _mm256_unpacklo_ps(va, vb);  // a0 b0 a1 b1 | a4 b4 a5 b5
    const __m256 ab_hi = _mm256_unpackhi_ps(va, vb);  // a2 b2 a3 b3 | a6 b6 a7 b7
    const __m256 cd_lo = _mm256_unpacklo_ps(vc, vd);  // c0 d0 c1 d1 | c4 d4 c5 d5
    const __m256 cd_hi = _mm256_unpackhi_ps(vc, vd);  // c2 d2 c3 d3 | c6 d6 c7 d7
    // 64-bit interleave: (a0 b0 c0 d0 | a4 b4 c4 d4), (a1 b1 c1 d1 | a5 b5 c5 d5), ...
    const __m256 p0 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(ab_lo), _mm256_castps_pd(cd_lo)));
    const __m256 p1 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(ab_lo), _mm256_castps_pd(cd_lo)));
    const __m256 p2 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(ab_hi), _mm256_castps_pd(cd_hi)));
    const __m256 p3 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(ab_hi), _mm256_castps_pd(cd_hi)));
    _mm256_storeu_ps(y, _mm256_permute2f128_ps(p0, p1, 0x20));       // pixels 0, 1
    _mm256_storeu_ps(y + 8, _mm256_permute2f128_ps(p2, p3, 0x20));   // 2, 3
    _mm256_storeu_ps(y + 16, _mm256_permute2f128_ps(p0, p1, 0x31));  // 4, 5
    _mm256_storeu_ps(y + 24, _mm256_permute2f128_ps(p2, p3, 0x31));  // 6, 7
  }
  for (size_t i = 0; i < n; ++i) {
    y[4 * i] = a[i];
    y[4 * i + 1] = b[i];
    y[4 * i + 2] = c[i];
    y[4 * i + 3] = d[i];
  }
}

}  // namespace ce::native
