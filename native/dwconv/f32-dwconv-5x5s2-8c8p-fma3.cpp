// Depthwise 5x5, stride == 2 x dilation, any multiplier: row-sliding register block of 8
// channels x 8 pixels over 19 input columns per kernel row (dwconv-rowslide-fma3.h, S = 2).
#include "native/dwconv/dwconv-rowslide-fma3.h"

namespace ce::native {

void f32_dwconv_5x5s2_8c8p__fma3(size_t channels, size_t pixels, const float* const* rows,
                                 size_t in_step, size_t in_dil, size_t kh, size_t kw,
                                 const float* w, float* out, size_t out_step,
                                 const DwParams* params) {
  dw::rowslide_row<5, 8, 2>(channels, pixels, rows, in_step, in_dil, w, out, out_step, params);
}

}  // namespace ce::native
