#pragma once
// Which instruction set the CPU has and which one the kernels run on (engine/dispatch.h picks
// the kernels for it).
#include <string>

namespace ce {

enum class Isa { kScalar = 0, kAvx2 = 1 };

bool cpu_has_avx2_fma();
// The instruction set kernels are chosen for. Defaults to the best the CPU supports; the
// environment variable CONVENGINE_ISA=scalar or set_isa() (tests) force the portable fallback.
Isa active_isa();
void set_isa(Isa isa);  // throws std::invalid_argument if the CPU lacks it
const char* isa_name(Isa isa);
Isa parse_isa(const std::string& name);

}  // namespace ce
