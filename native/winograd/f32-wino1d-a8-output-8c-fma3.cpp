#include "native/winograd/wino-fma3.h"

namespace ce::native {

#define CE_WINO1D_OUTPUT(M)                                                                     \
  void f32_wino1d_m##M##_output__fma3(size_t channels, const float* m, size_t ms, float* out,   \
                                      size_t, size_t ps, size_t, size_t cols,                  \
                                      const WinoOutputParams* p) {                             \
    wino::output1d<M, 8, wino::AT8<M>>(channels, m, ms, out, ps, cols, p);                     \
  }
CE_WINO1D_OUTPUT(2)
CE_WINO1D_OUTPUT(3)
CE_WINO1D_OUTPUT(4)
CE_WINO1D_OUTPUT(5)
CE_WINO1D_OUTPUT(6)
#undef CE_WINO1D_OUTPUT

}  // namespace ce::native
