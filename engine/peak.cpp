#include "engine/peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "engine/cpu.h"
#include "engine/dispatch.h"

namespace ce {

double measure_fma_peak_gflops(ThreadPool& pool, int repeats, Isa isa) {
  const FmaPeakKernel probe = fma_peak_kernel(isa);
  if (!probe.fn) return 0.0;
  constexpr size_t kIters = 4'000'000;  // ~20 ms per thread at 3 GHz
  const int threads = pool.num_threads();
  double best = 0.0;
  std::atomic<float> sink{0.0f};
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(threads, [&](size_t) { sink = sink + probe.fn(kIters); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, threads * kIters * double(probe.flops_per_iteration) / s / 1e9);
  }
  return best;
}

}  // namespace ce
