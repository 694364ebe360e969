// Element-wise math microkernels (engine/steps_math.cpp): unary functions, binary functions
// of two rows, constant powers. Each takes pointers and counts in floats, handles its own
// tail, does not allocate or thread, and may run in place (y == x or y == a).
//
//   unary:   y[i] = f(x[i]) for i < n; `p` carries the op's parameters (see each entry).
//   binary:  y[i] = f(a[i], b[i]); the "c" variants read one value b[0] for every i.
//
// Accuracy of the approximations (max error against float64 over the float32 range, measured
// with the engine's FTZ/DAZ on) is written in each -avx2.cpp file; the -avx512f.cpp and -neon.cpp
// kernels evaluate the same formulas (avx512-math.h and neon-math.h mirror avx2-math.h, FMA for
// FMA) and have the same bounds. Every kernel declared with __avx2 has a __neon twin (aarch64).
// AVX-512 versions exist for the compute-bound kernels only (vepilogue's activations, erf,
// gelu, gelu_tanh, mish, softplus, elu, exp, log, rsqrt); the memory-bound ones (abs, neg,
// sqr, cube, sqrt, recip, softsign, threshold and the binary kernels) measured no faster with
// 16 lanes on Zen 4 (bench/elementwise_kernels.cpp), so the AVX-512 level runs their AVX2 twins. The scalar twins compute in
// double with the C library and round once (<= 1 ulp), except where noted. Results below
// 2^-126 in magnitude are flushed to zero, as the engine runs with FTZ/DAZ.
#pragma once
#include <cstddef>

namespace ce::native {

struct MathParams {
  float alpha;
  float beta;
  float gamma;
};

using VMathFn = void (*)(size_t n, const float* x, float* y, const MathParams* p);
using VBinaryFn = void (*)(size_t n, const float* a, const float* b, float* y, const MathParams* p);

#define CE_MATH_KERNEL(name)                                                        \
  void f32_##name##__avx2(size_t n, const float* x, float* y, const MathParams* p); \
  void f32_##name##__neon(size_t n, const float* x, float* y, const MathParams* p); \
  void f32_##name##__scalar(size_t n, const float* x, float* y, const MathParams* p);

CE_MATH_KERNEL(verf)        // erf(x)
CE_MATH_KERNEL(vgelu)       // x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2))
CE_MATH_KERNEL(vgelu_tanh)  // x / 2 * (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
CE_MATH_KERNEL(vmish)       // x * tanh(softplus(x))
CE_MATH_KERNEL(vsoftplus)   // log(1 + exp(x))
CE_MATH_KERNEL(velu)        // x > 0 ? beta x : alpha (exp(gamma x) - 1)  (Elu, Selu, Celu)
CE_MATH_KERNEL(vexp)
CE_MATH_KERNEL(vlog)
CE_MATH_KERNEL(vsqrt)
CE_MATH_KERNEL(vrecip)      // 1 / x
CE_MATH_KERNEL(vabs)
CE_MATH_KERNEL(vneg)
CE_MATH_KERNEL(vsoftsign)   // x / (1 + |x|)
CE_MATH_KERNEL(vthreshold)  // x > alpha ? x : 0, NaN stays NaN (ThresholdedRelu)
// pow(x, c) for the constant exponents with fast paths: c = 2 and 3 as C's pow; c = -0.5 is
// 1 / sqrt(x) (c = 0.5 is vsqrt), as torch's x ** 0.5 and x ** -0.5 (-0 and -inf give -0,
// NaN and -inf, NaN where C's pow gives +0, +inf and +inf, +0).
CE_MATH_KERNEL(vsqr)        // c = 2
CE_MATH_KERNEL(vcube)       // c = 3
CE_MATH_KERNEL(vrsqrt)      // c = -0.5
#undef CE_MATH_KERNEL

void f32_verf__avx512f(size_t n, const float* x, float* y, const MathParams* p);
void f32_vgelu__avx512f(size_t n, const float* x, float* y, const MathParams* p);
void f32_vgelu_tanh__avx512f(size_t n, const float* x, float* y, const MathParams* p);
void f32_vmish__avx512f(size_t n, const float* x, float* y, const MathParams* p);
void f32_vsoftplus__avx512f(size_t n, const float* x, float* y, const MathParams* p);
void f32_velu__avx512f(size_t n, const float* x, float* y, const MathParams* p);
void f32_vexp__avx512f(size_t n, const float* x, float* y, const MathParams* p);
void f32_vlog__avx512f(size_t n, const float* x, float* y, const MathParams* p);
void f32_vrsqrt__avx512f(size_t n, const float* x, float* y, const MathParams* p);

// Portable only (no vector version): sin, cos, and pow(x, alpha) for any other constant alpha.
void f32_vsin__scalar(size_t n, const float* x, float* y, const MathParams* p);
void f32_vcos__scalar(size_t n, const float* x, float* y, const MathParams* p);
void f32_vpowc__scalar(size_t n, const float* x, float* y, const MathParams* p);

#define CE_BINARY_KERNEL(name)                                                                    \
  void f32_##name##__avx2(size_t n, const float* a, const float* b, float* y, const MathParams* p); \
  void f32_##name##__neon(size_t n, const float* a, const float* b, float* y, const MathParams* p); \
  void f32_##name##__scalar(size_t n, const float* a, const float* b, float* y, const MathParams* p);

CE_BINARY_KERNEL(vmin)     // min(a, b), NaN if either is NaN
CE_BINARY_KERNEL(vminc)
CE_BINARY_KERNEL(vmax)     // max(a, b), NaN if either is NaN
CE_BINARY_KERNEL(vmaxc)
CE_BINARY_KERNEL(vadd)     // (a + b) * p->alpha (Sum: alpha 1; Mean's last input: 1 / count)
CE_BINARY_KERNEL(vaddc)
CE_BINARY_KERNEL(vprelu)   // a < 0 ? a * b : a
CE_BINARY_KERNEL(vpreluc)
#undef CE_BINARY_KERNEL

// pow(a, b) element by element (C pow), portable only.
void f32_vpow__scalar(size_t n, const float* a, const float* b, float* y, const MathParams* p);

}  // namespace ce::native
