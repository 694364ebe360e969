#include <immintrin.h>

#include <cstddef>

#include "native/peak/peak.h"

namespace ce::native {

// 12 independent zmm FMA chains: 4-cycle latency x 2 ports (Xeon) needs 8; Zen 4 splits each
// zmm FMA over its two 256-bit pipes, so there the probe measures the ymm peak.
float f32_fma_peak__avx512f(size_t iterations) {
  __m512 acc[12];
#pragma GCC unroll 12
  for (int j = 0; j < 12; ++j) acc[j] = _mm512_set1_ps(1.0f + 0.001f * j);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) acc[j] = _mm512_fmadd_ps(acc[j], m, c);
  }
  __m512 s = acc[0];
#pragma GCC unroll 12
  for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, acc[j]);
  return _mm512_reduce_add_ps(s);
}

}  // namespace ce::native
