#pragma once
#include <memory>

#include "engine/conv.h"

namespace ce {

// "igemm_rows": indirect GEMM over kernel rows instead of taps, for groups == 1 and
// dilation_w == 1. In NHWC the kw taps of one kernel row are kw * c_in contiguous floats, so one
// row pointer per (kd, kh) replaces kw tap pointers: ks = kd * kh, kc = kw * c_in. Horizontal
// padding (and a pixel stride other than c_in) is handled by a W-padded copy of the input made
// per forward; vertical / depth padding rows point at the zero buffer. Pays off when c_in is
// small (ResNet stem 3->64 7x7, C3D stem): with kc = 3 the plain igemm spends more time on
// pointers than on FMAs.
bool igemm_rows_applies(const ConvShape& s);
std::unique_ptr<ConvOp> make_igemm_rows_conv(const ConvShape& s, const float* weight,
                                             const float* bias, const Activation& act);

}  // namespace ce
