#pragma once
// The engine's thread pool (parallel_for over index ranges, exceptions carried to the caller)
// and the denormal-flushing scope its tasks run in.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ce {

// Sets FTZ/DAZ in MXCSR for its lifetime and restores the caller's mode afterwards.
class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;
 private:
  uint64_t saved_;
};

// A persistent pool: the calling thread plus (num_threads - 1) workers. Work items are indices
// split into num_threads contiguous ranges, one atomic counter each: a thread takes its own
// range in order, then helps with the others' (see ranges_). Callers should make each index a
// tile worth a few microseconds at least. A parallel_for issued while the pool is busy
// (another Python thread, or a nested call from inside a task) runs inline on the calling
// thread.
// After a job, workers spin (with pause) for up to CONVENGINE_SPIN_US microseconds (default
// 1000) before sleeping, so back-to-back parallel regions (the layers of a network) do not pay
// a futex wake-up each: on this workplace's VMs waking a sleeping vCPU took long enough that a
// 2.3 ms conv ran no faster on 2 threads than on 1 (bench/layers.py, layer a, before the spin).
// The caller, having run out of tasks, likewise spins before it sleeps on the last worker, and
// it never waits for a worker that had not yet joined (see ticket_).
class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The most threads a pool takes: set_num_threads refuses more (a typo such as 5000 would
  // otherwise start thousands of threads, or fail half way when the system runs out).
  static constexpr int kMaxThreads = 1024;

  static ThreadPool& global();
  static int default_num_threads();  // CONVENGINE_NUM_THREADS, else the CPUs; <= kMaxThreads

  int num_threads() const { return num_threads_; }
  // n < 1 counts as 1. Throws std::invalid_argument for n > kMaxThreads and std::runtime_error
  // when the system cannot start the threads; either way the pool keeps the threads it had.
  void set_num_threads(int n);

  // How long a spinning worker took to see the last jobs (ns, a running mean; 0 until
  // measured): one cache line's trip between cores. On the VMs this project runs on it flips
  // between 60-100 ns (the vCPUs share a cache) and 190-450 ns (they do not) within minutes;
  // work splits that make each thread read what another wrote ask far_cores().
  int64_t handoff_ns() const {
    const int64_t f = forced_handoff_ns_.load(std::memory_order_relaxed);
    return f >= 0 ? f : handoff_ns_.load(std::memory_order_relaxed);
  }
  bool far_cores() const { return handoff_ns() > kFarHandoffNs; }
  static constexpr int64_t kFarHandoffNs = 150;
  // Tests: handoff_ns() returns ns from now on (-1: the measured value again).
  void force_handoff_ns(int64_t ns) { forced_handoff_ns_.store(ns, std::memory_order_relaxed); }

  template <class F>
  void parallel_for(size_t n, const F& f) {
    run(n, [](const void* ctx, size_t i) { (*static_cast<const F*>(ctx))(i); }, &f);
  }
  template <class F>
  void parallel_for_2d(size_t n0, size_t n1, const F& f) {
    auto g = [&](size_t i) { f(i / n1, i % n1); };
    parallel_for(n0 * n1, g);
  }
  template <class F>
  void parallel_for_3d(size_t n0, size_t n1, size_t n2, const F& f) {
    auto g = [&](size_t i) { f(i / (n1 * n2), (i / n2) % n1, i % n2); };
    parallel_for(n0 * n1 * n2, g);
  }

 private:
  using TaskFn = void (*)(const void*, size_t);
  void run(size_t n, TaskFn fn, const void* ctx);
  void start_workers(int n);
  void stop_workers();
  void worker_loop(uint64_t seen, size_t self);
  void drain(size_t self);

  // ticket_: generation << 16 | kClosed | number of workers inside the current job. A worker
  // enters a job (CAS +1) only while it is open; the caller closes it once every task has been
  // claimed and then waits only for workers that entered. A worker that wakes late (descheduled
  // vCPU, busy core) finds the job closed and skips it, so it never delays the caller.
  static constexpr uint64_t kClosed = 1u << 15;
  static constexpr uint64_t kCountMask = kClosed - 1;

  int num_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex busy_;  // held by the thread that owns the current parallel region

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<bool> stop_{false};
  TaskFn fn_ = nullptr;
  const void* ctx_ = nullptr;
  std::atomic<int64_t> published_ns_{0};  // steady clock when the current job was issued
  std::atomic<int64_t> handoff_ns_{0};
  std::atomic<int64_t> forced_handoff_ns_{-1};
  std::atomic<bool> failed_{false};  // a task of the current job threw
  std::exception_ptr error_;         // its exception (guarded by mu_)
  // Thread t (0 = the caller) first claims the tasks of ranges_[t], a contiguous 1/num_threads
  // share, in order, then those left in the other ranges. Consecutive steps that split their
  // output the same way thus keep each part of a tensor on the core (and in the L2) that
  // produced it. Measured on Zen 3, 2 threads, against one shared counter (paired runs in
  // separate processes): flattened_cnn -8%, mobilenet_v3_small -11%, mobilenet_v2 -7%,
  // resnet18 -3%, mobilenet_v1 -1%.
  struct alignas(64) Range {
    std::atomic<size_t> next{0};
    size_t end = 0;
  };
  std::unique_ptr<Range[]> ranges_;
};

}  // namespace ce
