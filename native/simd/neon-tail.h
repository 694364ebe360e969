// NEON tails of 1-3 floats: lane-wise loads (zero in the lanes past n) and stores that touch
// exactly n floats (include only from -neon.cpp files).
#pragma once
#include <arm_neon.h>

#include <cstddef>

namespace ce::native::neon {

inline float32x4_t load_tail(const float* p, size_t n) {
  if (n >= 2) {
    const float32x4_t v = vcombine_f32(vld1_f32(p), vdup_n_f32(0.0f));
    return n == 3 ? vld1q_lane_f32(p + 2, v, 2) : v;
  }
  return vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
}

inline void store_tail(float* p, float32x4_t v, size_t n) {
  if (n >= 2) {
    vst1_f32(p, vget_low_f32(v));
    if (n == 3) vst1q_lane_f32(p + 2, v, 2);
  } else {
    vst1q_lane_f32(p, v, 0);
  }
}

}  // namespace ce::native::neon
