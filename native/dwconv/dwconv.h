// Direct depthwise convolution microkernels (channels innermost, any channel multiplier).
//
// Output channel oc reads input channel oc / M (M = channel multiplier). Kernels know nothing
// about images, padding or threads: the driver (engine/depthwise.cpp) hands them pointers and
// strides and they handle their own channel tails.
//
// Packed weights, one block per tile of kDwTile = 16 output channels (zero padded past the
// last channel):  bias[16], then for each tap t = ky * kw + kx (tap-major): w[16].
// A call covers `channels` output channels starting at a tile boundary; `w` points at the
// block of that first tile and successive tiles follow at a stride of 16 * (1 + taps).
//
// Channel multiplier M > 1 (params->mult set; every kernel handles it): params->mult points at
// the entry of the call's first 8-channel block.
// An entry (kDwMultEntry int32) describes output channels oc0..oc0+7 of block b, oc0 = 8 b:
//   [0..8)   perm: lane i reads input channel base + perm[i], perm[i] = (oc0 + i) / M - base
//   [8..16)  load mask: -1 where input channel base + l < c_in, else 0
//   [16]     base = oc0 / M, an absolute input channel
//   [17]     1 when M >= 2 and base + 4 <= c_in: the block reads only channels base..base+3
//            (perm[i] <= 3), so one 128-bit load serves it
// and input pointers then point at channel 0 of a pixel (not displaced by the call's first
// channel). With M == 1 (mult == nullptr) input pointers are displaced to the call's first
// channel like the output pointer.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ce::native {

constexpr size_t kDwTile = 16;
constexpr size_t kDwMultEntry = 24;

struct DwParams {
  float min;                     // output clamp (fused activation)
  float max;
  const int32_t* mult = nullptr;  // multiplier table (see above), nullptr when M == 1
  // AVX-512 row kernels: run their zmm strips on rows at any alignment, not only on rows at
  // 64-byte boundaries (the engine sets it where dispatch says such loads are cheap).
  bool any_alignment = false;
};

// Row kernel: `pixels` consecutive output pixels of one output row, every horizontal tap in
// bounds. rows[ky] (kh pointers) is the input of tap (ky, kx = 0) of output pixel 0; output
// pixel x reads rows[ky] + x * in_step + kx * in_dil (floats). Vertical padding is the
// driver's business: a padded row is a pointer into a zero row of sufficient length.
// Output pixel x is written at out + x * out_step.
using DwRowFn = void (*)(size_t channels, size_t pixels, const float* const* rows, size_t in_step,
                         size_t in_dil, size_t kh, size_t kw, const float* w, float* out,
                         size_t out_step, const DwParams* params);

// Indirect kernel (any geometry, used for border pixels): taps[x * ks + t] is the input pixel
// of tap t of output pixel x (a zero buffer of at least c_in + 16 floats for padding taps).
using DwIndFn = void (*)(size_t channels, size_t pixels, const float* const* taps, size_t ks,
                         const float* w, float* out, size_t out_step, const DwParams* params);

// AVX2 + FMA (files *-fma3.cpp). Every kernel handles any channel multiplier.
// 3x3, sliding window over input columns: needs in_step == in_dil (stride == dilation).
void f32_dwconv_3x3s1_8c__fma3(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params);
// 3x3, sliding window: needs in_step == 2 * in_dil (stride == 2 * dilation).
void f32_dwconv_3x3s2_8c__fma3(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params);
// 5x5 and 7x7, stride == dilation: row-sliding 8 channels x 8 pixels register block.
void f32_dwconv_5x5s1_8c8p__fma3(size_t channels, size_t pixels, const float* const* rows,
                                 size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                 const float* w, float* out, size_t out_step,
                                 const DwParams* params);
void f32_dwconv_7x7s1_8c8p__fma3(size_t channels, size_t pixels, const float* const* rows,
                                 size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                 const float* w, float* out, size_t out_step,
                                 const DwParams* params);
// 5x5, stride == 2 * dilation: row-sliding 8 channels x 8 pixels register block.
void f32_dwconv_5x5s2_8c8p__fma3(size_t channels, size_t pixels, const float* const* rows,
                                 size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                 const float* w, float* out, size_t out_step,
                                 const DwParams* params);
// 5x5, any stride and dilation: 8 channels x 8 pixels register block, taps unrolled.
void f32_dwconv_5x5_8c8p__fma3(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params);
// Any kh x kw, stride and dilation: 8 channels x 8 pixels register block.
void f32_dwconv_kxk_8c8p__fma3(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params);
void f32_dwconv_ind_32c__fma3(size_t channels, size_t pixels, const float* const* taps, size_t ks,
                              const float* w, float* out, size_t out_step, const DwParams* params);

// AVX-512 (files *-avx512f.cpp): the same algorithms on 16-channel strips (one zmm, one packed
// weight block), masked channel tails (a last strip of at most 8 channels on ymm); every kernel
// handles any multiplier in 16 lanes (one masked 8-channel load and a vpermps per input
// column). A row kernel takes a row whose first row pointer, output and strides are not all on
// 64-byte boundaries to its -fma3 twin (dwconv-avx512f.h: zmm loads there straddle cache
// lines); the indirect kernel always runs on zmm.
void f32_dwconv_3x3s1_16c__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params);
void f32_dwconv_3x3s2_16c__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params);
void f32_dwconv_5x5s1_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                     size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                     const float* w, float* out, size_t out_step,
                                     const DwParams* params);
void f32_dwconv_7x7s1_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                     size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                     const float* w, float* out, size_t out_step,
                                     const DwParams* params);
void f32_dwconv_5x5s2_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                     size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                     const float* w, float* out, size_t out_step,
                                     const DwParams* params);
void f32_dwconv_5x5_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params);
void f32_dwconv_kxk_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params);
void f32_dwconv_ind_64c__avx512f(size_t channels, size_t pixels, const float* const* taps,
                                 size_t ks, const float* w, float* out, size_t out_step,
                                 const DwParams* params);

// NEON (files *-neon.cpp, aarch64; dwconv-neon.h): the -fma3 algorithms on strips of 4 channels
// (one q register; 17-21 q registers live, no spills), the indirect kernel on 16-channel strips
// (4 q x 2 pixels = 8 sums); any multiplier through one 4-channel load and a TBL per q.
void f32_dwconv_3x3s1_4c__neon(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw,
                               const float* w, float* out, size_t out_step,
                               const DwParams* params);
void f32_dwconv_3x3s2_4c__neon(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw,
                               const float* w, float* out, size_t out_step,
                               const DwParams* params);
void f32_dwconv_5x5s1_4c8p__neon(size_t channels, size_t pixels, const float* const* rows,
                                 size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                 const float* w, float* out, size_t out_step,
                                 const DwParams* params);
void f32_dwconv_7x7s1_4c8p__neon(size_t channels, size_t pixels, const float* const* rows,
                                 size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                 const float* w, float* out, size_t out_step,
                                 const DwParams* params);
void f32_dwconv_5x5s2_4c8p__neon(size_t channels, size_t pixels, const float* const* rows,
                                 size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                 const float* w, float* out, size_t out_step,
                                 const DwParams* params);
void f32_dwconv_5x5_4c8p__neon(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw,
                               const float* w, float* out, size_t out_step,
                               const DwParams* params);
void f32_dwconv_kxk_4c8p__neon(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw,
                               const float* w, float* out, size_t out_step,
                               const DwParams* params);
void f32_dwconv_ind_16c__neon(size_t channels, size_t pixels, const float* const* taps, size_t ks,
                              const float* w, float* out, size_t out_step, const DwParams* params);

// Portable fallbacks: any kernel, stride, dilation and multiplier.
void f32_dwconv_kxk__scalar(size_t channels, size_t pixels, const float* const* rows,
                            size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                            float* out, size_t out_step, const DwParams* params);
void f32_dwconv_ind__scalar(size_t channels, size_t pixels, const float* const* taps, size_t ks,
                            const float* w, float* out, size_t out_step, const DwParams* params);

}  // namespace ce::native
