// Portable twins of avx2-math.h: each function evaluates its definition in double with the C
// library and rounds once, so the scalar kernels are accurate to about 0.5 ulp (a few ulp where
// two float operations are kept, noted there) and double as an accuracy reference for the
// vector ones. Special values follow the vector functions: NaN propagates; +-inf as torch.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ce::native::scalar {

inline float erf(float x) { return static_cast<float>(std::erf(static_cast<double>(x))); }

inline float gelu(float x) {
  const double d = x;
  return static_cast<float>(0.5 * d * std::erfc(-d * 0.70710678118654752440));
}

// x / 2 (1 + tanh(u)) = x / (1 + exp(-2u)), 2u = 2 sqrt(2 / pi) (x + 0.044715 x^3).
inline float gelu_tanh(float x) {
  const double d = x, c = 1.5957691216057307117597;
  return static_cast<float>(d / (1.0 + std::exp(-c * (d + 0.044715 * d * d * d))));
}

inline float softplus(float x) {
  const double d = x;
  return static_cast<float>((d < 0.0 ? 0.0 : d) + std::log1p(std::exp(-std::fabs(d))));
}

inline float mish(float x) {
  const double d = x;
  return static_cast<float>(d * std::tanh(std::log1p(std::exp(d))));
}

inline float elu(float x, float alpha, float beta, float gamma) {
  const double d = x;
  return static_cast<float>(d > 0.0 ? beta * d : alpha * std::expm1(gamma * d));
}

// Denormal inputs read through their bits (x = bits 2^-149), exact whether or not DAZ is on.
inline float log(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const double d = bits > 0 && bits < 0x00800000u ? std::ldexp(static_cast<double>(bits), -149) : x;
  return static_cast<float>(std::log(d));
}

inline float softsign(float x) { return x / (1.0f + std::fabs(x)); }

inline float threshold(float x, float alpha) { return x > alpha || x != x ? x : 0.0f; }

// NaN if either is NaN.
inline float min(float a, float b) { return a != a ? a : (b != b ? b : (b < a ? b : a)); }
inline float max(float a, float b) { return a != a ? a : (b != b ? b : (b > a ? b : a)); }

}  // namespace ce::native::scalar
