// SqueezeExcite as one plan step (a graph pass fuses Mul(x, gate(linear2(act(linear1(
// GlobalAveragePool(x)))))) into it). Many channels on few pixels: two parallel regions over
// channel chunks (mean and fc1 K block; fc2 columns and gating) on the GEMM microkernels.
// Otherwise: the mean by the global-average driver split into pixel ranges, both linears as 1x1
// "gemm" convs over the images' means, the gating by the scale-shift kernel over pixel chunks.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/epilogue.h"
#include "engine/plan.h"

namespace ce {

// out = x * gate(W2 act(W1 mean(x) + b1) + b2), w1 (mid, c), w2 (c, mid); out may be x itself.
std::unique_ptr<Step> make_squeeze_excite_step(int64_t c, int64_t mid, const float* w1,
                                               const float* b1, const float* w2, const float* b2,
                                               const Activation& act, const Activation& gate,
                                               const TRef& in, const TRef& out);

}  // namespace ce
