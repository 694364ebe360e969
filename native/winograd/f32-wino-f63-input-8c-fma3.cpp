#include "native/winograd/wino-fma3.h"

namespace ce::native {

namespace {
// B^T rows of F(6,3) (points 0, +-1, +-2, +-1/2, inf), factorised (see kWinoBT6).
struct In {
  static inline void tr(const __m256* d, __m256* r) {
    using namespace wino;
    r[0] = fma(k(5.25f), sub(d[4], d[2]), sub(d[0], d[6]));
    r[7] = fma(k(5.25f), sub(d[3], d[5]), sub(d[7], d[1]));
    const __m256 t1 = fnma(k(4.25f), d[4], add(d[2], d[6]));
    const __m256 t2 = fnma(k(4.25f), d[3], add(d[1], d[5]));
    r[1] = add(t1, t2);
    r[2] = sub(t1, t2);
    const __m256 t3 = fma(k(0.25f), d[2], fnma(k(1.25f), d[4], d[6]));   // d6 + d2/4 - 5/4 d4
    const __m256 t4 = fma(k(0.5f), d[1], fnma(k(2.5f), d[3], add(d[5], d[5])));  // d1/2 - 5/2 d3 + 2 d5
    r[3] = add(t3, t4);
    r[4] = sub(t3, t4);
    const __m256 t5 = fma(k(4), fnma(k(1.25f), d[4], d[2]), d[6]);        // d6 + 4 d2 - 5 d4
    const __m256 t6 = fma(k(2), d[1], fnma(k(2.5f), d[3], _mm256_mul_ps(k(0.5f), d[5])));  // 2 d1 - 5/2 d3 + d5/2
    r[5] = add(t5, t6);
    r[6] = sub(t5, t6);
  }
};
}  // namespace

void f32_wino_f63_input__fma3(size_t channels, const float* in, size_t rs, size_t ps, size_t y0,
                              size_t y1, size_t x0, size_t x1, float* v, size_t vs) {
  wino::input<8, In>(channels, in, rs, ps, y0, y1, x0, x1, v, vs);
}

}  // namespace ce::native
