// Plan steps of the convolution family: Conv / ConvTranspose / FusedConv (any ConvOp,
// engine/conv.h), DeformConv and LocalConv, on channels-last tensors.
#pragma once
#include <memory>

#include "engine/conv.h"
#include "engine/deform.h"
#include "engine/local_conv.h"
#include "engine/plan.h"

namespace ce {

std::unique_ptr<Step> make_conv_step(std::unique_ptr<ConvOp> op, const TRef& in, const TRef& out,
                                     const TRef* residual);
std::unique_ptr<Step> make_deform_step(std::unique_ptr<DeformConvOp> op, const TRef& in,
                                       const TRef& offset, const TRef* mask, const TRef& out);
std::unique_ptr<Step> make_local_conv_step(std::unique_ptr<LocalConvOp> op, const TRef& in,
                                           const TRef& out);

}  // namespace ce
