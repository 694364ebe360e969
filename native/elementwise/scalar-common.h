// Helpers shared by the scalar element-wise kernels: the same exp/sigmoid algorithm as
// avx2-common.h (two-constant range reduction, degree-5 polynomial), without FMA.
#pragma once
#include <cstdint>
#include <cmath>
#include <cstring>

namespace ce::native::scalar {

inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// exp(z) for -87.33 <= z <= 0 (NaN propagates; callers handle z below the cutoff).
inline float exp_nonpositive(float z) {
  const float magic = 0x1.8000FEp23f, log2e = 0x1.715476p+0f;
  const float ln2_hi = 0x1.62E400p-1f, ln2_lo = 0x1.7F7D1Cp-20f;
  const float c5 = 0x1.0F9F9Cp-7f, c4 = 0x1.573A1Ap-5f, c3 = 0x1.555A80p-3f,
              c2 = 0x1.FFFDC6p-2f, c1 = 0x1.FFFFF6p-1f;
  float n = z * log2e + magic;
  const float s = from_bits(bits(n) << 23);
  n -= magic;
  float t = n * -ln2_hi + z;
  t = n * -ln2_lo + t;
  float p = c5 * t + c4;
  p = p * t + c3;
  p = p * t + c2;
  p = p * t + c1;
  return (t * p + 1.0f) * s;  // not s + (t * s) * p: t * s is denormal (flushed) for z < -86.3
}

inline float sigmoid(float x) {
  const float z = -std::fabs(x);
  if (z < -0x1.5D589Ep+6f) return x > 0.0f ? 1.0f : 0.0f;  // NaN compares false: falls through
  const float e = exp_nonpositive(z);
  const float f = e / (e + 1.0f);
  return std::signbit(x) ? f : 1.0f - f;
}

}  // namespace ce::native::scalar
