// Paired A/B benchmark of the memory-bound families, AVX2 against AVX-512: the conv epilogue,
// the activations, global average pooling, transpose and the element-wise math. (The AVX-512
// clamp / hardswish / hardsigmoid, scale-shift, window pooling, bilinear and the memory-bound
// math kernels were measured with it too, lost, and were removed: figures in dispatch.cpp.) Each case
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
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "native/elementwise/elementwise.h"
#include "native/elementwise/math.h"
#include "native/layout/transpose.h"
#include "native/norm/norm.h"
#include "native/pool/pool.h"

using namespace ce::native;

namespace {

using Clock = std::chrono::steady_clock;

// 64-byte aligned, as the engine's buffers.
struct Aligned64 {
  using value_type = float;
  template <class U>
  struct rebind {
    using other = Aligned64;
  };
  Aligned64() = default;
  template <class U>
  Aligned64(const U&) {}
  float* allocate(size_t n) {
    return static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
  }
  void deallocate(float* p, size_t) { std::free(p); }
  bool operator==(const Aligned64&) const { return true; }
  bool operator!=(const Aligned64&) const { return false; }
};
using Buf = std::vector<float, Aligned64>;

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

// Times run(false) (avx2) and run(true) (avx512f) alternately, both through the one call site
// (two separate call sites timed up to 30% apart for the same kernel); prints us per call and
// the median of the paired ratios avx512f / avx2.
void pair(const std::string& name, const std::string& size, const std::function<void(bool)>& run) {
  if (g_filter && name.find(g_filter) == std::string::npos) return;
  const std::function<void()> a = [&] { run(false); }, b = [&] { run(true); };
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

Buf randn(size_t n, float scale = 1.0f) {
  std::mt19937 g(42);
  std::normal_distribution<float> d(0.0f, scale);
  Buf v(n);
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
    Buf x = randn(s.n, 4.0f), y(s.n);
    pair(name, s.what, [&](bool use) { (use ? b : a)(s.n, x.data(), y.data(), &p); });
  }
}

void math(const char* name, VMathFn a, VMathFn b, MathParams p = {1.0f, 1.0f, 1.0f}) {
  for (const Size& s : kSizes) {
    Buf x = randn(s.n, 4.0f), y(s.n);
    if (std::strcmp(name, "vlog") == 0 || std::strcmp(name, "vsqrt") == 0 || std::strcmp(name, "vrsqrt") == 0)
      for (float& v : x) v = std::fabs(v);
    pair(name, s.what, [&](bool use) { (use ? b : a)(s.n, x.data(), y.data(), &p); });
  }
}

// Softmax over rows of 256 floats (attention scores) and of 1000 (a classifier), in place.
void softmax() {
  for (const Size& s : kSizes)
    for (size_t len : {256, 1000}) {
      const size_t rows = std::max<size_t>(1, s.n / len);
      Buf x = randn(rows * len, 4.0f);
      pair("softmax_rows " + std::to_string(len), s.what, [&](bool use) {
        (use ? f32_softmax_rows__avx512f : f32_softmax_rows__avx2)(rows, len, x.data(), len,
                                                                  x.data(), len);
      });
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
    Buf y = randn(s.pixels * s.channels, 4.0f), r = randn(s.pixels * s.channels);
    auto run = [&](VEpilogueFn f) {
      for (size_t i = 0; i < s.pixels; i += s.mr)
        for (size_t j = 0; j < s.channels; j += s.nr) {
          const size_t off = i * s.channels + j;
          f(std::min(s.mr, s.pixels - i), std::min(s.nr, s.channels - j), y.data() + off,
            s.channels, residual ? r.data() + off : nullptr, s.channels, &p);
        }
    };
    pair(name, s.what, [&](bool use) { run((use ? f32_vepilogue__avx512f : f32_vepilogue__avx2)); });
  }
}

// Global average pooling of an h x w x channels image, channels-last.
void pool() {
  for (auto [rows, ch, what] : {std::tuple{64, 24, "L1 8x8x24"}, std::tuple{49, 20, "L1 7x7x20"},
                                std::tuple{784, 72, "L2 28x28x72"}, std::tuple{49, 1280, "L2 7x7x1280"},
                                std::tuple{12544, 64, "DRAM 112x112x64"}}) {
    Buf x = randn(rows * ch), g(ch);
    pair("gavgpool", what, [&](bool use) {
      (use ? f32_gavgpool_64c__avx512f : f32_gavgpool_32c__avx2)(rows, ch, x.data(), ch, 0.5f, g.data());
    });
  }
}

// NCHW -> NHWC of one image (rows = channels, cols = pixels) and back.
void transpose() {
  for (auto [c, hw, what] : {std::tuple{32, 49, "L1 32x49"}, std::tuple{64, 784, "L2 64x784"},
                             std::tuple{24, 3136, "L2 24x3136"}, std::tuple{64, 12544, "DRAM 64x12544"},
                             std::tuple{3, 50176, "DRAM 3x50176"}, std::tuple{3, 1024, "L1 3x1024"},
                             std::tuple{20, 100, "L1 20x100"}}) {
    Buf x = randn(c * hw), y(c * hw);
    pair("transpose nchw>nhwc", what, [&](bool use) { (use ? f32_transpose_16x16__avx512f : f32_transpose__avx2)(c, hw, x.data(), hw, y.data(), c); });
    pair("transpose nhwc>nchw", what, [&](bool use) { (use ? f32_transpose_16x16__avx512f : f32_transpose__avx2)(hw, c, x.data(), c, y.data(), hw); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_filter = argv[1];
  _mm_setcsr(_mm_getcsr() | 0x8040);  // FTZ | DAZ, as the engine runs
  std::printf("%-22s %-22s %10s %10s %7s\n", "kernel", "size", "avx2 us", "avx512 us", "ratio");
  epilogue("epi relu+residual", 0, true, 0.0f, INFINITY);
  epilogue("epi hardswish", 1, false, -INFINITY, INFINITY);
  epilogue("epi hardsigmoid", 2, false, -INFINITY, INFINITY);
  epilogue("epi leaky relu", 6, false, -INFINITY, INFINITY);
  epilogue("epi softsign", 14, false, -INFINITY, INFINITY);
  epilogue("epi sigmoid", 3, false, -INFINITY, INFINITY);
  epilogue("epi silu", 4, false, -INFINITY, INFINITY);
  epilogue("epi silu+residual", 4, true, -INFINITY, INFINITY);
  epilogue("epi gelu", 7, false, -INFINITY, INFINITY);
  epilogue("epi tanh", 5, false, -INFINITY, INFINITY);
  epilogue("epi mish", 9, false, -INFINITY, INFINITY);
  epilogue("epi elu", 11, false, -INFINITY, INFINITY);
  softmax();
  unary("vsigmoid", f32_vsigmoid__avx2, f32_vsigmoid__avx512f, {});
  unary("vsilu", f32_vsilu__avx2, f32_vsilu__avx512f, {});
  pool();
  transpose();
#define M(k) math(#k, f32_##k##__avx2, f32_##k##__avx512f)
  M(verf); M(vgelu); M(vgelu_tanh); M(vmish); M(vsoftplus); M(velu); M(vexp); M(vlog);
  M(vrsqrt);
#undef M
}
