// silu(x) = x * sigmoid(x), sigmoid as in f32-vsigmoid-neon.cpp (one more rounding).
#include "native/elementwise/elementwise.h"
#include "native/elementwise/neon-common.h"

namespace ce::native {

void f32_vsilu__neon(size_t n, const float* x, float* y, const ClampParams*) {
  neon::map(n, x, y, [](float32x4_t v) { return vmulq_f32(v, neon::sigmoid(v)); });
}

}  // namespace ce::native
