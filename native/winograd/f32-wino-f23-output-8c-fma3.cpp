#include "native/winograd/wino-fma3.h"

namespace ce::native {

namespace {
struct Out {
  static inline void tr(const __m256* m, __m256* y) {
    using namespace wino;
    y[0] = add(add(m[0], m[1]), m[2]);
    y[1] = sub(sub(m[1], m[2]), m[3]);
  }
};
}  // namespace

void f32_wino_f23_output__fma3(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                               size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  wino::output<2, 4, Out>(channels, m, ms, out, rs, ps, rows, cols, p);
}

}  // namespace ce::native
