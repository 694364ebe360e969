#include <arm_neon.h>

#include <cstddef>

#include "native/peak/peak.h"

namespace ce::native {

// 12 independent fmla chains: 2 pipes x 4-cycle latency (Cortex-A76, Neoverse N1) need 8, with
// room for a 5-cycle core; 12 * 4 lanes * 2 flops per iteration.
float f32_fma_peak__neon(size_t iterations) {
  // Distinct starting values, so the compiler cannot merge the chains (see the -fma3 probe);
  // acc += acc * m: fmla accumulates into its destination, so the chain runs through it.
  float32x4_t acc[12];
#pragma GCC unroll 12
  for (int j = 0; j < 12; ++j) acc[j] = vdupq_n_f32(1.0f + 0.001f * static_cast<float>(j));
  const float32x4_t m = vdupq_n_f32(-1e-7f);
  for (size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) acc[j] = vfmaq_f32(acc[j], acc[j], m);
  }
#pragma GCC unroll 6
  for (int j = 0; j < 6; ++j) acc[j] = vaddq_f32(acc[j], acc[j + 6]);
  const float32x4_t s = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(vaddq_f32(acc[2], acc[3]),
                                                                      vaddq_f32(acc[4], acc[5])));
  return vgetq_lane_f32(s, 0);
}

}  // namespace ce::native
