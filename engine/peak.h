#pragma once

#include "engine/cpu.h"
#include "engine/thread_pool.h"

namespace ce {

// Measured FP32 FMA peak of the pool's threads with the vectors of `isa` (ymm for avx2, zmm for
// avx512), in GFLOP/s (best of `repeats`). 0 for scalar. The default is the CPU's best ISA,
// whatever ISA the kernels are forced to.
double measure_fma_peak_gflops(ThreadPool& pool, int repeats = 5, Isa isa = best_isa());

// Median time, in ns, for a cache line to go from one thread to another and back (two spinning
// threads, the caller and a new one, trading an atomic `round_trips` times per trial, 5 trials).
// What a parallel region pays per hand-off: on this project's 2-vCPU Zen 4 VM it was ~60 ns
// when the hypervisor put the vCPUs on one CCD and ~330-390 ns on two, and with it the 2-thread
// scaling of small networks (MobileNetV3-Small 1.83x vs 1.56x). 0 when no thread can start.
double measure_thread_round_trip_ns(int round_trips = 20000);

}  // namespace ce
