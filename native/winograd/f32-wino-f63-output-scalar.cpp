#include "native/winograd/wino-scalar.h"

namespace ce::native {

void f32_wino_f63_output__scalar(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                                 size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  wino_scalar::output_tile<6, 8>(kWinoAT6, channels, m, ms, out, rs, ps, rows, cols, p);
}

}  // namespace ce::native
