// Channel shuffle of one pixel with 2 groups: y[2i + g] = x[g * n + i] (st2, zip-neon.h).
#include "native/elementwise/elementwise.h"
#include "native/elementwise/zip-neon.h"

namespace ce::native {

void x32_zip_x2__neon(size_t n, size_t, const float* x, float* y) { neon::zip<2>(n, x, y); }

}  // namespace ce::native
