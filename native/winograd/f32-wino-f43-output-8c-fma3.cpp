#include "native/winograd/wino-fma3.h"

namespace ce::native {

namespace {
// A^T rows of F(4,3), factorised (see kWinoAT4).
struct Out {
  static inline void tr(const __m256* m, __m256* y) {
    using namespace wino;
    const __m256 a = add(m[1], m[2]), b = sub(m[1], m[2]);
    const __m256 c = add(m[3], m[4]), d = sub(m[3], m[4]);
    y[0] = add(add(m[0], a), c);
    y[1] = fma(k(2), d, b);
    y[2] = fma(k(4), c, a);
    y[3] = add(fma(k(8), d, b), m[5]);
  }
};
}  // namespace

void f32_wino_f43_output__fma3(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                               size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  wino::output<4, 6, Out>(channels, m, ms, out, rs, ps, rows, cols, p);
}

}  // namespace ce::native
