// FMA throughput probe (engine/peak.cpp): `iterations` steps of independent FMA chains, whose
// time gives the CPU's FP32 peak for the probe's vector width; returns a value derived from
// the chains so they are not optimised away.
#pragma once
#include <cstddef>

namespace ce::native {

using FmaPeakFn = float (*)(size_t iterations);

// 10 chains x 8 lanes x 2 flops per iteration.
constexpr size_t kFmaPeakFma3Flops = 10 * 8 * 2;
float f32_fma_peak__fma3(size_t iterations);
// 12 chains x 16 lanes x 2 flops per iteration.
constexpr size_t kFmaPeakAvx512fFlops = 12 * 16 * 2;
float f32_fma_peak__avx512f(size_t iterations);
// 12 chains x 4 lanes x 2 flops per iteration.
constexpr size_t kFmaPeakNeonFlops = 12 * 4 * 2;
float f32_fma_peak__neon(size_t iterations);

}  // namespace ce::native
