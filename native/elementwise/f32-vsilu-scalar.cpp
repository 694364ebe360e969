// silu(x) = x * sigmoid(x), sigmoid as in f32-vsigmoid-scalar.cpp.
#include "native/elementwise/elementwise.h"
#include "native/elementwise/scalar-common.h"

namespace ce::native {

void f32_vsilu__scalar(size_t n, const float* x, float* y, const ClampParams*) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * scalar::sigmoid(x[i]);
}

}  // namespace ce::native
