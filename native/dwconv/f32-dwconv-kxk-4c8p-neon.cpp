// Depthwise, any kh x kw, multiplier, stride and dilation: the register-blocked row algorithm
// (dwconv-blocked-neon.h) with run-time tap loops.
#include "native/dwconv/dwconv-blocked-neon.h"

namespace ce::native {

void f32_dwconv_kxk_4c8p__neon(size_t channels, size_t pixels, const float* const* rows,
                               size_t in_step, size_t in_dil, size_t kh, size_t kw, const float* w,
                               float* out, size_t out_step, const DwParams* params) {
  dwn::row<0, 0>(channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

}  // namespace ce::native
