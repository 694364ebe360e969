// Depthwise 7x7, stride == dilation, any multiplier: row-sliding register block of 16 channels
// x 8 pixels (dwconv-rowslide-avx512f.h).
#include "native/dwconv/dwconv-rowslide-avx512f.h"

namespace ce::native {

void f32_dwconv_7x7s1_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                     size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                     const float* w, float* out, size_t out_step,
                                     const DwParams* params) {
  dw512::route<dw512::rowslide_row<7, 8>, f32_dwconv_7x7s1_8c8p__fma3>(
      channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

}  // namespace ce::native
