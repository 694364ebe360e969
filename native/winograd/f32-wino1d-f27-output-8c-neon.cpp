#include "native/winograd/wino-neon.h"

namespace ce::native {

void f32_wino1d_f27_output__neon(size_t channels, const float* m, size_t ms, float* out, size_t,
                                 size_t ps, size_t, size_t cols, const WinoOutputParams* p) {
  using V = wino::Q2;
  wino::output1d<V, 2, 8, wino::AT8<2>>(channels, m, ms, out, ps, cols, p);
}

}  // namespace ce::native
