#pragma once

#include "engine/cpu.h"
#include "engine/thread_pool.h"

namespace ce {

// Measured FP32 FMA peak of the pool's threads with the vectors of `isa` (ymm for avx2, zmm for
// avx512), in GFLOP/s (best of `repeats`). 0 for scalar. The default is the CPU's best ISA,
// whatever ISA the kernels are forced to.
double measure_fma_peak_gflops(ThreadPool& pool, int repeats = 5, Isa isa = best_isa());

}  // namespace ce
