// The Winograd tile transforms of wino-tiles.h over 8 channels held in a pair of q registers,
// shared by the f32-wino*-neon.cpp files (include only from -neon.cpp files). 8 lanes, as the
// fma3 level's Ymm: the input contract's zero-filled channels end at round_up(n, 8), so a
// padded tail is one whole vector pair. Tails are read and written through a stack copy.
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>

#include "native/winograd/wino-tiles.h"

namespace ce::native::wino {

struct Q2 {
  struct T {
    float32x4_t lo, hi;
  };
  using Mask = size_t;  // lanes
  static constexpr size_t kLanes = 8;
  static T zero() { return {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}; }
  static T k(float v) { return {vdupq_n_f32(v), vdupq_n_f32(v)}; }
  static T add(T a, T b) { return {vaddq_f32(a.lo, b.lo), vaddq_f32(a.hi, b.hi)}; }
  static T sub(T a, T b) { return {vsubq_f32(a.lo, b.lo), vsubq_f32(a.hi, b.hi)}; }
  static T mul(T a, T b) { return {vmulq_f32(a.lo, b.lo), vmulq_f32(a.hi, b.hi)}; }
  static T fma(T a, T b, T c) { return {vfmaq_f32(c.lo, a.lo, b.lo), vfmaq_f32(c.hi, a.hi, b.hi)}; }
  static T fnma(T a, T b, T c) {
    return {vfmsq_f32(c.lo, a.lo, b.lo), vfmsq_f32(c.hi, a.hi, b.hi)};
  }
  static T min(T a, T b) { return {vminq_f32(a.lo, b.lo), vminq_f32(a.hi, b.hi)}; }
  static T max(T a, T b) { return {vmaxq_f32(a.lo, b.lo), vmaxq_f32(a.hi, b.hi)}; }
  static Mask all() { return kLanes; }
  static Mask tail(size_t n) { return n; }
  template <bool kTail>
  static T load(const float* p, Mask n) {
    if (!kTail) return {vld1q_f32(p), vld1q_f32(p + 4)};
    float t[8] = {};
    std::copy(p, p + n, t);
    return {vld1q_f32(t), vld1q_f32(t + 4)};
  }
  static void store(float* p, T v) {
    vst1q_f32(p, v.lo);
    vst1q_f32(p + 4, v.hi);
  }
  static void store_padded(float* p, T v, size_t) { store(p, v); }
  static void store_tail(float* p, T v, Mask, size_t n) {
    float t[8];
    store(t, v);
    std::copy(t, t + n, p);
  }
};

}  // namespace ce::native::wino
