#pragma once
// Indirect-GEMM convolution ("igemm"): any conv as GEMMs over an indirection buffer of input
// pointers, one per (output pixel, tap); and "igemm_pruned", which skips taps that read only padding.
#include <cstdint>
#include <memory>

#include "engine/conv.h"

namespace ce {

// The outputs [lo, hi] along axis a (0 d, 1 h, 2 w) for which tap k reads inside the input
// (hi < lo: none).
struct Interval {
  int64_t lo, hi;
};
Interval tap_outputs(const ConvShape& s, int a, int64_t k);
// Share of the direct algorithm's tap-pixel products that read the input rather than padding.
double pruned_tap_fraction(const ConvShape& s);
// Non-transposed convs as one indirect GEMM per group of taps that reach the same box of
// outputs, over only that box ("igemm_pruned": dilated convs on maps not much larger than the
// dilation).
std::unique_ptr<ConvOp> make_igemm_pruned_conv(const ConvShape& s, const float* weight,
                                               const float* bias, const Activation& act);

// General convolution (any rank, stride, dilation, padding, groups) as indirect GEMM.
std::unique_ptr<ConvOp> make_igemm_conv(const ConvShape& s, const float* weight,
                                        const float* bias, const Activation& act);
// Transposed convolution by sub-convolution: one indirect GEMM per output phase
// (o mod stride), using only the taps that reach that phase, writing a strided output slice.
std::unique_ptr<ConvOp> make_igemm_deconv(const ConvShape& s, const float* weight,
                                          const float* bias, const Activation& act);

}  // namespace ce
