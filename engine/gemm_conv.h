#pragma once
#include <memory>

#include "engine/conv.h"

namespace ce {

// Pointwise convolution (1x1, stride 1, no padding; any groups, rank and pixel stride) as a
// packed GEMM straight on the channels-innermost input: the A rows are input pixels, read in
// place through the pixel stride (no indirection); images of one pixel are the rows of one
// GEMM. Also a kernel covering the whole unpadded, dense input (groups 1, one output pixel):
// each image is one GEMM row of taps x c_in.
bool gemm_applies(const ConvShape& s);

std::unique_ptr<ConvOp> make_gemm_conv(const ConvShape& s, const float* weight, const float* bias,
                                       const Activation& act);

}  // namespace ce
