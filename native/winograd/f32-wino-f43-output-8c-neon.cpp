#include "native/winograd/wino-neon.h"

namespace ce::native {

void f32_wino_f43_output__neon(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                               size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  using V = wino::Q2;
  wino::output<V, 4, 6, wino::AT6>(channels, m, ms, out, rs, ps, rows, cols, p);
}

}  // namespace ce::native
