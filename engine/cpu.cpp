#include "engine/cpu.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
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

std::string features() {
  unsigned a, b, c, d;
  std::string out;
  auto add = [&out](bool has, const char* name) {
    if (has) out += out.empty() ? name : std::string(" ") + name;
  };
  if (!__get_cpuid(1, &a, &b, &c, &d)) return out;
  add(c & (1u << 28), "avx");
  add(c & (1u << 12), "fma");
  add(c & (1u << 29), "f16c");
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return out;
  const unsigned ecx7 = c, edx7 = d, ebx7 = b;
  add(ebx7 & (1u << 5), "avx2");
  add(ebx7 & (1u << 16), "avx512f");
  add(ebx7 & (1u << 17), "avx512dq");
  add(ebx7 & (1u << 30), "avx512bw");
  add(ebx7 & (1u << 31), "avx512vl");
  add(ecx7 & (1u << 11), "avx512_vnni");
  add(edx7 & (1u << 23), "avx512_fp16");
  add(edx7 & (1u << 24), "amx_tile");
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) add(a & (1u << 5), "avx512_bf16");
  return out;
}

bool detect_fast_unaligned_zmm() {
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
  const bool amd = b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;  // "AuthenticAMD"
  if (!amd || !__get_cpuid(1, &a, &b, &c, &d)) return false;
  const unsigned base = (a >> 8) & 0xF;
  const unsigned family = base == 0xF ? base + ((a >> 20) & 0xFF) : base;
  return family >= 0x1A;
}
#elif defined(__aarch64__)
Isa detect() { return Isa::kNeon; }  // Advanced SIMD is part of ARMv8-A

std::string features() {
  std::string out = "asimd";
#if defined(__linux__)
  // Bits of AT_HWCAP / AT_HWCAP2 (linux/arch/arm64/include/uapi/asm/hwcap.h).
  const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  const struct {
    unsigned long word, bit;
    const char* name;
  } bits[] = {{hw, 1ul << 9, "fphp"},   {hw, 1ul << 10, "asimdhp"}, {hw, 1ul << 20, "asimddp"},
              {hw2, 1ul << 13, "i8mm"}, {hw2, 1ul << 14, "bf16"},   {hw, 1ul << 22, "sve"}};
  for (const auto& b : bits)
    if (b.word & b.bit) out += std::string(" ") + b.name;
#endif
  return out;
}
#else
Isa detect() { return Isa::kScalar; }
std::string features() { return ""; }
#endif
#if !defined(__x86_64__) && !defined(__i386__)
bool detect_fast_unaligned_zmm() { return false; }
#endif

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot([] {
    Isa isa = best_isa();
    if (const char* env = std::getenv("CONVENGINE_ISA")) {
      try {
        const Isa want = parse_isa(env);
        if (cpu_supports(want)) isa = want;
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

bool cpu_supports(Isa isa) {
  const Isa best = best_isa();
  if (isa == Isa::kScalar || isa == best) return true;
  if (best == Isa::kNeon || isa == Isa::kNeon) return false;  // the other architecture
  return isa <= best;
}

std::string cpu_features() {
  static const std::string f = features();
  return f;
}

bool cpu_has_avx2_fma() { return cpu_supports(Isa::kAvx2); }

bool cpu_fast_unaligned_zmm() {
  static const bool fast = detect_fast_unaligned_zmm();
  return fast;
}

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
    case Isa::kNeon: return "neon";
    default: return "scalar";
  }
}

Isa parse_isa(const std::string& name) {
  if (name == "scalar") return Isa::kScalar;
  if (name == "avx2") return Isa::kAvx2;
  if (name == "avx512") return Isa::kAvx512;
  if (name == "neon") return Isa::kNeon;
  throw std::invalid_argument("isa must be 'scalar', 'avx2', 'avx512' or 'neon', got '" + name + "'");
}

}  // namespace ce
