// Channel shuffle of one pixel into M = 2, 3 or 4 groups with NEON's interleaving stores:
// y[i * M + g] = x[g * n + i], 4 pixels' groups per st2 / st3 / st4 (include only from
// -neon.cpp files).
#pragma once
#include <arm_neon.h>

#include <cstddef>

namespace ce::native::neon {

template <size_t M>
inline void zip(size_t n, const float* x, float* y) {
  static_assert(M >= 2 && M <= 4, "2, 3 or 4 groups");
  size_t i = 0;
  for (; i + 4 <= n; i += 4, y += 4 * M) {
    auto group = [&](size_t g) { return vld1q_f32(x + g * n + i); };
    if constexpr (M == 2) {
      vst2q_f32(y, (float32x4x2_t{{group(0), group(1)}}));
    } else if constexpr (M == 3) {
      vst3q_f32(y, (float32x4x3_t{{group(0), group(1), group(2)}}));
    } else {
      vst4q_f32(y, (float32x4x4_t{{group(0), group(1), group(2), group(3)}}));
    }
  }
  for (; i < n; ++i, y += M)
    for (size_t g = 0; g < M; ++g) y[g] = x[g * n + i];
}

}  // namespace ce::native::neon
