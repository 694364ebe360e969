// Paired A/B benchmark of the depthwise microkernels (native/dwconv): each -avx512f kernel
// against its -fma3 twin on MobileNet / EfficientNet / ConvNeXt depthwise layers, one thread.
// Row kernels run a whole layer on an explicitly padded input (every pixel interior, rows cut
// into 64-pixel segments as engine/depthwise.cpp does); the indirect kernel runs a whole layer
// through per-tap pointers. A and B alternate run by run; the table gives the median time of
// each and the median of the per-pair ratios B / A (< 1: AVX-512 faster). dispatch.cpp's choice
// in dwconv_kernels() follows this table.
//
//   build (from the repository root):
//     g++ -O3 -std=c++17 -I. -c native/dwconv/*-fma3.cpp -mavx2 -mfma   (one -c per file), and
//     the *-avx512f.cpp files with -mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx2 -mfma,
//     then g++ -O3 -std=c++17 -I. bench/dwconv_kernels.cpp *.o -o bench_dwconv
//   run: bench_dwconv [pairs [layer name substring]]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <cstring>
#include <vector>

#include "native/dwconv/dwconv.h"

namespace {

using namespace ce::native;

// 64-byte aligned like the engine's buffers (a zmm load of 16 channels is one cache line).
template <class T>
struct Align64 {
  using value_type = T;
  Align64() = default;
  template <class U>
  Align64(const Align64<U>&) {}
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const Align64&) const { return true; }
  bool operator!=(const Align64&) const { return false; }
};
using Floats = std::vector<float, Align64<float>>;

struct Shape {
  size_t c, m, h, w, k, stride, pad;
  const char* what;
};

struct Layer {
  Shape s;
  size_t oc, ho, wo, hp, wp, taps;
  Floats in, wts, out, zero;
  std::vector<int32_t> table;
  std::vector<const float*> ind;  // ho * wo * taps pointers (indirect runs)
  DwParams p{-1e30f, 1e30f, nullptr};

  explicit Layer(const Shape& sh) : s(sh) {
    oc = s.c * s.m;
    ho = (s.h + 2 * s.pad - s.k) / s.stride + 1;
    wo = (s.w + 2 * s.pad - s.k) / s.stride + 1;
    hp = s.h + 2 * s.pad;
    wp = s.w + 2 * s.pad;
    taps = s.k * s.k;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> d(-1, 1);
    in.assign(hp * wp * s.c + 64, 0.0f);
    for (size_t y = 0; y < s.h; ++y)
      for (size_t x = 0; x < s.w; ++x)
        for (size_t c = 0; c < s.c; ++c) in[((y + s.pad) * wp + x + s.pad) * s.c + c] = d(rng);
    wts.resize((oc + 15) / 16 * 16 * (1 + taps) + 16);
    for (float& v : wts) v = d(rng);
    out.assign(ho * wo * oc + 64, 0.0f);
    zero.assign(s.c + 64, 0.0f);
    if (s.m > 1) {
      const size_t blocks = (oc + 7) / 8;
      table.assign(blocks * kDwMultEntry, 0);
      for (size_t b = 0; b < blocks; ++b) {
        int32_t* e = table.data() + b * kDwMultEntry;
        const size_t base = 8 * b / s.m;
        for (size_t i = 0; i < 8; ++i) {
          const size_t o = std::min(8 * b + i, oc - 1);
          e[i] = static_cast<int32_t>(std::min<size_t>(7, o / s.m - base));
          e[8 + i] = base + i < s.c ? -1 : 0;
        }
        e[16] = static_cast<int32_t>(base);
        e[17] = base + 4 <= s.c ? 1 : 0;
      }
      p.mult = table.data();
    }
    // Indirection as for border pixels: padding taps point at the zero pixel.
    ind.resize(ho * wo * taps);
    for (size_t y = 0; y < ho; ++y)
      for (size_t x = 0; x < wo; ++x)
        for (size_t ky = 0; ky < s.k; ++ky)
          for (size_t kx = 0; kx < s.k; ++kx) {
            const size_t iy = y * s.stride + ky, ix = x * s.stride + kx;
            const bool pad = iy < s.pad || iy >= s.h + s.pad || ix < s.pad || ix >= s.w + s.pad;
            ind[(y * wo + x) * taps + ky * s.k + kx] =
                pad ? zero.data() : in.data() + (iy * wp + ix) * s.c;
          }
  }

  void run_rows(DwRowFn fn) {
    const float* rows[16];
    for (size_t y = 0; y < ho; ++y)
      for (size_t xs = 0; xs < wo; xs += 64) {
        const size_t len = std::min<size_t>(64, wo - xs);
        for (size_t ky = 0; ky < s.k; ++ky)
          rows[ky] = in.data() + ((y * s.stride + ky) * wp + xs * s.stride) * s.c;
        fn(oc, len, rows, s.stride * s.c, s.c, s.k, s.k, wts.data(),
           out.data() + (y * wo + xs) * oc, oc, &p);
      }
  }

  void run_ind(DwIndFn fn) {
    for (size_t y = 0; y < ho; ++y)
      fn(oc, wo, ind.data() + y * wo * taps, taps, wts.data(), out.data() + y * wo * oc, oc, &p);
  }
};

template <class F>
double once(F&& f, int reps) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Max |A - B| over the layer's output (both kernels must agree before they are timed).
template <class FA, class FB>
double diff(Layer& l, FA&& a, FB&& b) {
  a();
  const Floats ya = l.out;
  std::fill(l.out.begin(), l.out.end(), 0.0f);
  b();
  double m = 0;
  for (size_t i = 0; i < ya.size(); ++i) m = std::max(m, std::abs(double(ya[i]) - l.out[i]));
  return m;
}

template <class FA, class FB>
void pair(const char* name, const char* what, FA&& a, FB&& b, int pairs, double err) {
  // Enough repetitions per sample for ~1 ms.
  const double t1 = once(a, 1);
  const int reps = std::max(1, static_cast<int>(1e-3 / std::max(t1, 1e-7)));
  once(a, reps);
  once(b, reps);
  std::vector<double> ta, tb, ratio;
  for (int i = 0; i < pairs; ++i) {
    const double x = once(a, reps), y = once(b, reps);
    ta.push_back(x);
    tb.push_back(y);
    ratio.push_back(y / x);
  }
  std::printf("%-8s %-34s %9.1f %9.1f %7.3f %7.3f   %.1e\n", name, what, median(ta) * 1e6,
              median(tb) * 1e6, median(ratio),
              *std::min_element(tb.begin(), tb.end()) / *std::min_element(ta.begin(), ta.end()),
              err);
}

}  // namespace

int main(int argc, char** argv) {
  const int pairs = argc > 1 ? std::atoi(argv[1]) : 31;
  const char* only = argc > 2 ? argv[2] : "";  // run only layers whose name contains this
  struct RowCase {
    const char* name;
    DwRowFn fma3, avx512;
    Shape s;
  };
  const RowCase rows[] = {
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {144, 1, 56, 56, 3, 1, 1, "144ch 56x56 (MNv2)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {576, 1, 14, 14, 3, 1, 1, "576ch 14x14 (MNv2)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {32, 1, 112, 112, 3, 1, 1, "32ch 112x112 (MNv2)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {24, 1, 56, 56, 3, 1, 1, "24ch 56x56 (tail 8)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {72, 1, 56, 56, 3, 1, 1, "72ch 56x56 (MNv3, tail 8)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {58, 1, 28, 28, 3, 1, 1, "58ch 28x28 (ShuffleNetV2)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {116, 1, 14, 14, 3, 1, 1, "116ch 14x14 (ShuffleNetV2)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {232, 1, 7, 7, 3, 1, 1, "232ch 7x7 (ShuffleNetV2)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {40, 1, 56, 56, 3, 1, 1, "40ch 56x56"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {36, 1, 56, 56, 3, 1, 1, "36ch 56x56"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {44, 1, 56, 56, 3, 1, 1, "44ch 56x56"}},
      {"3x3s2", f32_dwconv_3x3s2_8c__fma3, f32_dwconv_3x3s2_16c__avx512f,
       {116, 1, 28, 28, 3, 2, 1, "116ch 28->14 (ShuffleNetV2)"}},
      {"3x3s2", f32_dwconv_3x3s2_8c__fma3, f32_dwconv_3x3s2_16c__avx512f,
       {58, 1, 56, 56, 3, 2, 1, "58ch 56->28 (ShuffleNetV2)"}},
      {"3x3s1", f32_dwconv_3x3s1_8c__fma3, f32_dwconv_3x3s1_16c__avx512f,
       {32, 2, 56, 56, 3, 1, 1, "32ch x2 56x56 (multiplier)"}},
      {"3x3s2", f32_dwconv_3x3s2_8c__fma3, f32_dwconv_3x3s2_16c__avx512f,
       {96, 1, 112, 112, 3, 2, 1, "96ch 112->56 (MNv2)"}},
      {"3x3s2", f32_dwconv_3x3s2_8c__fma3, f32_dwconv_3x3s2_16c__avx512f,
       {144, 1, 56, 56, 3, 2, 1, "144ch 56->28 (MNv2)"}},
      {"3x3s2", f32_dwconv_3x3s2_8c__fma3, f32_dwconv_3x3s2_16c__avx512f,
       {32, 2, 56, 56, 3, 2, 1, "32ch x2 56->28 (multiplier)"}},
      {"5x5s1", f32_dwconv_5x5s1_8c8p__fma3, f32_dwconv_5x5s1_16c8p__avx512f,
       {240, 1, 14, 14, 5, 1, 2, "240ch 14x14 (EffNet)"}},
      {"5x5s1", f32_dwconv_5x5s1_8c8p__fma3, f32_dwconv_5x5s1_16c8p__avx512f,
       {480, 1, 14, 14, 5, 1, 2, "480ch 14x14 (EffNet)"}},
      {"5x5s1", f32_dwconv_5x5s1_8c8p__fma3, f32_dwconv_5x5s1_16c8p__avx512f,
       {120, 1, 28, 28, 5, 1, 2, "120ch 28x28 (MNv3, tail 8)"}},
      {"5x5s1", f32_dwconv_5x5s1_8c8p__fma3, f32_dwconv_5x5s1_16c8p__avx512f,
       {32, 2, 28, 28, 5, 1, 2, "32ch x2 28x28 (multiplier)"}},
      {"7x7s1", f32_dwconv_7x7s1_8c8p__fma3, f32_dwconv_7x7s1_16c8p__avx512f,
       {96, 1, 56, 56, 7, 1, 3, "96ch 56x56 (ConvNeXt)"}},
      {"7x7s1", f32_dwconv_7x7s1_8c8p__fma3, f32_dwconv_7x7s1_16c8p__avx512f,
       {384, 1, 14, 14, 7, 1, 3, "384ch 14x14 (ConvNeXt)"}},
      {"5x5s2", f32_dwconv_5x5_8c8p__fma3, f32_dwconv_5x5_16c8p__avx512f,
       {144, 1, 56, 56, 5, 2, 2, "144ch 56->28 (EffNet)"}},
      {"5x5s2", f32_dwconv_5x5_8c8p__fma3, f32_dwconv_5x5_16c8p__avx512f,
       {240, 1, 28, 28, 5, 2, 2, "240ch 28->14 (EffNet)"}},
      {"kxk", f32_dwconv_kxk_8c8p__fma3, f32_dwconv_kxk_16c8p__avx512f,
       {144, 1, 56, 56, 3, 3, 1, "3x3 s3 144ch 56x56"}},
      {"kxk", f32_dwconv_kxk_8c8p__fma3, f32_dwconv_kxk_16c8p__avx512f,
       {96, 1, 28, 28, 9, 1, 4, "9x9 s1 96ch 28x28"}},
  };
  struct IndCase {
    Shape s;
  };
  const IndCase inds[] = {
      {{144, 1, 14, 14, 3, 1, 1, "3x3 144ch 14x14"}},
      {{576, 1, 7, 7, 3, 1, 1, "3x3 576ch 7x7"}},
      {{960, 1, 7, 7, 3, 1, 1, "3x3 960ch 7x7 (MNv2 last)"}},
      {{240, 1, 7, 7, 5, 1, 2, "5x5 240ch 7x7"}},
      {{24, 1, 28, 28, 3, 1, 1, "3x3 24ch 28x28 (tail 8)"}},
      {{232, 1, 7, 7, 3, 1, 1, "3x3 232ch 7x7 (ShuffleNetV2)"}},
      {{32, 2, 14, 14, 3, 1, 1, "3x3 32ch x2 14x14 (multiplier)"}},
  };
  std::printf("1 thread, %d pairs; microseconds per layer (median), ratio = median of "
              "avx512f / fma3 per pair, minB/A = fastest avx512f / fastest fma3\n", pairs);
  std::printf("%-8s %-34s %9s %9s %7s %7s   %s\n", "kernel", "layer", "fma3", "avx512f", "ratio",
              "minB/A", "max|A-B|");
  for (const RowCase& r : rows) {
    if (!std::strstr(r.s.what, only)) continue;
    Layer l(r.s);
    auto a = [&] { l.run_rows(r.fma3); };
    auto b = [&] { l.run_rows(r.avx512); };
    pair(r.name, r.s.what, a, b, pairs, diff(l, a, b));
  }
  for (const IndCase& r : inds) {
    if (!std::strstr(r.s.what, only)) continue;
    Layer l(r.s);
    auto a = [&] { l.run_ind(f32_dwconv_ind_32c__fma3); };
    auto b = [&] { l.run_ind(f32_dwconv_ind_64c__avx512f); };
    pair("ind", r.s.what, a, b, pairs, diff(l, a, b));
  }
}
