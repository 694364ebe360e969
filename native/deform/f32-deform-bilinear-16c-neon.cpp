// Bilinear gather over channels: the 4-tap weighted gather of simd/neon-blend.h, 16 channels
// per step, then 4, then a lane-wise tail.
#include "native/deform/bilinear.h"
#include "native/simd/neon-blend.h"

namespace ce::native {

void f32_deform_bilinear_16c__neon(size_t n, size_t c, const float* const* corner,
                                   const float* coef, float* out, size_t out_stride) {
  for (size_t s = 0; s < n; ++s, corner += 4, coef += 4, out += out_stride)
    neon::blend_16c<4>(4, c, corner, coef, out);
}

}  // namespace ce::native
