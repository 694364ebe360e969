#include "native/winograd/wino-fma3.h"

namespace ce::native {

namespace {
// A^T rows of F(6,3) (powers of 0, +-1, +-2, +-1/2), factorised (see kWinoAT6).
struct Out {
  static inline void tr(const __m256* m, __m256* y) {
    using namespace wino;
    const __m256 a = add(m[1], m[2]), b = sub(m[1], m[2]);
    const __m256 c = add(m[3], m[4]), d = sub(m[3], m[4]);
    const __m256 e = add(m[5], m[6]), f = sub(m[5], m[6]);
    y[0] = add(add(m[0], a), add(c, e));
    y[1] = fma(k(2), d, fma(k(0.5f), f, b));
    y[2] = fma(k(4), c, fma(k(0.25f), e, a));
    y[3] = fma(k(8), d, fma(k(0.125f), f, b));
    y[4] = fma(k(16), c, fma(k(0.0625f), e, a));
    y[5] = add(fma(k(32), d, fma(k(0.03125f), f, b)), m[7]);
  }
};
}  // namespace

void f32_wino_f63_output__fma3(size_t channels, const float* m, size_t ms, float* out, size_t rs,
                               size_t ps, size_t rows, size_t cols, const WinoOutputParams* p) {
  wino::output<6, 8, Out>(channels, m, ms, out, rs, ps, rows, cols, p);
}

}  // namespace ce::native
