// Shared by the NEON pooling kernels (include only from -neon.cpp files).
#pragma once
#include <arm_neon.h>

#include <cstddef>

#include "native/simd/neon-tail.h"

namespace ce::native::neon {

// The scalar kernels' clamp, v < lo ? lo : v then v > hi ? hi : v: NaN and the sign of a zero
// at a bound pass unchanged (fmax / fmin would turn -0 into +0 at lo == +0).
inline float32x4_t clamp(float32x4_t v, float32x4_t lo, float32x4_t hi) {
  v = vbslq_f32(vcltq_f32(v, lo), lo, v);
  return vbslq_f32(vcgtq_f32(v, hi), hi, v);
}

// One output pixel of a window reduction over kh x kw pixels (pixel (i, j) at
// in + i * row_stride + j * col_stride): acc = step(acc, pixel) from init, lane per channel,
// then out = finish(acc). 16 channels per step (four accumulators: enough loads in flight for
// the one or two 128-bit loads per cycle of an A72 / A76), then 4, then a lane-wise tail.
template <class Step, class Finish>
inline void window_16c(size_t kh, size_t kw, size_t channels, const float* in, size_t row_stride,
                       size_t col_stride, float32x4_t init, Step step, Finish finish, float* out) {
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    float32x4_t a0 = init, a1 = init, a2 = init, a3 = init;
    for (size_t i = 0; i < kh; ++i) {
      const float* p = in + i * row_stride + c;
      for (size_t j = 0; j < kw; ++j, p += col_stride) {
        a0 = step(a0, vld1q_f32(p));
        a1 = step(a1, vld1q_f32(p + 4));
        a2 = step(a2, vld1q_f32(p + 8));
        a3 = step(a3, vld1q_f32(p + 12));
      }
    }
    vst1q_f32(out + c, finish(a0));
    vst1q_f32(out + c + 4, finish(a1));
    vst1q_f32(out + c + 8, finish(a2));
    vst1q_f32(out + c + 12, finish(a3));
  }
  for (; c + 4 <= channels; c += 4) {
    float32x4_t a = init;
    for (size_t i = 0; i < kh; ++i) {
      const float* p = in + i * row_stride + c;
      for (size_t j = 0; j < kw; ++j, p += col_stride) a = step(a, vld1q_f32(p));
    }
    vst1q_f32(out + c, finish(a));
  }
  if (c < channels) {
    const size_t n = channels - c;
    float32x4_t a = init;
    for (size_t i = 0; i < kh; ++i) {
      const float* p = in + i * row_stride + c;
      for (size_t j = 0; j < kw; ++j, p += col_stride) a = step(a, load_tail(p, n));
    }
    store_tail(out + c, finish(a), n);
  }
}

}  // namespace ce::native::neon
