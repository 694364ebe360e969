// Channel shuffle of one pixel with 2 groups: y[2i] = x[i], y[2i + 1] = x[n + i].
#include "native/elementwise/avx2-common.h"
#include "native/elementwise/elementwise.h"

namespace ce::native {

void x32_zip_x2__avx2(size_t n, size_t, const float* x, float* y) {
  const float* a = x;
  const float* b = x + n;
  for (; n >= 8; n -= 8, a += 8, b += 8, y += 16) {
    const __m256 va = _mm256_loadu_ps(a), vb = _mm256_loadu_ps(b);
    const __m256 lo = _mm256_unpacklo_ps(va, vb);  // a0 b0 a1 b1 | a4 b4 a5 b5
    const __m256 hi = _mm256_unpackhi_ps(va, vb);  // a2 b2 a3 b3 | a6 b6 a7 b7
    _mm256_storeu_ps(y, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(y + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
  }
  for (size_t i = 0; i < n; ++i) {
    y[2 * i] = a[i];
    y[2 * i + 1] = b[i];
  }
}

}  // namespace ce::native
