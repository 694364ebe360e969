// NEON weighted gather over channels, shared by GridSample's blend and the deformable-conv
// bilinear gather (include only from -neon.cpp files):
//   out[k] = sum over t < taps of w[t] * p[t][k]   for k < c,
// 16 channels per step (four accumulators, fmla by element), then 4, then a lane-wise tail.
// T fixes the tap count at compile time (0: taps).
#pragma once
#include <arm_neon.h>

#include <cstddef>

#include "native/simd/neon-tail.h"

namespace ce::native::neon {

template <size_t T>
inline void blend_16c(size_t taps, size_t c, const float* const* p, const float* w, float* out) {
  const size_t nt = T ? T : taps;
  size_t k = 0;
  for (; k + 16 <= c; k += 16) {
    const float* q = p[0] + k;
    float32x4_t a0 = vmulq_n_f32(vld1q_f32(q), w[0]), a1 = vmulq_n_f32(vld1q_f32(q + 4), w[0]);
    float32x4_t a2 = vmulq_n_f32(vld1q_f32(q + 8), w[0]), a3 = vmulq_n_f32(vld1q_f32(q + 12), w[0]);
    for (size_t t = 1; t < nt; ++t) {
      q = p[t] + k;
      const float wt = w[t];
      a0 = vfmaq_n_f32(a0, vld1q_f32(q), wt);
      a1 = vfmaq_n_f32(a1, vld1q_f32(q + 4), wt);
      a2 = vfmaq_n_f32(a2, vld1q_f32(q + 8), wt);
      a3 = vfmaq_n_f32(a3, vld1q_f32(q + 12), wt);
    }
    vst1q_f32(out + k, a0);
    vst1q_f32(out + k + 4, a1);
    vst1q_f32(out + k + 8, a2);
    vst1q_f32(out + k + 12, a3);
  }
  for (; k + 4 <= c; k += 4) {
    float32x4_t a = vmulq_n_f32(vld1q_f32(p[0] + k), w[0]);
    for (size_t t = 1; t < nt; ++t) a = vfmaq_n_f32(a, vld1q_f32(p[t] + k), w[t]);
    vst1q_f32(out + k, a);
  }
  if (k < c) {
    const size_t n = c - k;
    float32x4_t a = vmulq_n_f32(load_tail(p[0] + k, n), w[0]);
    for (size_t t = 1; t < nt; ++t) a = vfmaq_n_f32(a, load_tail(p[t] + k, n), w[t]);
    store_tail(out + k, a, n);
  }
}

}  // namespace ce::native::neon
