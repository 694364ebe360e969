#pragma once

#include "engine/thread_pool.h"

namespace ce {

// Measured FP32 FMA peak of `threads` threads of the pool, in GFLOP/s (best of `repeats`).
// 0 when the CPU lacks AVX2/FMA.
double measure_fma_peak_gflops(ThreadPool& pool, int repeats = 5);

}  // namespace ce
