// Winograd tile-transform benchmark: the input and output transforms of each variant
// (native/winograd/) at two ISAs, run over every tile of one image as engine/winograd_conv.cpp
// runs them (tile blocks of its size, [position][tile][channel] buffers at odd-line strides,
// output channels in chunks of 64, pad 1), one thread. Runs alternate between the two kernels
// (paired); printed: the median time of each and the median of the per-pair ratios.
// The -avx512f transforms dispatch.cpp uses were kept from this table.
//
//   build (after tools/dev-build.sh):
//     g++ -O2 -std=c++17 -I. bench/wino_transforms.cpp build/dev/libce_core.a -lpthread \
//         -o build/bench_wino_transforms
//   run: build/bench_wino_transforms [runs]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "engine/cpu.h"
#include "native/winograd/winograd.h"

namespace {

using namespace ce::native;

struct Variant {
  const char* name;
  size_t m, alpha;  // output tile, window (alpha x alpha, or alpha points for 1D)
  bool one_d;
  WinoInputFn in[2];
  WinoOutputFn out[2];
};

struct Layer {
  size_t c, hw;
};

// 64-byte aligned, as the engine's buffers are (engine/buffer.h).
template <class T>
struct Aligned {
  using value_type = T;
  Aligned() = default;
  template <class U>
  Aligned(const Aligned<U>&) {}
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const Aligned&) const { return true; }
  bool operator!=(const Aligned&) const { return false; }
};
using Floats = std::vector<float, Aligned<float>>;

size_t odd_lines(size_t n) { return ((n + 15) / 16 | 1) * 16; }

struct Tile {
  size_t oy, ox, y0, y1, x0, x1, rows, cols;
};

std::vector<Tile> tiles_of(const Variant& v, size_t H, size_t W) {
  std::vector<Tile> t;
  const long pad = 1;
  for (size_t oy = 0; oy < H; oy += v.one_d ? 1 : v.m)
    for (size_t ox = 0; ox < W; ox += v.m) {
      Tile tl{oy, ox, 0, 1, 0, 0, v.one_d ? 1 : std::min(v.m, H - oy), std::min(v.m, W - ox)};
      auto clip = [&](long o, long size, size_t& a, size_t& b) {
        const long lo = std::max<long>(0, pad - o), hi = std::min<long>(v.alpha, size + pad - o);
        a = static_cast<size_t>(lo);
        b = static_cast<size_t>(std::max(lo, hi));
      };
      if (!v.one_d) clip(static_cast<long>(oy), static_cast<long>(H), tl.y0, tl.y1);
      clip(static_cast<long>(ox), static_cast<long>(W), tl.x0, tl.x1);
      t.push_back(tl);
    }
  return t;
}

// One image: input transform of every tile block, then the output transform of each block's
// tiles per chunk of 64 channels. which: 0 or 1 (the ISA); part: 1 input, 2 output, 3 both.
struct Run {
  const Variant& v;
  size_t C, H, W, P, kc, occ, TB, vs, ms;
  std::vector<Tile> tiles;
  Floats img, out, V, M, bias;
  Run(const Variant& v_, size_t c, size_t hw) : v(v_), C(c), H(hw), W(hw) {
    P = v.one_d ? v.alpha : v.alpha * v.alpha;
    kc = (C + 7) / 8 * 8;
    occ = (std::min<size_t>(C, 64) + 15) / 16 * 16;
    tiles = tiles_of(v, H, W);
    const size_t per_tile = P * (kc + occ) * sizeof(float);
    TB = std::min(tiles.size(), std::max<size_t>(2, (512 * 1024) / (per_tile * 6)) * 6);
    vs = odd_lines(TB * kc);
    ms = odd_lines(TB * occ);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> d(-1, 1);
    img.resize(H * W * C);
    for (float& x : img) x = d(rng);
    out.assign(H * W * C, 0.0f);
    V.assign(P * vs, 0.0f);
    M.resize(P * ms);
    for (float& x : M) x = d(rng);
    bias.assign(C + 16, 0.5f);
  }
  void operator()(int which, int part) {
    WinoOutputParams p{};
    p.bias = bias.data();
    p.clamp = {-1e30f, 1e30f};
    const size_t row_stride = W * C;
    for (size_t t0 = 0; t0 < tiles.size(); t0 += TB) {
      const size_t nt = std::min(TB, tiles.size() - t0);
      if (part & 1)
        for (size_t k = 0; k < nt; ++k) {
          const Tile& tl = tiles[t0 + k];
          const long iy = static_cast<long>(tl.oy) - (v.one_d ? 0 : 1) + static_cast<long>(tl.y0);
          const long ix = static_cast<long>(tl.ox) - 1 + static_cast<long>(tl.x0);
          const float* src = tl.x0 < tl.x1 ? img.data() + (iy * W + ix) * C : img.data();
          v.in[which](C, src, row_stride, C, tl.y0, tl.y1, tl.x0, tl.x1, V.data() + k * kc, vs);
        }
      if (part & 2)
        for (size_t oc = 0; oc < C; oc += occ) {
          const size_t ncc = std::min(occ, C - oc);
          p.bias = bias.data() + oc;
          for (size_t k = 0; k < nt; ++k) {
            const Tile& tl = tiles[t0 + k];
            v.out[which](ncc, M.data() + k * occ, ms, out.data() + (tl.oy * W + tl.ox) * C + oc,
                         row_stride, C, tl.rows, tl.cols, &p);
          }
        }
    }
  }
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (!ce::cpu_supports(ce::Isa::kAvx512)) {
    std::printf("the CPU lacks AVX-512\n");
    return 0;
  }
  const int runs = argc > 1 ? std::atoi(argv[1]) : 41;
  const Variant variants[] = {
      {"F(2,3)", 2, 4, false, {f32_wino_f23_input__fma3, f32_wino_f23_input__avx512f},
       {f32_wino_f23_output__fma3, f32_wino_f23_output__avx512f}},
      {"F(4,3)", 4, 6, false, {f32_wino_f43_input__fma3, f32_wino_f43_input__avx512f},
       {f32_wino_f43_output__fma3, f32_wino_f43_output__avx512f}},
      {"F(6,3)", 6, 8, false, {f32_wino_f63_input__fma3, f32_wino_f63_input__avx512f},
       {f32_wino_f63_output__fma3, f32_wino_f63_output__avx512f}},
      {"F(5x5,4x4)", 5, 8, false, {f32_wino_f63_input__fma3, f32_wino_f63_input__avx512f},
       {f32_wino_f54_output__fma3, f32_wino_f54_output__avx512f}},
      {"1D F(2,7)", 2, 8, true, {f32_wino1d_a8_input__fma3, f32_wino1d_a8_input__avx512f},
       {f32_wino1d_f27_output__fma3, f32_wino1d_f27_output__avx512f}},
      {"1D F(4,5)", 4, 8, true, {f32_wino1d_a8_input__fma3, f32_wino1d_a8_input__avx512f},
       {f32_wino1d_f45_output__fma3, f32_wino1d_f45_output__avx512f}},
      {"1D F(6,3)", 6, 8, true, {f32_wino1d_a8_input__fma3, f32_wino1d_a8_input__avx512f},
       {f32_wino1d_f63_output__fma3, f32_wino1d_f63_output__avx512f}},
  };
  const Layer layers[] = {{64, 56}, {128, 28}, {256, 14}, {512, 7}, {37, 56}, {100, 28}, {17, 28}, {12, 112}};
  std::printf("1 thread, one image, pad 1; median of %d paired runs: fma3 (8c) ms, avx512f (16c) "
              "ms, median avx512f / fma3\n", runs);
  for (const Variant& v : variants) {
    for (const Layer& l : layers) {
      Run r(v, l.c, l.hw);
      for (int part : {1, 2}) {
        std::vector<double> t[2], ratio;
        for (int i = 0; i < 3; ++i) r(0, part), r(1, part);
        for (int i = 0; i < runs; ++i) {
          double s[2];
          for (int w : {i & 1, 1 - (i & 1)}) {
            const double t0 = now();
            r(w, part);
            s[w] = now() - t0;
            t[w].push_back(s[w]);
          }
          ratio.push_back(s[1] / s[0]);
        }
        for (auto* x : {&t[0], &t[1], &ratio}) std::sort(x->begin(), x->end());
        std::printf("%-11s %-6s %3zuch %3zux%-3zu  %8.3f %8.3f  %.3f\n", v.name,
                    part == 1 ? "input" : "output", l.c, l.hw, l.hw, 1e3 * t[0][runs / 2],
                    1e3 * t[1][runs / 2], ratio[runs / 2]);
      }
    }
  }
}
