// Depthwise with a channel multiplier M > 1, any kh x kw, stride and dilation. Vectorised over
// 8 output channels: their inputs are channels base .. base + 7 / M, loaded once per pixel and
// tap (masked at the last input channel) and spread to the output lanes with one vpermps, then
// the register-blocked row algorithm (dwconv-blocked-fma3.h) as for multiplier 1.
#include "native/dwconv/dwconv-blocked-fma3.h"

namespace ce::native {

void f32_dwconv_mult_8c8p__fma3(size_t channels, size_t pixels, const float* const* rows,
                                size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                const float* w, float* out, size_t out_step,
                                const DwParams* params) {
  dw::row<0, 0, true>(channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

}  // namespace ce::native
