#include <immintrin.h>

#include <cstddef>

#include "native/peak/peak.h"

namespace ce::native {

// 10 independent FMA chains (enough to cover FMA latency x 2 ports on Zen 3 / Skylake):
// 10 * 8 lanes * 2 flops per iteration.
float f32_fma_peak__fma3(size_t iterations) {
  // Distinct starting values: identical chains were merged into one by the compiler, which
  // made the measurement latency-bound and report 10/4 of one chain's rate as the peak.
  __m256 a0 = _mm256_set1_ps(1.0f), a1 = _mm256_set1_ps(1.001f), a2 = _mm256_set1_ps(1.002f),
         a3 = _mm256_set1_ps(1.003f), a4 = _mm256_set1_ps(1.004f), a5 = _mm256_set1_ps(1.005f),
         a6 = _mm256_set1_ps(1.006f), a7 = _mm256_set1_ps(1.007f), a8 = _mm256_set1_ps(1.008f),
         a9 = _mm256_set1_ps(1.009f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (size_t i = 0; i < iterations; ++i) {
    a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
    a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
    a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
    a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
    a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(a8, a9));
  return _mm256_cvtss_f32(s);
}

}  // namespace ce::native
