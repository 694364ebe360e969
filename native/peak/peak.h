// FMA throughput probe (engine/peak.cpp): `iterations` steps of independent FMA chains, whose
// time gives the CPU's FP32 peak; returns a value derived from the chains so they are not
// optimised away. 10 chains x 8 lanes x 2 flops per iteration.
#pragma once
#include <cstddef>

namespace ce::native {

constexpr size_t kFmaPeakFlopsPerIteration = 10 * 8 * 2;

using FmaPeakFn = float (*)(size_t iterations);

float f32_fma_peak__fma3(size_t iterations);

}  // namespace ce::native
