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
#include <cstdint>

namespace ce::native {

using GridBlendFn = void (*)(size_t n, size_t taps, size_t c, const float* const* ptr,
                             const float* coef, float* out, size_t out_stride);

void f32_gridsample_blend_16c__fma3(size_t n, size_t taps, size_t c, const float* const* ptr,
                                    const float* coef, float* out, size_t out_stride);
void f32_gridsample_blend_16c__neon(size_t n, size_t taps, size_t c, const float* const* ptr,
                                    const float* coef, float* out, size_t out_stride);
void f32_gridsample_blend__scalar(size_t n, size_t taps, size_t c, const float* const* ptr,
                                  const float* coef, float* out, size_t out_stride);

// One output row of a 2-D GridSample with few channels (c <= 8), linear or nearest, padding
// zeros or border, vectorised over the samples (8 at a time, the pixels fetched by gathers):
// blending per sample over c < 8 channels left the vector lanes empty. Sample s reads grid
// coordinates x = g[s * g_step], y = g[s * g_step + g_coord] and writes its c channels at
// out + s * out_ps. Coordinates as onnxruntime computes them in float32; a NaN coordinate
// gives NaN.
struct GridRow2d {
  const float* img;   // channels-last image: pixel (y, x) at img + (y * w + x) * ps
  int64_t h, w, ps;
  const float* g;
  int64_t g_step, g_coord;
  size_t n, c;
  float* out;
  int64_t out_ps;
  bool linear, border, align;
};

using GridRow2dFn = void (*)(const GridRow2d& r);

void f32_gridsample_2d_8c__fma3(const GridRow2d& r);
void f32_gridsample_2d_8c__neon(const GridRow2d& r);
void f32_gridsample_2d_8c__scalar(const GridRow2d& r);

}  // namespace ce::native
