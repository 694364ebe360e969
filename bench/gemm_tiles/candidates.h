// The candidate tiles of bench/gemm_tiles: instantiations of the GEMM templates, one file per
// ISA so that each is compiled with its own flags (CMakeLists.txt) and main.cpp stays baseline.
#pragma once
#include <cstddef>
#include <vector>

#include "native/gemm/gemm.h"

namespace ce::bench {

struct Candidate {
  const char* name;
  native::GemmFn fn;
  size_t mr, nr;
};

std::vector<Candidate> fma3_candidates();
std::vector<Candidate> avx512f_candidates();

}  // namespace ce::bench
