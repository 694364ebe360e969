// Indirection buffers of the indirect-GEMM convolutions (igemm, igemm_rows, igemm_pruned, the
// transposed conv's phases, group): one pointer per (output pixel, tap) to the input pixel the
// tap reads, or to a zero buffer for a tap in the padding.
//
// Entries are relative: they hold offsets in floats from address 0 and the microkernel adds
// the input's address through a_offset (native/gemm/igemm.h), so one buffer serves every input
// pointer, image and group. The zero buffer's pointer is absolute (kernels compare it).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/conv.h"

namespace ce {

inline const float* indirection_offset(int64_t floats) {
  return reinterpret_cast<const float*>(static_cast<uintptr_t>(floats) * sizeof(float));
}
inline size_t addr_in_floats(const float* p) {
  return reinterpret_cast<uintptr_t>(p) / sizeof(float);
}

// Input coordinate along axis a (0 d, 1 h, 2 w) that kernel tap k of output o reads: the
// window's start plus the tap's step. Inside the input when in [0, s.in[a]), padding otherwise.
inline int64_t conv_window_start(const ConvShape& s, int a, int64_t o) {
  return o * s.stride[a] - s.pad_begin[a];
}
inline int64_t conv_tap_step(const ConvShape& s, int a, int64_t k) { return k * s.dilation[a]; }
inline int64_t conv_tap_coord(const ConvShape& s, int a, int64_t o, int64_t k) {
  return conv_window_start(s, a, o) + conv_tap_step(s, a, k);
}

// Offset in floats (from the image's first pixel, pixel stride s.in_ps()) of the input pixel
// that kernel tap (kd, kh, kw) of output pixel (od, oh, ow) reads, or -1 when it reads padding.
inline int64_t conv_tap_input(const ConvShape& s, int64_t od, int64_t oh, int64_t ow, int64_t kd,
                              int64_t kh, int64_t kw) {
  const int64_t id = conv_tap_coord(s, 0, od, kd), ih = conv_tap_coord(s, 1, oh, kh),
                iw = conv_tap_coord(s, 2, ow, kw);
  if (id < 0 || id >= s.in[0] || ih < 0 || ih >= s.in[1] || iw < 0 || iw >= s.in[2]) return -1;
  return ((id * s.in[1] + ih) * s.in[2] + iw) * s.in_ps();
}

// The same for a transposed conv: output o reads input (o + pad - k dilation) / stride along
// each axis when that is an integer inside the input, else -1.
inline int64_t deconv_tap_input(const ConvShape& s, int64_t od, int64_t oh, int64_t ow,
                                int64_t kd, int64_t kh, int64_t kw) {
  const int64_t nd = od + s.pad_begin[0] - kd * s.dilation[0];
  const int64_t nh = oh + s.pad_begin[1] - kh * s.dilation[1];
  const int64_t nw = ow + s.pad_begin[2] - kw * s.dilation[2];
  if (nd < 0 || nh < 0 || nw < 0 || nd % s.stride[0] || nh % s.stride[1] || nw % s.stride[2])
    return -1;
  const int64_t id = nd / s.stride[0], ih = nh / s.stride[1], iw = nw / s.stride[2];
  if (id >= s.in[0] || ih >= s.in[1] || iw >= s.in[2]) return -1;
  return ((id * s.in[1] + ih) * s.in[2] + iw) * s.in_ps();
}

// The indirection buffer of a (non-transposed) conv for a kernel of `mr` rows: for every tile
// of mr output pixels (the last tile padded by repeating the last pixel), s.taps() pointers per
// row, tap-major ([tile][tap][row]); a tap in the padding points at `zero`. With
// kernel[2] = 1, pad[2] = 0 and the input width of a W-padded copy it gives the pointers of
// the kernel *rows* (igemm_rows).
std::vector<const float*> conv_indirection(const ConvShape& s, size_t mr, const float* zero);

}  // namespace ce
