// sigmoid(x), the same algorithm as f32-vsigmoid-avx2.cpp with a two-constant range reduction
// (no FMA); same accuracy class (see scalar-common.h).
#include "native/elementwise/elementwise.h"
#include "native/elementwise/scalar-common.h"

namespace ce::native {

void f32_vsigmoid__scalar(size_t n, const float* x, float* y, const ClampParams*) {
  for (size_t i = 0; i < n; ++i) y[i] = scalar::sigmoid(x[i]);
}

}  // namespace ce::native
