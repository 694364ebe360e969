// GridSample gather: the weighted gather of simd/neon-blend.h per sample (16 channels per
// step, then 4, then a lane-wise tail), the common tap counts fixed at compile time; nearest
// (1 tap) copies.
#include <cstring>

#include "native/gridsample/gridsample.h"
#include "native/simd/neon-blend.h"

namespace ce::native {

void f32_gridsample_blend_16c__neon(size_t n, size_t taps, size_t c, const float* const* ptr,
                                    const float* coef, float* out, size_t out_stride) {
  for (size_t s = 0; s < n; ++s, ptr += taps, coef += taps, out += out_stride) {
    switch (taps) {
      case 1: std::memcpy(out, ptr[0], c * sizeof(float)); break;
      case 4: neon::blend_16c<4>(taps, c, ptr, coef, out); break;
      case 8: neon::blend_16c<8>(taps, c, ptr, coef, out); break;
      case 16: neon::blend_16c<16>(taps, c, ptr, coef, out); break;
      default: neon::blend_16c<0>(taps, c, ptr, coef, out); break;
    }
  }
}

}  // namespace ce::native
