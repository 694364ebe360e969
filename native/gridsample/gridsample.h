// GridSample's weighted gather over channels (channels-innermost input and output):
//
//   for each of n samples s and each channel k < c:
//     out[s * out_stride + k] = sum over t < taps of coef[s * taps + t] * ptr[s * taps + t][k]
//
//   ptr    taps pointers per sample, each to c contiguous floats (a pixel of the input, or a
//          buffer of zeros for a tap outside it with padding_mode zeros).
//   coef   taps weights per sample (the product of the per-axis interpolation weights).
//   taps   1 (nearest: out is a copy of the one pixel, coef is not read), 4 (bilinear),
//          8 (trilinear) or 16 (bicubic); any other count is summed the same way.
#pragma once
#include <cstddef>

namespace ce::native {

using GridBlendFn = void (*)(size_t n, size_t taps, size_t c, const float* const* ptr,
                             const float* coef, float* out, size_t out_stride);

void f32_gridsample_blend_c16__fma3(size_t n, size_t taps, size_t c, const float* const* ptr,
                                    const float* coef, float* out, size_t out_stride);
void f32_gridsample_blend__scalar(size_t n, size_t taps, size_t c, const float* const* ptr,
                                  const float* coef, float* out, size_t out_stride);

}  // namespace ce::native
