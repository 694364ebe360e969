// Channel shuffle of one pixel with 3 groups: y[3i + g] = x[g * n + i] (st3, zip-neon.h).
#include "native/elementwise/elementwise.h"
#include "native/elementwise/zip-neon.h"

namespace ce::native {

void x32_zip_x3__neon(size_t n, size_t, const float* x, float* y) { neon::zip<3>(n, x, y); }

}  // namespace ce::native
