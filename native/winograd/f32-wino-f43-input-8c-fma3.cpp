#include "native/winograd/wino-fma3.h"

namespace ce::native {

namespace {
// B^T rows of F(4,3), factorised (see kWinoBT4).
struct In {
  static inline void tr(const __m256* d, __m256* r) {
    using namespace wino;
    r[0] = fma(k(4), d[0], fnma(k(5), d[2], d[4]));
    r[1] = fnma(k(4), add(d[1], d[2]), add(d[3], d[4]));
    r[2] = fma(k(4), sub(d[1], d[2]), sub(d[4], d[3]));
    const __m256 a = sub(d[3], d[1]), b = sub(d[4], d[2]);
    r[3] = fma(k(2), a, b);
    r[4] = fnma(k(2), a, b);
    r[5] = fma(k(4), d[1], fnma(k(5), d[3], d[5]));
  }
};
}  // namespace

void f32_wino_f43_input__fma3(size_t channels, const float* in, size_t rs, size_t ps, size_t y0,
                              size_t y1, size_t x0, size_t x1, float* v, size_t vs) {
  wino::input<6, In>(channels, in, rs, ps, y0, y1, x0, x1, v, vs);
}

}  // namespace ce::native
