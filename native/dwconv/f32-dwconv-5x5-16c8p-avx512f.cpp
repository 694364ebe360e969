// Depthwise 5x5, any multiplier, stride and dilation: the register-blocked row algorithm on
// 16-channel strips (dwconv-blocked-avx512f.h) with the 25 taps unrolled at compile time.
#include "native/dwconv/dwconv-blocked-avx512f.h"

namespace ce::native {

void f32_dwconv_5x5_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                   size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                   const float* w, float* out, size_t out_step,
                                   const DwParams* params) {
  dw512::route<dw512::row<5, 5>, f32_dwconv_5x5_8c8p__fma3>(
      channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

}  // namespace ce::native
