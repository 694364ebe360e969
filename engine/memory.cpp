// Out-of-memory errors and the memory bound plans are checked against (engine/buffer.h).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/buffer.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace ce {

std::string format_bytes(double bytes) {
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  char buf[96];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%.0f bytes", bytes);
    return buf;
  }
  double v = bytes / 1024;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  std::snprintf(buf, sizeof buf, "%.0f bytes (%.1f %s)", bytes, v, units[u]);
  return buf;
}

void rethrow_out_of_memory(const std::string& context, const std::bad_alloc& e) {
  if (const auto* o = dynamic_cast<const OutOfMemory*>(&e))
    throw OutOfMemory(context + ": " + o->what(), o->bytes());
  throw OutOfMemory(context + ": out of memory", 0);
}

MemoryLimit memory_limit() {
  MemoryLimit b{1e300, "no known bound"};
  auto take = [&](double v, const char* what) {
    if (v > 0 && v < b.bytes) b = {v, what};
  };
#if defined(__unix__) || defined(__APPLE__)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) take(static_cast<double>(pages) * static_cast<double>(page), "physical memory");
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    take(static_cast<double>(rl.rlim_cur), "RLIMIT_AS");
#ifdef RLIMIT_DATA
  if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    take(static_cast<double>(rl.rlim_cur), "RLIMIT_DATA");
#endif
#endif
#ifdef __linux__
  // cgroup v2 (a container's memory limit); "max" when there is none
  std::ifstream f("/sys/fs/cgroup/memory.max");
  std::string s;
  if (f >> s && s != "max") take(std::strtod(s.c_str(), nullptr), "the cgroup's memory.max");
#endif
  if (const char* env = std::getenv("CONVENGINE_MEMORY_LIMIT")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && *end == '\0') take(v, "CONVENGINE_MEMORY_LIMIT");
  }
  return b;
}

}  // namespace ce
