#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/conv.h"

namespace ce {

// Relative indirection: entries hold offsets in floats from address 0 and the microkernel adds
// the input's address through a_offset, so one buffer serves every input pointer, image and
// group (native/gemm/igemm.h).
inline const float* indirection_offset(int64_t floats) {
  return reinterpret_cast<const float*>(static_cast<uintptr_t>(floats) * sizeof(float));
}
inline size_t addr_in_floats(const float* p) { return reinterpret_cast<uintptr_t>(p) / sizeof(float); }

// The indirection buffer of a (non-transposed) conv: for every tile of `mr` output pixels
// (the last tile padded by repeating the last pixel), ks = taps pointers per row, tap-major
// ([tile][tap][row]); a tap in the padding points at `zero`.
std::vector<const float*> conv_indirection(const ConvShape& s, size_t mr, const float* zero);

// General convolution (any rank, stride, dilation, padding, groups) as indirect GEMM.
std::unique_ptr<ConvOp> make_igemm_conv(const ConvShape& s, const float* weight,
                                        const float* bias, const Activation& act);
// Transposed convolution by sub-convolution: one indirect GEMM per output phase
// (o mod stride), using only the taps that reach that phase, writing a strided output slice.
std::unique_ptr<ConvOp> make_igemm_deconv(const ConvShape& s, const float* weight,
                                          const float* bias, const Activation& act);

}  // namespace ce
