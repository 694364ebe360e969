#pragma once
// Which instruction set the CPU has and which one the kernels run on (engine/dispatch.h picks
// the kernels for it). The levels are ordered: a CPU with one has every level below it.
#include <string>

namespace ce {

// kAvx2: AVX2 + FMA + F16C. kAvx512: AVX-512 F/BW/DQ/VL on top of kAvx2, with the OS saving
// the opmask and zmm state (XCR0 bits 5-7).
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

bool cpu_supports(Isa isa);
bool cpu_has_avx2_fma();  // cpu_supports(Isa::kAvx2)
Isa best_isa();           // the highest level cpu_supports()
// The instruction set kernels are chosen for. Defaults to best_isa(); the environment variable
// CONVENGINE_ISA=scalar|avx2|avx512 or set_isa() (tests) choose a lower one. An environment
// value above what the CPU supports, or one that names no level, falls back to best_isa().
Isa active_isa();
void set_isa(Isa isa);  // throws std::invalid_argument if the CPU lacks it
const char* isa_name(Isa isa);
Isa parse_isa(const std::string& name);  // throws std::invalid_argument for an unknown name

}  // namespace ce
