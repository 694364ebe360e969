// Deformable-convolution sampling microkernels: the bilinear gather that builds one row of the
// sampled im2col matrix per (output pixel, tap, offset group).
//
//   For each of n samples s and each channel k < c:
//     out[s * out_stride + k] = coef[4s] * corner[4s][k] + coef[4s+1] * corner[4s+1][k]
//                             + coef[4s+2] * corner[4s+2][k] + coef[4s+3] * corner[4s+3][k]
//
//   corner  4 pointers per sample: (y0, x0), (y0, x1), (y1, x0), (y1, x1), each to c contiguous
//           floats (channels-innermost input). A corner outside the image points at a buffer of
//           at least c zeros, so it contributes exactly 0 whatever the input holds.
//   coef    4 weights per sample, with the v2 modulation mask already folded in.
//   out     row s at out + s * out_stride.
#pragma once
#include <cstddef>

namespace ce::native {

using DeformBilinearFn = void (*)(size_t n, size_t c, const float* const* corner,
                                  const float* coef, float* out, size_t out_stride);

void f32_deform_bilinear_16c__fma3(size_t n, size_t c, const float* const* corner,
                                   const float* coef, float* out, size_t out_stride);
void f32_deform_bilinear_16c__neon(size_t n, size_t c, const float* const* corner,
                                   const float* coef, float* out, size_t out_stride);

void f32_deform_bilinear_4c__scalar(size_t n, size_t c, const float* const* corner,
                                    const float* coef, float* out, size_t out_stride);

}  // namespace ce::native
