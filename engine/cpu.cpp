#include "engine/cpu.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace ce {

bool cpu_has_avx2_fma() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}

namespace {
std::atomic<int>& isa_slot() {
  static std::atomic<int> slot([] {
    const char* env = std::getenv("CONVENGINE_ISA");
    if (env && std::strcmp(env, "scalar") == 0) return static_cast<int>(Isa::kScalar);
    return static_cast<int>(cpu_has_avx2_fma() ? Isa::kAvx2 : Isa::kScalar);
  }());
  return slot;
}
}  // namespace

Isa active_isa() { return static_cast<Isa>(isa_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) {
  if (isa == Isa::kAvx2 && !cpu_has_avx2_fma())
    throw std::invalid_argument("isa 'avx2' requested but this CPU lacks AVX2/FMA");
  isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) { return isa == Isa::kAvx2 ? "avx2" : "scalar"; }

Isa parse_isa(const std::string& name) {
  if (name == "scalar") return Isa::kScalar;
  if (name == "avx2") return Isa::kAvx2;
  throw std::invalid_argument("isa must be 'scalar' or 'avx2', got '" + name + "'");
}

}  // namespace ce
