#pragma once
#include <cstddef>

namespace ce::native {

// dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows, j < cols (strides in floats).
using TransposeFn = void (*)(size_t rows, size_t cols, const float* src, size_t src_stride,
                             float* dst, size_t dst_stride);

void f32_transpose_16x16__avx512f(size_t rows, size_t cols, const float* src, size_t src_stride,
                                  float* dst, size_t dst_stride);
void f32_transpose__avx2(size_t rows, size_t cols, const float* src, size_t src_stride, float* dst,
                         size_t dst_stride);
void f32_transpose_4x4__neon(size_t rows, size_t cols, const float* src, size_t src_stride,
                             float* dst, size_t dst_stride);
void f32_transpose__scalar(size_t rows, size_t cols, const float* src, size_t src_stride, float* dst,
                           size_t dst_stride);

}  // namespace ce::native
