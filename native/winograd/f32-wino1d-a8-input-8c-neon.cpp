#include "native/winograd/wino-neon.h"

namespace ce::native {

void f32_wino1d_a8_input__neon(size_t channels, const float* in, size_t, size_t ps, size_t y0,
                               size_t y1, size_t x0, size_t x1, float* v, size_t vs) {
  using V = wino::Q2;
  wino::input1d<V, 8, wino::BT8>(channels, in, ps, y0, y1, x0, x1, v, vs);
}

}  // namespace ce::native
