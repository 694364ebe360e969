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

// 1D Winograd F(9 - r, r) on the 8 points of F(6,3) (algorithm "winograd1d"): convs whose
// kernel is 1 on every axis but one, of extent r in 3..7 (1 x r, r x 1, 1D convs, r x 1 x 1),
// stride 1, any dilation and padding along that axis, no padding on the others; groups as
// above. Inception's 1x7 / 7x1 pairs run here (2 outputs per 8 transformed points: 1.75x fewer
// multiplies than direct for r = 7, 2.5x for r = 5).
bool winograd1d_applies(const ConvShape& s);

// 7x7 and 8x8 stride-2 convs, groups 1, any padding ("winograd_s2"): space-to-depth, then
// F(5 x 5, 4 x 4) on the 8 points (the ResNet stem).
bool winograd_s2_applies(const ConvShape& s);
double winograd_s2_relative_cost(const ConvShape& s);
std::unique_ptr<ConvOp> make_winograd_s2_conv(const ConvShape& s, const float* weight,
                                              const float* bias, const Activation& act);
double winograd1d_relative_cost(const ConvShape& s);
std::unique_ptr<ConvOp> make_winograd1d_conv(const ConvShape& s, const float* weight,
                                             const float* bias, const Activation& act);

}  // namespace ce
