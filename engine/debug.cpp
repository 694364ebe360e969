#include "engine/debug.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace ce {

namespace {
std::atomic<bool>& flag() {
  static std::atomic<bool> on{[] {
    const char* v = std::getenv("CONVENGINE_DEBUG_NAN");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }()};
  return on;
}
}  // namespace

bool debug_nan() { return flag().load(std::memory_order_relaxed); }
void set_debug_nan(bool on) { flag().store(on); }

void poison(float* p, size_t n) {
  if (debug_nan()) std::fill_n(p, n, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace ce
