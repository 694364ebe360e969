#pragma once
#include <memory>

#include "engine/conv.h"

namespace ce {

// Direct depthwise convolution on channels-innermost tensors: 1D, 2D or 3D, groups == c_in, any channel
// multiplier (c_out = c_in * multiplier), any kernel, stride, dilation and padding.
bool depthwise_applies(const ConvShape& s);
std::unique_ptr<ConvOp> make_depthwise_conv(const ConvShape& s, const float* weight,
                                            const float* bias, const Activation& act);

}  // namespace ce
