#pragma once
#include <memory>

#include "engine/conv.h"

namespace ce {

// General convolution (any rank, stride, dilation, padding, groups) as indirect GEMM.
std::unique_ptr<ConvOp> make_igemm_conv(const ConvShape& s, const float* weight,
                                        const float* bias, const Activation& act);
// Transposed convolution by sub-convolution: one indirect GEMM per output phase
// (o mod stride), using only the taps that reach that phase, writing a strided output slice.
std::unique_ptr<ConvOp> make_igemm_deconv(const ConvShape& s, const float* weight,
                                          const float* bias, const Activation& act);

}  // namespace ce
