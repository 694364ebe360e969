#pragma once
#include <memory>

#include "engine/conv.h"

namespace ce {

// Grouped convolution with tiny groups (ResNeXt, ShuffleNet, RegNet: 2-8 output channels per
// group), vectorised across groups: each 8-lane block of output channels covers 8 / cout_g whole
// groups (native/gemm/gconv.h). Any rank, kernel, stride, dilation and padding, through the same
// kind of indirection buffer as IGEMM. Needs cout_g in {1, 2, 4, 8} and cin_g <= cout_g.
bool group_applies(const ConvShape& s);
std::unique_ptr<ConvOp> make_group_conv(const ConvShape& s, const float* weight, const float* bias,
                                        const Activation& act);

}  // namespace ce
