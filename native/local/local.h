// Locally connected (unshared-weight) convolution microkernels, for ONE output position.
//
// At a position the op is a matrix-vector product per image: the position's weights, in the
// public layout (c_out rows of kc = c_in * kh * kw weights, (c_in, kh, kw) order), times the
// image's input patch in the same order. That layout is already what a kernel vectorising over
// the reduction wants, so weights are never repacked (the op is bound by streaming them).
//
//   c[i * cm_stride + o] = clamp(bias[o] + sum_k w[o * w_stride + k] * a[i][k])
//       for images i < n and output channels o < nc
//
//   a     n pointers, a[i] = image i's patch (kc floats; padding taps hold zeros)
//   w     row o at w + o * w_stride, kc floats
//   bias  nc floats
//   c     image i's nc outputs at c + i * cm_stride (contiguous: channels-innermost output)
// The kernel loops over output channels and, inside, over blocks of images, so the weights are
// one sequential stream loaded from memory once for the whole batch (a row of kc floats stays
// in L1 while the images' patches pass over it).
#pragma once
#include <cstddef>

#include "native/params.h"

namespace ce::native {

using LocalConvFn = void (*)(size_t n, size_t nc, size_t kc, const float* const* a,
                             const float* w, size_t w_stride, const float* bias, float* c,
                             size_t cm_stride, const ClampParams* params);

void f32_local_dot_1x4__fma3(size_t n, size_t nc, size_t kc, const float* const* a,
                             const float* w, size_t w_stride, const float* bias, float* c,
                             size_t cm_stride, const ClampParams* params);

void f32_local_dot_1x4__neon(size_t n, size_t nc, size_t kc, const float* const* a,
                             const float* w, size_t w_stride, const float* bias, float* c,
                             size_t cm_stride, const ClampParams* params);

void f32_local_dot_1x4__scalar(size_t n, size_t nc, size_t kc, const float* const* a,
                               const float* w, size_t w_stride, const float* bias, float* c,
                               size_t cm_stride, const ClampParams* params);

}  // namespace ce::native
