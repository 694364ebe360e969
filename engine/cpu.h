#pragma once
// Which instruction set the CPU has and which one the kernels run on (engine/dispatch.h picks
// the kernels for it). The levels are ordered within an architecture, and a CPU with one has
// every level below it: x86-64 kScalar < kAvx2 < kAvx512; aarch64 kScalar < kNeon.
#include <string>

namespace ce {

// kAvx2: AVX2 + FMA + F16C. kAvx512: AVX-512 F/BW/DQ/VL on top of kAvx2, with the OS saving
// the opmask and zmm state (XCR0 bits 5-7). kNeon: ARMv8-A Advanced SIMD (baseline on aarch64).
// Compare levels with >= only within one architecture (dispatch.cpp keeps them apart).
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kNeon = 3 };

bool cpu_supports(Isa isa);
bool cpu_has_avx2_fma();  // cpu_supports(Isa::kAvx2)
Isa best_isa();           // the highest level cpu_supports()
// The instruction set kernels are chosen for. Defaults to best_isa(); the environment variable
// CONVENGINE_ISA=scalar|avx2|avx512|neon or set_isa() (tests) choose a lower one. An environment
// value the CPU does not support, or one that names no level, falls back to best_isa().
Isa active_isa();
void set_isa(Isa isa);  // throws std::invalid_argument if the CPU lacks it
const char* isa_name(Isa isa);
Isa parse_isa(const std::string& name);  // throws std::invalid_argument for an unknown name
// The CPU features behind the levels and those later kernels may use, space separated, as
// Linux names them (x86: "avx2 fma f16c avx512f ..."; aarch64, from getauxval(AT_HWCAP):
// "asimd fphp asimdhp asimddp i8mm bf16 sve").
std::string cpu_features();
// Whether a zmm load that crosses a cache line costs no more than the two ymm loads it
// replaces: AMD family 0x1A (Zen 5) and later, whose load paths are 512 bits wide. On Zen 4
// (0x19) misaligned zmm rows ran 3-13% slower than the ymm kernels (depthwise); on Intel not
// measured, so false.
bool cpu_fast_unaligned_zmm();

}  // namespace ce
