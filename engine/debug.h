// Poison mode, for tests: with CONVENGINE_DEBUG_NAN=1 in the environment (or set_debug_nan(true))
// every engine buffer is filled with NaN when it is allocated, and every plan run fills its
// arena and output arrays with NaN before the first step, so an output element a kernel never
// writes comes out as NaN instead of whatever the memory held before.
#pragma once
#include <cstddef>

namespace ce {

bool debug_nan();
void set_debug_nan(bool on);
// Fills n floats with a quiet NaN when poison mode is on.
void poison(float* p, size_t n);

}  // namespace ce
