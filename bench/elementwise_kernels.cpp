// Paired A/B benchmark of the memory-bound kernels, AVX2 against AVX-512: the conv epilogue,
// the activations, scale-shift, pooling, resize, transpose and the element-wise math. Each case
// runs both kernels alternately on the same buffers (one thread), each timing a batch of calls
// of at least ~50 us, and reports the median time of each and the median of the paired ratios
// avx512f / avx2, at an L1-resident, an L2-resident and a DRAM-sized working set. dispatch.cpp's
// choices for these families come from this table.
//
//   build: cmake --build build/dev --target ce_core, then
//   g++ -O2 -std=c++17 -I. bench/elementwise_kernels.cpp build/dev/libce_core.a -lpthread
//       -o build/bench_elementwise && build/bench_elementwise [filter]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "native/elementwise/elementwise.h"
#include "native/elementwise/math.h"
#include "native/layout/transpose.h"
#include "native/pool/pool.h"
#include "native/resize/resize.h"

using namespace ce::native;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(const std::function<void()>& f, int reps) {
  const auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(Clock::now() - t0).count() / reps;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

const char* g_filter = nullptr;

// Times a (avx2) and b (avx512f) alternately; prints us per call and the paired ratio b / a.
void pair(const std::string& name, const std::string& size, const std::function<void()>& a,
          const std::function<void()>& b) {
  if (g_filter && name.find(g_filter) == std::string::npos) return;
  a();
  b();
  const double once = std::max(seconds(a, 1), 1e-8);
  const int reps = std::max(1, static_cast<int>(50e-6 / once));
  std::vector<double> ta, tb, ratio;
  for (int k = 0; k < 41; ++k) {
    double x, y;  // a, b; the order alternates
    if (k % 2 == 0)
      x = seconds(a, reps), y = seconds(b, reps);
    else
      y = seconds(b, reps), x = seconds(a, reps);
    ta.push_back(x);
    tb.push_back(y);
    ratio.push_back(y / x);
  }
  std::printf("%-22s %-22s %10.3f %10.3f %7.3f\n", name.c_str(), size.c_str(), median(ta) * 1e6,
              median(tb) * 1e6, median(ratio));
}

std::vector<float> randn(size_t n, float scale = 1.0f) {
  std::mt19937 g(42);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

// Working sets: floats per buffer (two buffers in flight for the unary kernels).
struct Size {
  size_t n;
  const char* what;
};
const Size kSizes[] = {{2048, "L1 2K"}, {65536, "L2 64K"}, {8u << 20, "DRAM 8M"}};

void unary(const char* name, VUnaryFn a, VUnaryFn b, ClampParams p) {
  for (const Size& s : kSizes) {
    std::vector<float> x = randn(s.n, 4.0f), y(s.n);
    pair(name, s.what, [&] { a(s.n, x.data(), y.data(), &p); },
         [&] { b(s.n, x.data(), y.data(), &p); });
  }
}

void math(const char* name, VMathFn a, VMathFn b, MathParams p = {1.0f, 1.0f, 1.0f}) {
  for (const Size& s : kSizes) {
    std::vector<float> x = randn(s.n, 4.0f), y(s.n);
    if (std::strcmp(name, "vlog") == 0 || std::strcmp(name, "vsqrt") == 0 || std::strcmp(name, "vrsqrt") == 0)
      for (float& v : x) v = std::fabs(v);
    pair(name, s.what, [&] { a(s.n, x.data(), y.data(), &p); },
         [&] { b(s.n, x.data(), y.data(), &p); });
  }
}

void binary(const char* name, VBinaryFn a, VBinaryFn b) {
  MathParams p{1.0f, 1.0f, 1.0f};
  for (const Size& s : kSizes) {
    std::vector<float> u = randn(s.n), v = randn(s.n), y(s.n);
    pair(name, s.what, [&] { a(s.n, u.data(), v.data(), y.data(), &p); },
         [&] { b(s.n, u.data(), v.data(), y.data(), &p); });
  }
}

// The epilogue as a GEMM drives it: mr x nr tiles of a pixels x channels output, in place.
void epilogue(const char* name, int kind, bool residual, float lo, float hi) {
  const EpilogueParams p{kind, 0.2f, 0.5f, lo, hi};
  struct Shape {
    size_t pixels, channels, mr, nr;
    const char* what;
  };
  const Shape shapes[] = {{48, 40, 6, 16, "L1 48x40 t6x16"},
                          {784, 72, 6, 32, "L2 784x72 t6x32"},
                          {12544, 96, 6, 32, "DRAM 12544x96"},
                          {12544, 96, 12544, 96, "DRAM flat"}};
  for (const Shape& s : shapes) {
    std::vector<float> y = randn(s.pixels * s.channels, 4.0f), r = randn(s.pixels * s.channels);
    auto run = [&](VEpilogueFn f) {
      for (size_t i = 0; i < s.pixels; i += s.mr)
        for (size_t j = 0; j < s.channels; j += s.nr) {
          const size_t off = i * s.channels + j;
          f(std::min(s.mr, s.pixels - i), std::min(s.nr, s.channels - j), y.data() + off,
            s.channels, residual ? r.data() + off : nullptr, s.channels, &p);
        }
    };
    pair(name, s.what, [&] { run(f32_vepilogue__avx2); }, [&] { run(f32_vepilogue__avx512f); });
  }
}

void scaleshift() {
  const ClampParams p{0.0f, 6.0f};
  for (auto [rows, ch, what] : {std::tuple{16, 40, "L1 16x40"}, std::tuple{784, 72, "L2 784x72"},
                                std::tuple{12544, 96, "DRAM 12544x96"}}) {
    std::vector<float> x = randn(rows * ch), s = randn(ch), b = randn(ch), y(rows * ch);
    pair("vscaleshift", what,
         [&] { f32_vscaleshift_32c__avx2(rows, ch, x.data(), ch, s.data(), b.data(), y.data(), ch, &p); },
         [&] { f32_vscaleshift_64c__avx512f(rows, ch, x.data(), ch, s.data(), b.data(), y.data(), ch, &p); });
    pair("vscaleshift-cw", what,
         [&] { f32_vscaleshift_cw__avx2(ch, rows, x.data(), s.data(), b.data(), y.data(), &p); },
         [&] { f32_vscaleshift_cw__avx512f(ch, rows, x.data(), s.data(), b.data(), y.data(), &p); });
  }
}

// A 3x3 stride-2 pool over an h x w x channels image, one kernel call per output pixel.
void pool() {
  const ClampParams p{-INFINITY, INFINITY};
  for (auto [h, ch, what] : {std::tuple{8, 24, "L1 8x8x24"}, std::tuple{28, 72, "L2 28x28x72"},
                             std::tuple{112, 64, "DRAM 112x112x64"}}) {
    const size_t w = h, oh = (h - 3) / 2 + 1;
    std::vector<float> x = randn(h * w * ch), y(oh * oh * ch);
    auto run = [&](auto f, auto... extra) {
      for (size_t i = 0; i < oh; ++i)
        for (size_t j = 0; j < oh; ++j)
          f(3, 3, ch, x.data() + (2 * i * w + 2 * j) * ch, w * ch, ch, extra...,
            y.data() + (i * oh + j) * ch, &p);
    };
    pair("maxpool 3x3s2", what, [&] { run(f32_maxpool_32c__avx2); },
         [&] { run(f32_maxpool_64c__avx512f); });
    pair("avgpool 3x3s2", what, [&] { run(f32_avgpool_32c__avx2, 1.0f / 9); },
         [&] { run(f32_avgpool_64c__avx512f, 1.0f / 9); });
    std::vector<float> g(ch);
    pair("gavgpool", what,
         [&] { f32_gavgpool_32c__avx2(h * w, ch, x.data(), ch, 0.5f, g.data()); },
         [&] { f32_gavgpool_64c__avx512f(h * w, ch, x.data(), ch, 0.5f, g.data()); });
    pair("gavgpool-cw", what, [&] { f32_gavgpool_cw__avx2(ch, h * w, x.data(), 0.5f, g.data()); },
         [&] { f32_gavgpool_cw__avx512f(ch, h * w, x.data(), 0.5f, g.data()); });
  }
  for (auto [rows, ch, what] : {std::tuple{49, 1280, "L2 7x7x1280"}, std::tuple{49, 20, "L1 7x7x20"}}) {
    std::vector<float> x = randn(rows * ch), g(ch);
    pair("gavgpool", what, [&] { f32_gavgpool_32c__avx2(rows, ch, x.data(), ch, 0.5f, g.data()); },
         [&] { f32_gavgpool_64c__avx512f(rows, ch, x.data(), ch, 0.5f, g.data()); });
  }
}

// A 2x bilinear upsample row: each output pixel blends 4 input pixels of `ch` channels.
void resize() {
  for (auto [win, ch, what] : {std::tuple{16, 24, "L1 16px x24"}, std::tuple{56, 72, "L2 56px x72"},
                               std::tuple{224, 64, "L2 224px x64"}}) {
    std::vector<float> x = randn(2 * win * ch), wx(4 * win), y(2 * win * ch);
    std::vector<const float*> in;
    for (size_t p = 0; p < 2 * win; ++p) {
      const size_t a = p / 2, b = std::min<size_t>(a + 1, win - 1);
      for (const float* q : {x.data() + a * ch, x.data() + b * ch, x.data() + (win + a) * ch,
                             x.data() + (win + b) * ch})
        in.push_back(q);
      wx[2 * p] = 0.75f, wx[2 * p + 1] = 0.25f;
    }
    pair("ibilinear", what,
         [&] { f32_ibilinear_16c__avx2(2 * win, ch, in.data(), wx.data(), 0.25f, 0.75f, y.data(), ch); },
         [&] { f32_ibilinear_32c__avx512f(2 * win, ch, in.data(), wx.data(), 0.25f, 0.75f, y.data(), ch); });
  }
}

// NCHW -> NHWC of one image (rows = channels, cols = pixels) and back.
void transpose() {
  for (auto [c, hw, what] : {std::tuple{32, 49, "L1 32x49"}, std::tuple{64, 784, "L2 64x784"},
                             std::tuple{24, 3136, "L2 24x3136"}, std::tuple{64, 12544, "DRAM 64x12544"},
                             std::tuple{3, 50176, "DRAM 3x50176"}, std::tuple{3, 1024, "L1 3x1024"},
                             std::tuple{20, 100, "L1 20x100"}}) {
    std::vector<float> x = randn(c * hw), y(c * hw);
    pair("transpose nchw>nhwc", what,
         [&] { f32_transpose__avx2(c, hw, x.data(), hw, y.data(), c); },
         [&] { f32_transpose_16x16__avx512f(c, hw, x.data(), hw, y.data(), c); });
    pair("transpose nhwc>nchw", what,
         [&] { f32_transpose__avx2(hw, c, x.data(), c, y.data(), hw); },
         [&] { f32_transpose_16x16__avx512f(hw, c, x.data(), c, y.data(), hw); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_filter = argv[1];
  _mm_setcsr(_mm_getcsr() | 0x8040);  // FTZ | DAZ, as the engine runs
  std::printf("%-22s %-22s %10s %10s %7s\n", "kernel", "size", "avx2 us", "avx512 us", "ratio");
  epilogue("epi relu+residual", 0, true, 0.0f, INFINITY);
  epilogue("epi hardswish", 1, false, -INFINITY, INFINITY);
  epilogue("epi sigmoid", 3, false, -INFINITY, INFINITY);
  epilogue("epi silu", 4, false, -INFINITY, INFINITY);
  epilogue("epi silu+residual", 4, true, -INFINITY, INFINITY);
  epilogue("epi gelu", 7, false, -INFINITY, INFINITY);
  epilogue("epi tanh", 5, false, -INFINITY, INFINITY);
  unary("vclamp", f32_vclamp__avx2, f32_vclamp__avx512f, {0.0f, 6.0f});
  unary("vhswish", f32_vhswish__avx2, f32_vhswish__avx512f, {});
  unary("vhsigmoid", f32_vhsigmoid__avx2, f32_vhsigmoid__avx512f, {});
  unary("vsigmoid", f32_vsigmoid__avx2, f32_vsigmoid__avx512f, {});
  unary("vsilu", f32_vsilu__avx2, f32_vsilu__avx512f, {});
  scaleshift();
  pool();
  resize();
  transpose();
#define M(k) math(#k, f32_##k##__avx2, f32_##k##__avx512f)
  M(verf); M(vgelu); M(vgelu_tanh); M(vmish); M(vsoftplus); M(velu); M(vexp); M(vlog);
  M(vsqrt); M(vrecip); M(vabs); M(vneg); M(vsoftsign); M(vthreshold); M(vsqr); M(vcube);
  M(vrsqrt);
#undef M
#define B(k) binary(#k, f32_##k##__avx2, f32_##k##__avx512f)
  B(vmin); B(vminc); B(vmax); B(vmaxc); B(vadd); B(vaddc); B(vprelu); B(vpreluc);
#undef B
}
