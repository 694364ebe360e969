#include "engine/peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

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

double measure_thread_round_trip_ns(int round_trips) {
  if (std::thread::hardware_concurrency() < 2) return 0.0;
  constexpr int kStop = -1;
  const int n = std::max(1, round_trips);
  // A trial stops after 200 ms (a busy machine can deschedule the spinning peer for ms).
  const auto cap = std::chrono::milliseconds(200);
  std::vector<double> trials;
  for (int trial = 0; trial < 5; ++trial) {
    alignas(64) std::atomic<int> flag{0};
    std::thread peer;
    try {
      peer = std::thread([&] {
        for (int expect = 1;; expect += 2) {
          int v;
          while ((v = flag.load(std::memory_order_acquire)) != expect && v != kStop) {}
          if (v == kStop) return;
          flag.store(expect + 1, std::memory_order_release);
        }
      });
    } catch (const std::system_error&) {
      return 0.0;
    }
    const auto t0 = std::chrono::steady_clock::now();
    int done = 0;
    while (done < n) {
      flag.store(2 * done + 1, std::memory_order_release);
      while (flag.load(std::memory_order_acquire) != 2 * done + 2) {}
      ++done;
      if (done % 256 == 0 && std::chrono::steady_clock::now() - t0 > cap) break;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    flag.store(kStop, std::memory_order_release);
    peer.join();
    trials.push_back(s / done * 1e9);
  }
  std::sort(trials.begin(), trials.end());
  return trials[trials.size() / 2];
}

}  // namespace ce
