// Tile-shape benchmark of the GEMM microkernel templates (gemm-fma3.h, gemm-avx512f.h): each
// candidate MR x NR times a whole pointwise layer (M pixels x K x N channels, every tile, one
// thread), median of many runs, as GFLOP/s and as a share of the FMA peak of its vector width
// measured in the same run. The tiles dispatch.cpp chooses were picked from this table.
//
//   build: cmake --build build/c --target bench_gemm_tiles; run: build/c/bench_gemm_tiles
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu.h"
#include "native/gemm/gemm-avx512f.h"
#include "native/gemm/gemm-fma3.h"
#include "native/peak/peak.h"

namespace {

using ce::native::ClampParams;
using ce::native::GemmFn;

struct Shape {
  size_t m, k, n;
  const char* what;
};

struct Candidate {
  const char* name;
  GemmFn fn;
  size_t mr, nr;
  bool avx512;
};

template <size_t MR, size_t NV>
void fma3(size_t mr, size_t nc, size_t kc, const float* a, size_t as, const float* w, float* c,
          size_t cms, size_t cns, bool acc, const ClampParams* p) {
  ce::native::gemm_fma3<MR, NV, true>(mr, nc, kc, a, as, w, c, cms, cns, acc, p);
}
template <size_t MR, size_t NV>
void avx512(size_t mr, size_t nc, size_t kc, const float* a, size_t as, const float* w, float* c,
            size_t cms, size_t cns, bool acc, const ClampParams* p) {
  ce::native::gemm_avx512f<MR, NV, true>(mr, nc, kc, a, as, w, c, cms, cns, acc, p);
}

double seconds(GemmFn fn, const Candidate& u, const Shape& s, const std::vector<float>& a,
               const std::vector<float>& w, std::vector<float>& c, int runs) {
  const ClampParams p{-1e30f, 1e30f};
  const size_t np = (s.n + u.nr - 1) / u.nr;
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < s.m; i += u.mr)
      fn(std::min(u.mr, s.m - i), s.n, s.k, a.data() + i * s.k, s.k, w.data(),
         c.data() + i * np * u.nr, np * u.nr, u.nr, false, &p);
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
      {12544, 16, 96, "MobileNetV2 expand 112x112"}};
  std::vector<Candidate> cands = {
      {"6x16-fma3", fma3<6, 2>, 6, 16, false},     {"4x24-fma3", fma3<4, 3>, 4, 24, false},
      {"7x16-avx512f", avx512<7, 1>, 7, 16, true}, {"8x16-avx512f", avx512<8, 1>, 8, 16, true},
      {"12x16-avx512f", avx512<12, 1>, 12, 16, true}, {"14x16-avx512f", avx512<14, 1>, 14, 16, true},
      {"6x32-avx512f", avx512<6, 2>, 6, 32, true}, {"8x32-avx512f", avx512<8, 2>, 8, 32, true},
      {"12x32-avx512f", avx512<12, 2>, 12, 32, true}, {"14x32-avx512f", avx512<14, 2>, 14, 32, true},
      {"4x48-avx512f", avx512<4, 3>, 4, 48, true},  {"6x48-avx512f", avx512<6, 3>, 6, 48, true},
      {"6x64-avx512f", avx512<6, 4>, 6, 64, true}};
  const bool has512 = ce::cpu_supports(ce::Isa::kAvx512);
  const int runs = argc > 1 ? std::atoi(argv[1]) : 31;
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
      if (u.avx512 && !has512) continue;
      const size_t np = (s.n + u.nr - 1) / u.nr;
      std::vector<float> w(np * (s.k + 1) * u.nr);
      for (float& x : w) x = d(rng);
      std::vector<float> c(s.m * np * u.nr + 64);
      seconds(u.fn, u, s, a, w, c, 3);
      const double t = seconds(u.fn, u, s, a, w, c, runs);
      const double gf = 2.0 * s.m * s.k * s.n / t / 1e9;
      std::printf("  %-15s %7.1f (%3.0f%%)\n", u.name, gf, 100 * gf / (u.avx512 ? p512 : p256));
    }
  }
}
