#include "native/winograd/wino-fma3.h"

namespace ce::native {

namespace {
struct In {
  static inline void tr(const __m256* d, __m256* r) {
    using namespace wino;
    r[0] = sub(d[0], d[2]);
    r[1] = add(d[1], d[2]);
    r[2] = sub(d[2], d[1]);
    r[3] = sub(d[1], d[3]);
  }
};
}  // namespace

void f32_wino_f23_input__fma3(size_t channels, const float* in, size_t rs, size_t ps, size_t y0,
                              size_t y1, size_t x0, size_t x1, float* v, size_t vs) {
  wino::input<4, In>(channels, in, rs, ps, y0, y1, x0, x1, v, vs);
}

}  // namespace ce::native
