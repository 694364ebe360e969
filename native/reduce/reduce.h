// Reduction microkernels (engine/steps_nn.cpp drives them over strided tensors). Counts and
// strides in floats; kernels do not allocate and do not thread.
//
//   rreduce: one value from n contiguous floats ("horizontal": the reduced axis is innermost in
//            memory). Sums run in 4 x 8 float lanes, each block of 2048 floats added into a
//            double total.
//   vreduce: acc[i] = acc[i] (+) x[r * stride + i] over r < rows, for i < n ("vertical": the
//            kept axis is innermost, so one vector holds 8 outputs). Sums add each block of 64
//            rows into acc separately (error ~ (64 + rows / 64) ulp instead of rows).
//
// Ops: kSum, kSumAbs |x|, kSumSquare (x - shift)^2, kMax, kMin, kProd, kSumExp exp(x - shift)
// (shift >= every x of the reduction, so each exponent is <= 0; results below 2^-126 flush to
// 0). rreduce takes one shift; vreduce one per column (null: 0). Max and min propagate NaN.
#pragma once
#include <cstddef>

namespace ce::native {

enum class ReduceOp : int { kSum, kSumAbs, kSumSquare, kMax, kMin, kProd, kSumExp };

using RReduceFn = float (*)(ReduceOp op, size_t n, const float* x, float shift);
using VReduceFn = void (*)(ReduceOp op, size_t rows, size_t n, const float* x, size_t stride,
                           const float* shift, float* acc);

float f32_rreduce_u32__avx2(ReduceOp op, size_t n, const float* x, float shift);
float f32_rreduce_u16__neon(ReduceOp op, size_t n, const float* x, float shift);
float f32_rreduce__scalar(ReduceOp op, size_t n, const float* x, float shift);
void f32_vreduce_32c__avx2(ReduceOp op, size_t rows, size_t n, const float* x, size_t stride,
                          const float* shift, float* acc);
void f32_vreduce_16c__neon(ReduceOp op, size_t rows, size_t n, const float* x, size_t stride,
                           const float* shift, float* acc);
void f32_vreduce__scalar(ReduceOp op, size_t rows, size_t n, const float* x, size_t stride,
                         const float* shift, float* acc);

}  // namespace ce::native
