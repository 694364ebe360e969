// Channel shuffle of one pixel with 4 groups: y[4i + g] = x[g * n + i] (st4, zip-neon.h).
#include "native/elementwise/elementwise.h"
#include "native/elementwise/zip-neon.h"

namespace ce::native {

void x32_zip_x4__neon(size_t n, size_t, const float* x, float* y) { neon::zip<4>(n, x, y); }

}  // namespace ce::native
