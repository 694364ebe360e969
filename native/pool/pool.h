// Pooling microkernels over channels-innermost pixels.
//
// Window kernels (max, average) reduce `pixels` output pixels, output p from the window at
// in + p * in_step to out + p * out_step: the valid part of a pooling window, already clipped to
// the image by the driver, is a kh x kw grid of input pixels, pixel (i, j) at
// in + i * row_stride + j * col_stride (floats; the strides include dilation). They write
// `channels` floats per output pixel, clamped to params (a fused activation; +-inf for none).
// The driver passes the interior of an output row (same window size, a constant step) in one
// call: one call per pixel cost hgnetv2's 2x2 stem pool over 16 channels 4x its memory time
// (Zen 4).
//   maxpool: the maximum, NaN propagating (as torch); an empty window (kh * kw == 0) gives -inf.
//   avgpool: scale * the sum (scale = 1 / divisor, chosen by the driver); empty gives 0.
// The global average kernel reduces `rows` pixels (row r at in + r * in_stride) to
//   out[c] = scale * sum_r in[r][c].
// Its channels-first twin (cw: channel-wise, for NCHW data) reduces each of `planes` contiguous
// planes of `pixels` floats: out[j] = scale * sum_p in[j * pixels + p].
#pragma once
#include <cstddef>

#include "native/params.h"

namespace ce::native {

using MaxPoolFn = void (*)(size_t pixels, size_t kh, size_t kw, size_t channels,
                           const float* in, size_t in_step, size_t row_stride, size_t col_stride,
                           float* out, size_t out_step, const ClampParams* params);
using AvgPoolFn = void (*)(size_t pixels, size_t kh, size_t kw, size_t channels,
                           const float* in, size_t in_step, size_t row_stride, size_t col_stride,
                           float scale, float* out, size_t out_step, const ClampParams* params);
using GAvgPoolFn = void (*)(size_t rows, size_t channels, const float* in, size_t in_stride,
                            float scale, float* out);
using GAvgPoolCwFn = void (*)(size_t planes, size_t pixels, const float* in, float scale,
                              float* out);

void f32_maxpool_32c__avx2(size_t pixels, size_t kh, size_t kw, size_t channels, const float* in,
    size_t in_step, size_t row_stride, size_t col_stride, float* out, size_t out_step,
    const ClampParams* params);
void f32_maxpool_16c__neon(size_t pixels, size_t kh, size_t kw, size_t channels, const float* in,
    size_t in_step, size_t row_stride, size_t col_stride, float* out, size_t out_step,
    const ClampParams* params);
void f32_maxpool__scalar(size_t pixels, size_t kh, size_t kw, size_t channels, const float* in,
    size_t in_step, size_t row_stride, size_t col_stride, float* out, size_t out_step,
    const ClampParams* params);

void f32_avgpool_32c__avx2(size_t pixels, size_t kh, size_t kw, size_t channels, const float* in,
    size_t in_step, size_t row_stride, size_t col_stride, float scale, float* out,
    size_t out_step, const ClampParams* params);
void f32_avgpool_16c__neon(size_t pixels, size_t kh, size_t kw, size_t channels, const float* in,
    size_t in_step, size_t row_stride, size_t col_stride, float scale, float* out,
    size_t out_step, const ClampParams* params);
void f32_avgpool__scalar(size_t pixels, size_t kh, size_t kw, size_t channels, const float* in,
    size_t in_step, size_t row_stride, size_t col_stride, float scale, float* out,
    size_t out_step, const ClampParams* params);

void f32_gavgpool_64c__avx512f(size_t rows, size_t channels, const float* in, size_t in_stride,
                               float scale, float* out);
void f32_gavgpool_32c__avx2(size_t rows, size_t channels, const float* in, size_t in_stride,
                            float scale, float* out);
void f32_gavgpool_16c__neon(size_t rows, size_t channels, const float* in, size_t in_stride,
                            float scale, float* out);
void f32_gavgpool__scalar(size_t rows, size_t channels, const float* in, size_t in_stride,
                          float scale, float* out);

void f32_gavgpool_cw__avx2(size_t planes, size_t pixels, const float* in, float scale, float* out);
void f32_gavgpool_cw__neon(size_t planes, size_t pixels, const float* in, float scale, float* out);
void f32_gavgpool_cw__scalar(size_t planes, size_t pixels, const float* in, float scale, float* out);

}  // namespace ce::native
