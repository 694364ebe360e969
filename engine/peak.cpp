#include "engine/peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "engine/cpu.h"

namespace ce {

namespace native {
float f32_fma_peak__fma3(size_t iterations);
}

double measure_fma_peak_gflops(ThreadPool& pool, int repeats) {
  if (!cpu_has_avx2_fma()) return 0.0;
  constexpr size_t kIters = 4'000'000;  // ~20 ms per thread at 3 GHz
  const int threads = pool.num_threads();
  double best = 0.0;
  std::atomic<float> sink{0.0f};
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(threads, [&](size_t) { sink = sink + native::f32_fma_peak__fma3(kIters); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, threads * kIters * 10.0 * 8 * 2 / s / 1e9);
  }
  return best;
}

}  // namespace ce
