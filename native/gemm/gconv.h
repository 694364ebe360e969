// Grouped convolution with tiny groups (cout_g in {1, 2, 4, 8}, cin_g <= cout_g), vectorised
// ACROSS groups: a block of NR output channels NR b..NR b + NR - 1 (the kernel's lanes, 8 or 16)
// spans NR / cout_g whole groups, and their inputs are the win = NR * cin_g / cout_g
// consecutive input channels starting at (NR b / cout_g) * cin_g (at most NR: one vector load
// per pixel and tap). Lane l of the input term i (0 <= i < cin_g) is input channel
// (l / cout_g) * cin_g + i of that window.
//
//   a       ks * MR pointers (tap-major) like the IGEMM kernels (gemm/igemm.h): each points at
//           a pixel's channel 0 and is displaced by a_offset floats, except `zero`, which is
//           not (it must hold at least NR zeros; nor is it displaced by a later block's window
//           start). a_offset includes the window start of the first block. All MR pointers of a
//           tap may be read: rows i >= mr must be readable but never reach C (row mr - 1 is
//           written after them).
//   w       per NR-channel block: NR biases, then ks * cin_g rows of NR weights (tap-major).
//   nc      output channels from the first block; c + i * cm_stride is output pixel i.
//   in_valid  input channels available from the first window's start (a last window that
//           would run past the pixel's channels is read with a masked load): nothing past them
//           is read, the pixel stride may equal c_in at the end of a buffer.
// 1 <= mr <= MR, nc >= 1; only c[i * cm_stride + j], i < mr, j < nc, is written.
#pragma once
#include <cstddef>

#include "native/params.h"

namespace ce::native {

using GConvFn = void (*)(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                         const float* const* a, size_t a_offset, const float* zero,
                         const float* w, float* c, size_t cm_stride, size_t in_valid,
                         const ClampParams* params);

void f32_gconv_8p8c__fma3(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                          const float* const* a, size_t a_offset, const float* zero,
                          const float* w, float* c, size_t cm_stride, size_t in_valid,
                          const ClampParams* params);

// MR = 8, NR = 16.
void f32_gconv_8p16c__avx512f(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                              const float* const* a, size_t a_offset, const float* zero,
                              const float* w, float* c, size_t cm_stride, size_t in_valid,
                              const ClampParams* params);

void f32_gconv_8p8c__neon(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                          const float* const* a, size_t a_offset, const float* zero,
                          const float* w, float* c, size_t cm_stride, size_t in_valid,
                          const ClampParams* params);

void f32_gconv_8p8c__scalar(size_t mr, size_t nc, size_t ks, size_t cin_g, size_t cout_g,
                            const float* const* a, size_t a_offset, const float* zero,
                            const float* w, float* c, size_t cm_stride, size_t in_valid,
                            const ClampParams* params);

}  // namespace ce::native
