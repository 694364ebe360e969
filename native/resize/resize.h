// Resize microkernels over channels-innermost pixels.
//
// ibilinear: one output row of bilinear interpolation. Output pixel p blends four input pixels
// in[4p + 0..3] = (top-left, top-right, bottom-left, bottom-right), each `channels` floats, with
// the column weights (w0, w1) = wx[2p], wx[2p + 1] and the row weights h0, h1:
//   out = h0 * (w0 * tl + w1 * tr) + h1 * (w0 * bl + w1 * br)      (torch's evaluation order)
// Output pixel p starts at out + p * out_stride (floats).
#pragma once
#include <cstddef>

namespace ce::native {

using IBilinearFn = void (*)(size_t pixels, size_t channels, const float* const* in,
                             const float* wx, float h0, float h1, float* out, size_t out_stride);

void f32_ibilinear_16c__avx2(size_t pixels, size_t channels, const float* const* in,
                             const float* wx, float h0, float h1, float* out, size_t out_stride);
void f32_ibilinear_16c__neon(size_t pixels, size_t channels, const float* const* in,
                             const float* wx, float h0, float h1, float* out, size_t out_stride);
void f32_ibilinear__scalar(size_t pixels, size_t channels, const float* const* in,
                           const float* wx, float h0, float h1, float* out, size_t out_stride);

}  // namespace ce::native
