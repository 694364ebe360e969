#include "native/winograd/wino-scalar.h"

namespace ce::native {

void f32_wino1d_f45_output__scalar(size_t channels, const float* m, size_t ms, float* out, size_t,
                                     size_t ps, size_t, size_t cols, const WinoOutputParams* p) {
  wino_scalar::output_1d<4>(channels, m, ms, out, ps, cols, p);
}

}  // namespace ce::native
