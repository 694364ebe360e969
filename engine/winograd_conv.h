#pragma once
#include <memory>

#include "engine/conv.h"

namespace ce {

// Winograd F(m x m, 3 x 3), m in {2, 4, 6} (algorithms "winograd_f2", "winograd_f4",
// "winograd_f6"): 2D 3x3 convolutions with stride 1, any dilation (run as dilation^2
// interleaved dense convs), any padding and batch; grouped convs when every group has at least
// kWinogradMinGroupChannels input and output channels.
constexpr int64_t kWinogradMinGroupChannels = 16;
bool winograd_applies(const ConvShape& s);

// Estimated time of F(m x m, 3 x 3) divided by igemm's on the same shape, one thread (cost
// model fitted to measurements, see winograd_conv.cpp); +inf where m's error bound rules it out.
double winograd_relative_cost(const ConvShape& s, int m);

std::unique_ptr<ConvOp> make_winograd_conv(const ConvShape& s, int m, const float* weight,
                                           const float* bias, const Activation& act);

}  // namespace ce
