// Depthwise 5x5, stride == 2 x dilation, any multiplier: row-sliding register block of 16
// channels x 8 pixels over 19 input columns per kernel row (dwconv-rowslide-avx512f.h, S = 2).
#include "native/dwconv/dwconv-rowslide-avx512f.h"

namespace ce::native {

void f32_dwconv_5x5s2_16c8p__avx512f(size_t channels, size_t pixels, const float* const* rows,
                                     size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                     const float* w, float* out, size_t out_step,
                                     const DwParams* params) {
  dw512::route<dw512::rowslide_row<5, 8, 2>, f32_dwconv_5x5s2_8c8p__fma3>(
      channels, pixels, rows, in_step, in_dil, kh, kw, w, out, out_step, params);
}

}  // namespace ce::native
