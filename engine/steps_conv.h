// Plan steps of the convolution family: Conv / ConvTranspose / FusedConv (any ConvOp,
// engine/conv.h), DeformConv and LocalConv, on channels-last tensors.
#pragma once
#include <memory>
#include <vector>

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

// Replaces each run of three conv steps 1x1 -> depthwise -> 1x1 whose two intermediate tensors
// nothing else reads by one step computing them in row bands (the expanded tensor stays in the
// cache); the second and third steps stay in place, doing nothing, so step indices still
// match the compiled model's. Called by build_plan before Plan::finalize.
void fuse_conv_bands(std::vector<std::unique_ptr<Step>>& steps);

}  // namespace ce
