#pragma once
#include <memory>

#include "engine/conv.h"

namespace ce {

// Pointwise convolution (1x1, stride 1, no padding; any groups, rank and pixel stride) as a
// packed GEMM straight on the channels-innermost input: the A rows are input pixels, read in
// place through the pixel stride (no indirection).
bool gemm_applies(const ConvShape& s);

// Whether two views' memory ranges overlap (a residual given as the output itself).
inline bool views_overlap(const TensorView& a, const TensorView& b) {
  return a.data < b.data + b.n * b.image_stride() && b.data < a.data + a.n * a.image_stride();
}
std::unique_ptr<ConvOp> make_gemm_conv(const ConvShape& s, const float* weight, const float* bias,
                                       const Activation& act);

}  // namespace ce
