// Tile-shape benchmark of the GEMM microkernel templates (gemm-fma3.h, gemm-avx512f.h): each
// candidate MR x NR (candidates-<isa>.cpp) times a whole pointwise layer (M pixels x K x N
// channels, every tile, one thread), median of many runs, as GFLOP/s and as a share of the FMA
// peak of its vector width measured in the same run. engine/dispatch.cpp's GEMM tiles were
// picked from this table; candidates of an ISA the CPU lacks are skipped.
//
//   cmake --build build/c --target bench_gemm_tiles && build/c/bench/bench_gemm_tiles [runs]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/gemm_tiles/candidates.h"
#include "engine/cpu.h"
#include "native/peak/peak.h"

namespace {

using ce::native::ClampParams;
using ce::native::GemmFn;

struct Shape {
  size_t m, k, n;
  const char* what;
};

using ce::bench::Candidate;

double seconds(GemmFn fn, const Candidate& u, const Shape& s, const std::vector<float>& a,
               const std::vector<float>& w, std::vector<float>& c, int runs) {
  const ClampParams p{-1e30f, 1e30f};
  const size_t np = (s.n + u.nr - 1) / u.nr;
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < s.m; i += u.mr)
      fn(std::min(u.mr, s.m - i), s.n, s.k, a.data() + i * s.k, s.k, w.data(),
         c.data() + i * np * u.nr, np * u.nr, u.nr, false, &p, nullptr, 0);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double peak(ce::native::FmaPeakFn fn, size_t flops) {
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    volatile float sink = fn(2'000'000);
    (void)sink;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2e6 * flops / s / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const Shape shapes[] = {
      {3136, 256, 256, "n: 1x1 256->256 @56x56"}, {196, 576, 96, "f: MobileNetV2 project"},
      {784, 80, 80, "h: one group"},             {3136, 144, 24, "e: 144->24 @56x56"},
      {49, 960, 160, "MobileNetV2 7x7 project"},  {784, 32, 192, "MobileNetV2 expand 28x28"},
      {12544, 16, 96, "MobileNetV2 expand 112x112"}, {3136, 96, 24, "MobileNetV2 96->24 @56x56"},
      {784, 240, 40, "EfficientNet 240->40 @28x28"}, {196, 480, 120, "120 columns @14x14"},
      {12544, 16, 48, "MnasNet expand 112x112"},  {12544, 32, 16, "MobileNetV2 32->16 @112x112"}};
  std::vector<Candidate> cands;
  if (ce::cpu_supports(ce::Isa::kAvx2)) cands = ce::bench::fma3_candidates();
  const bool has512 = ce::cpu_supports(ce::Isa::kAvx512);
  if (has512)
    for (const Candidate& u : ce::bench::avx512f_candidates()) cands.push_back(u);
  const int runs = argc > 1 ? std::atoi(argv[1]) : 31;
  if (cands.empty()) {
    std::printf("the CPU lacks AVX2/FMA: no candidates\n");
    return 0;
  }
  const double p256 = peak(ce::native::f32_fma_peak__fma3, ce::native::kFmaPeakFma3Flops);
  const double p512 = has512 ? peak(ce::native::f32_fma_peak__avx512f, ce::native::kFmaPeakAvx512fFlops) : 0;
  std::printf("1 thread; FMA peak ymm %.1f GFLOP/s, zmm %.1f; median of %d runs; GFLOP/s (%% of "
              "the peak of its width)\n", p256, p512, runs);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (const Shape& s : shapes) {
    std::printf("%-28s %5zux%4zux%4zu\n", s.what, s.m, s.k, s.n);
    std::vector<float> a(s.m * s.k);
    for (float& x : a) x = d(rng);
    for (const Candidate& u : cands) {
      const size_t np = (s.n + u.nr - 1) / u.nr;
      std::vector<float> w(np * (s.k + 1) * u.nr);
      for (float& x : w) x = d(rng);
      std::vector<float> c(s.m * np * u.nr + 64);
      seconds(u.fn, u, s, a, w, c, 3);
      const double t = seconds(u.fn, u, s, a, w, c, runs);
      const double gf = 2.0 * s.m * s.k * s.n / t / 1e9;
      std::printf("  %-15s %7.1f (%3.0f%%)\n", u.name, gf, 100 * gf / (std::strstr(u.name, "avx512") ? p512 : p256));
    }
  }
}
