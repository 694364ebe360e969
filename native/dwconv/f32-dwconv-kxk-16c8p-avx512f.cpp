// Depthwise, any kh x kw, multiplier, stride and dilation: the register-blocked row algorithm
// on 16-channel strips (dwconv-blocked-avx512f.h) with run-time tap loops.
#include "native/dwconv/dwconv-blocked-avx512f.h"

namespace ce::native {

void f32_dwconv_kxk_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params) {
  dw512::route<dw512::row<0, 0>, f32_dwconv_kxk_8c8p__fma3>(
      channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

}  // namespace ce::native
