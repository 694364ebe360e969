#include "engine/cpu.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace ce {

namespace {

#if defined(__x86_64__) || defined(__i386__)
// XCR0: which register state the OS saves on a context switch.
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

Isa detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::kScalar;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28),
             f16c = c & (1u << 29);
  if (!osxsave || !avx) return Isa::kScalar;
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return Isa::kScalar;  // SSE (1) and ymm upper halves (2)
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::kScalar;
  const bool avx2 = b & (1u << 5);
  if (!(avx2 && fma && f16c)) return Isa::kScalar;
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) &&
                      (b & (1u << 31));  // F, DQ, BW, VL
  if (avx512 && (xcr0 & 0xE0) == 0xE0) return Isa::kAvx512;  // opmask, zmm0-15 hi, zmm16-31
  return Isa::kAvx2;
}
#else
Isa detect() { return Isa::kScalar; }
#endif

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot([] {
    Isa isa = best_isa();
    if (const char* env = std::getenv("CONVENGINE_ISA")) {
      try {
        const Isa want = parse_isa(env);
        if (want < isa) isa = want;
      } catch (const std::invalid_argument&) {
      }
    }
    return static_cast<int>(isa);
  }());
  return slot;
}

}  // namespace

Isa best_isa() {
  static const Isa best = detect();
  return best;
}

bool cpu_supports(Isa isa) { return isa <= best_isa(); }

bool cpu_has_avx2_fma() { return cpu_supports(Isa::kAvx2); }

Isa active_isa() { return static_cast<Isa>(isa_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) {
  if (!cpu_supports(isa))
    throw std::invalid_argument(std::string("isa '") + isa_name(isa) +
                                "' requested but this CPU supports only up to '" +
                                isa_name(best_isa()) + "'");
  isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "scalar";
  }
}

Isa parse_isa(const std::string& name) {
  if (name == "scalar") return Isa::kScalar;
  if (name == "avx2") return Isa::kAvx2;
  if (name == "avx512") return Isa::kAvx512;
  throw std::invalid_argument("isa must be 'scalar', 'avx2' or 'avx512', got '" + name + "'");
}

}  // namespace ce
