// The one place where the CPU's instruction set picks the microkernels.
#pragma once
#include "engine/cpu.h"
#include "native/gemm/igemm.h"

namespace ce {

struct IGemmKernel {
  native::IGemmFn fn;
  size_t mr, nr;
  const char* name;
};

const IGemmKernel& igemm_kernel(Isa isa = active_isa());

}  // namespace ce
