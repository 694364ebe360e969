// Every depthwise microkernel in native/dwconv/ (dwconv.h) against a double-precision loop:
// the row kernels over the geometries each accepts and the indirect kernel over random taps,
// with channel counts around the 4-channel q registers (NEON) and the 8- and 16-channel strips,
// pixel counts around the 3-output unroll and the 8/4/2/1 pixel blocks, multipliers 1-3, calls
// that start at a later tile (channel 16), and three layouts: tight pixels (pixel stride =
// channels), wide pixels (strides a multiple of 16 floats, 64-byte aligned: the AVX-512 zmm
// path, with channel tails only here) and misaligned pixels (strides C + 1 and oc + 3, pointers
// one float off); tight and misaligned rows again with DwParams::any_alignment (the zmm path on
// them).
// A kernel above the CPU's ISA level, or above the one CONVENGINE_ISA forces, is skipped with
// the reason. Also checks that engine/dispatch.cpp hands out only kernels tested here.
//
// Memory: the input rows, the output and the indirection's pixels end right before an
// inaccessible page; output floats between pixels hold a NaN sentinel compared bit for bit
// afterwards; input floats between pixels are NaN (a stored lane that reads one is wrong).
//
//   test_dwconv_microkernels [-v] [FILTER]   FILTER: run the cases whose name contains it
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/cpu.h"
#include "engine/dispatch.h"
#include "native/dwconv/dwconv.h"
#include "tests/c/gemm_microkernel_tester.h"
#include "tests/c/kernel_test_runner.h"

namespace native = ce::native;
using ce::test::GuardedArray;

namespace {

using Runner = ce::test::CaseRunner;

// Which rows a row kernel accepts: stride (in_step) as a multiple of the tap spacing (in_dil),
// 0 for any, and its kernel size (0 for any).
struct RowKernel {
  const char* name;
  native::DwRowFn fn;
  ce::Isa isa;
  int stride_per_dil;
  int k;
};

struct IndKernel {
  const char* name;
  native::DwIndFn fn;
  ce::Isa isa;
};

constexpr ce::Isa kScalar = ce::Isa::kScalar, kFma3 = ce::Isa::kAvx2, kAvx512f = ce::Isa::kAvx512,
                  kNeon = ce::Isa::kNeon;

const RowKernel kRow[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"f32_dwconv_3x3s1_8c__fma3", native::f32_dwconv_3x3s1_8c__fma3, kFma3, 1, 3},
    {"f32_dwconv_3x3s2_8c__fma3", native::f32_dwconv_3x3s2_8c__fma3, kFma3, 2, 3},
    {"f32_dwconv_5x5s1_8c8p__fma3", native::f32_dwconv_5x5s1_8c8p__fma3, kFma3, 1, 5},
    {"f32_dwconv_7x7s1_8c8p__fma3", native::f32_dwconv_7x7s1_8c8p__fma3, kFma3, 1, 7},
    {"f32_dwconv_5x5s2_8c8p__fma3", native::f32_dwconv_5x5s2_8c8p__fma3, kFma3, 2, 5},
    {"f32_dwconv_5x5_8c8p__fma3", native::f32_dwconv_5x5_8c8p__fma3, kFma3, 0, 5},
    {"f32_dwconv_kxk_8c8p__fma3", native::f32_dwconv_kxk_8c8p__fma3, kFma3, 0, 0},
    {"f32_dwconv_3x3s1_16c__avx512f", native::f32_dwconv_3x3s1_16c__avx512f, kAvx512f, 1, 3},
    {"f32_dwconv_3x3s2_16c__avx512f", native::f32_dwconv_3x3s2_16c__avx512f, kAvx512f, 2, 3},
    {"f32_dwconv_5x5s1_16c8p__avx512f", native::f32_dwconv_5x5s1_16c8p__avx512f, kAvx512f, 1, 5},
    {"f32_dwconv_7x7s1_16c8p__avx512f", native::f32_dwconv_7x7s1_16c8p__avx512f, kAvx512f, 1, 7},
    {"f32_dwconv_5x5s2_16c8p__avx512f", native::f32_dwconv_5x5s2_16c8p__avx512f, kAvx512f, 2, 5},
    {"f32_dwconv_5x5_16c8p__avx512f", native::f32_dwconv_5x5_16c8p__avx512f, kAvx512f, 0, 5},
    {"f32_dwconv_kxk_16c8p__avx512f", native::f32_dwconv_kxk_16c8p__avx512f, kAvx512f, 0, 0},
#endif
#if defined(__aarch64__)
    {"f32_dwconv_3x3s1_4c__neon", native::f32_dwconv_3x3s1_4c__neon, kNeon, 1, 3},
    {"f32_dwconv_3x3s2_4c__neon", native::f32_dwconv_3x3s2_4c__neon, kNeon, 2, 3},
    {"f32_dwconv_5x5s1_4c8p__neon", native::f32_dwconv_5x5s1_4c8p__neon, kNeon, 1, 5},
    {"f32_dwconv_7x7s1_4c8p__neon", native::f32_dwconv_7x7s1_4c8p__neon, kNeon, 1, 7},
    {"f32_dwconv_5x5s2_4c8p__neon", native::f32_dwconv_5x5s2_4c8p__neon, kNeon, 2, 5},
    {"f32_dwconv_5x5_4c8p__neon", native::f32_dwconv_5x5_4c8p__neon, kNeon, 0, 5},
    {"f32_dwconv_kxk_4c8p__neon", native::f32_dwconv_kxk_4c8p__neon, kNeon, 0, 0},
#endif
    {"f32_dwconv_kxk__scalar", native::f32_dwconv_kxk__scalar, kScalar, 0, 0},
};

const IndKernel kInd[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"f32_dwconv_ind_32c__fma3", native::f32_dwconv_ind_32c__fma3, kFma3},
    {"f32_dwconv_ind_64c__avx512f", native::f32_dwconv_ind_64c__avx512f, kAvx512f},
#endif
#if defined(__aarch64__)
    {"f32_dwconv_ind_16c__neon", native::f32_dwconv_ind_16c__neon, kNeon},
#endif
    {"f32_dwconv_ind__scalar", native::f32_dwconv_ind__scalar, kScalar},
};

enum Layout { kTight, kWide, kMisaligned };
const char* const kLayoutName[] = {"tight", "wide", "misaligned"};

// A layer of C input channels, multiplier M: packed weights and the multiplier table as
// engine/depthwise.cpp builds them, and the call's pointers into them for channels c0...
struct Layer {
  size_t C, M, oc, taps;
  std::vector<float> w;         // [oc][taps], bias[oc]
  std::vector<float> b;
  std::vector<float> packed;    // dwconv.h layout
  std::vector<int32_t> table;   // multiplier entries, M > 1

  Layer(size_t C_, size_t M_, size_t taps_, std::mt19937& rng)
      : C(C_), M(M_), oc(C_ * M_), taps(taps_) {
    std::uniform_real_distribution<float> d(-1, 1);
    w.resize(oc * taps);
    b.resize(oc);
    for (float& v : w) v = d(rng);
    for (float& v : b) v = d(rng);
    const size_t tiles = (oc + 15) / 16;
    packed.assign(tiles * 16 * (1 + taps), 0.0f);
    for (size_t o = 0; o < oc; ++o) {
      float* blk = packed.data() + (o / 16) * 16 * (1 + taps);
      blk[o % 16] = b[o];
      for (size_t t = 0; t < taps; ++t) blk[16 * (1 + t) + o % 16] = w[o * taps + t];
    }
    if (M > 1) {
      const size_t blocks = (oc + 7) / 8;
      table.assign(blocks * native::kDwMultEntry, 0);
      for (size_t blk = 0; blk < blocks; ++blk) {
        int32_t* e = table.data() + blk * native::kDwMultEntry;
        const size_t base = 8 * blk / M;
        for (size_t i = 0; i < 8; ++i) {
          const size_t o = std::min(8 * blk + i, oc - 1);
          e[i] = static_cast<int32_t>(std::min<size_t>(7, o / M - base));
          e[8 + i] = base + i < C ? -1 : 0;
        }
        e[16] = static_cast<int32_t>(base);
        e[17] = base + 4 <= C ? 1 : 0;
      }
    }
  }
  native::DwParams params(size_t c0, float lo, float hi) const {
    return {lo, hi, M > 1 ? table.data() + (c0 / 8) * native::kDwMultEntry : nullptr};
  }
  const float* weights(size_t c0) const { return packed.data() + (c0 / 16) * 16 * (1 + taps); }
};

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

// Pixel strides of a layout (floats): input ps_in >= C, output ps_out >= oc.
void strides(Layout l, size_t C, size_t oc, size_t* ps_in, size_t* ps_out) {
  *ps_in = l == kWide ? round_up(C, 16) : l == kMisaligned ? C + 1 : C;
  *ps_out = l == kWide ? round_up(oc, 16) + 16 : l == kMisaligned ? oc + 3 : oc;
}

// Where n floats go in a buffer of round_up(n + 1, 16) (its start is 64-byte aligned): at the
// start (wide), one float after it (misaligned), or ending right at the guard page (tight).
float* place(GuardedArray<float>& buf, size_t n, Layout l) {
  return l == kWide ? buf.data() : l == kMisaligned ? buf.data() + 1 : buf.data() + buf.size() - n;
}

// Compares out (pixels x ps_out, the call's channels c0..oc-1 written) with ref; the other
// floats must still be the sentinel.
bool check(const char* name, const float* out, size_t pixels, size_t ps_out, size_t c0, size_t oc,
           const std::vector<double>& ref, const std::vector<double>& tol) {
  for (size_t x = 0; x < pixels; ++x)
    for (size_t j = 0; j < ps_out; ++j) {
      const float got = out[x * ps_out + j];
      if (j < c0 || j >= oc) {
        if (!ce::test::detail::is_sentinel(got)) {
          std::fprintf(stderr, "%s: pixel %zu float %zu (outside channels %zu..%zu) written\n",
                       name, x, j, c0, oc - 1);
          return false;
        }
        continue;
      }
      const size_t i = x * oc + j;
      if (!(std::fabs(got - ref[i]) <= tol[i])) {
        std::fprintf(stderr, "%s: pixel %zu channel %zu: got %.9g, want %.9g (tol %.3g)\n", name,
                     x, j, got, ref[i], tol[i]);
        return false;
      }
    }
  return true;
}

// The expected outputs of channels c0.. of `pixels` pixels and their tolerances, where
// pixel(x, t) is the input pixel (channel 0) of tap t of output x; then clamp bounds from their
// range (when `clamp`) and the call's parameters.
template <class Pixel>
native::DwParams reference(const Layer& L, size_t c0, size_t pixels, bool clamp,
                           std::vector<double>* ref, std::vector<double>* tol, Pixel&& pixel) {
  ref->assign(pixels * L.oc, 0.0);
  tol->assign(pixels * L.oc, 0.0);
  for (size_t x = 0; x < pixels; ++x)
    for (size_t oc = c0; oc < L.oc; ++oc) {
      double s = L.b[oc], a = std::fabs(L.b[oc]);
      for (size_t t = 0; t < L.taps; ++t) {
        const double p = double(pixel(x, t)[oc / L.M]) * L.w[oc * L.taps + t];
        s += p;
        a += std::fabs(p);
      }
      (*ref)[x * L.oc + oc] = s;
      (*tol)[x * L.oc + oc] = ce::test::detail::tolerance(L.taps, a);
    }
  float lo = -INFINITY, hi = INFINITY;
  if (clamp) ce::test::detail::clamp_bounds(*ref, 64, 192, &lo, &hi);
  for (double& r : *ref) r = ce::test::detail::clamp(r, lo, hi);
  return L.params(c0, lo, hi);
}

// One row-kernel call: `pixels` outputs of a kh x kw kernel at the given stride and dilation
// (in pixels), channels c0..C*M-1 of the layer.
bool row_case(const char* name, native::DwRowFn fn, size_t C, size_t M, size_t c0, size_t pixels,
              size_t kh, size_t kw, size_t stride, size_t dil, Layout layout, bool clamp,
              bool any_alignment, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  const Layer L(C, M, kh * kw, rng);
  size_t ps_in, ps_out;
  strides(layout, C, L.oc, &ps_in, &ps_out);
  // kh rows of (pixels - 1) * stride + (kw - 1) * dil + 1 pixels, each before a guard page.
  const size_t row_px = (pixels - 1) * stride + (kw - 1) * dil + 1;
  const size_t row_floats = row_px * ps_in;
  std::vector<std::unique_ptr<GuardedArray<float>>> bufs;
  std::vector<const float*> rows(kh);
  for (size_t ky = 0; ky < kh; ++ky) {
    bufs.push_back(std::make_unique<GuardedArray<float>>(round_up(row_floats + 1, 16), NAN));
    GuardedArray<float>& buf = *bufs.back();
    float* row = place(buf, row_floats, layout);
    for (size_t q = 0; q < row_px; ++q)
      for (size_t c = 0; c < C; ++c) row[q * ps_in + c] = d(rng);
    rows[ky] = row;
  }
  const size_t out_floats = pixels * ps_out;
  GuardedArray<float> out(round_up(out_floats + 1, 16), ce::test::detail::sentinel());
  float* o = place(out, out_floats, layout);
  std::vector<double> ref, tol;
  native::DwParams p = reference(L, c0, pixels, clamp, &ref, &tol, [&](size_t x, size_t t) {
    return rows[t / kw] + (x * stride + (t % kw) * dil) * ps_in;
  });
  p.any_alignment = any_alignment;
  std::vector<const float*> call_rows(kh);
  for (size_t ky = 0; ky < kh; ++ky) call_rows[ky] = rows[ky] + (M == 1 ? c0 : 0);
  fn(L.oc - c0, pixels, call_rows.data(), stride * ps_in, dil * ps_in, kh, kw, L.weights(c0),
     o + c0, ps_out, &p);
  return check(name, o, pixels, ps_out, c0, L.oc, ref, tol);
}

// One indirect call: `pixels` outputs of `ks` taps, each tap a random input pixel or the zero
// buffer.
bool ind_case(const char* name, native::DwIndFn fn, size_t C, size_t M, size_t c0, size_t pixels,
              size_t ks, Layout layout, bool clamp, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  const Layer L(C, M, ks, rng);
  size_t ps_in, ps_out;
  strides(layout, C, L.oc, &ps_in, &ps_out);
  const size_t npx = 11;
  GuardedArray<float> in(round_up(npx * ps_in + 1, 16), NAN);
  float* img = place(in, npx * ps_in, layout);
  for (size_t q = 0; q < npx; ++q)
    for (size_t c = 0; c < C; ++c) img[q * ps_in + c] = d(rng);
  GuardedArray<float> zero(round_up(C + 16, 16), 0.0f);
  std::vector<const float*> taps(pixels * ks);
  for (auto& t : taps) {
    const size_t q = rng() % (npx + 2);
    t = q < npx ? img + q * ps_in : zero.data();
  }
  const size_t out_floats = pixels * ps_out;
  GuardedArray<float> out(round_up(out_floats + 1, 16), ce::test::detail::sentinel());
  float* o = place(out, out_floats, layout);
  std::vector<double> ref, tol;
  const native::DwParams p = reference(L, c0, pixels, clamp, &ref, &tol,
                                       [&](size_t x, size_t t) { return taps[x * ks + t]; });
  std::vector<const float*> call_taps(taps);
  if (M == 1)
    for (auto& t : call_taps) t += c0;
  fn(L.oc - c0, pixels, call_taps.data(), ks, L.weights(c0), o + c0, ps_out, &p);
  return check(name, o, pixels, ps_out, c0, L.oc, ref, tol);
}

// Around the 4-channel q registers of the NEON kernels, the 8-channel strips and 16-channel tiles.
const size_t kChannels[] = {1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 33, 47, 48, 72};

void row_cases(Runner& r, const RowKernel& k) {
  if (!r.begin(k.name, k.isa)) return;
  struct Geo {
    size_t kh, kw, stride, dil;
  };
  std::vector<Geo> geos;
  if (k.k && k.stride_per_dil) {
    for (size_t dil : {1, 2})
      geos.push_back({size_t(k.k), size_t(k.k), k.stride_per_dil * dil, dil});
  } else if (k.k) {
    for (size_t s : {1, 2, 3}) geos.push_back({size_t(k.k), size_t(k.k), s, s == 1 ? 2u : 1u});
  } else {
    geos = {{1, 1, 2, 1}, {3, 5, 1, 1}, {4, 4, 3, 2}, {2, 3, 2, 1}, {7, 1, 1, 1}};
  }
  uint32_t seed = 1;
  // any: DwParams::any_alignment (the AVX-512 kernels' zmm path on tight and misaligned rows).
  for (const Geo& g : geos)
    for (int layout : {kTight, kWide, kMisaligned})
      for (bool any : {false, true})
        for (size_t M : {1, 2, 3})
          for (size_t C : kChannels)
            for (size_t pixels : {1, 2, 3, 6, 7, 8, 12, 13, 23}) {
              if (any && layout == kWide) continue;
              const size_t oc = C * M;
              // Calls from channel 0 and, past the first tile, from channel 16.
              for (size_t c0 : {size_t(0), size_t(16)}) {
                if (c0 && oc <= 16) continue;
                if (c0 && pixels != 13) continue;
                const bool clamp = (C + pixels) % 3 == 0;
                char name[192];
                std::snprintf(name, sizeof name, "%s.%zux%zu_s%zu_d%zu.%s%s.C%zu_M%zu_c%zu_p%zu%s",
                              k.name, g.kh, g.kw, g.stride, g.dil, kLayoutName[layout],
                              any ? "_any" : "", C, M, c0, pixels, clamp ? "_clamp" : "");
                r.run(name, [&](const char* n) {
                  return row_case(n, k.fn, C, M, c0, pixels, g.kh, g.kw, g.stride, g.dil,
                                  Layout(layout), clamp, any, seed++);
                });
              }
            }
}

void ind_cases(Runner& r, const IndKernel& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  for (size_t ks : {1, 9, 25})
    for (int layout : {kTight, kWide, kMisaligned})
      for (size_t M : {1, 2, 3})
        for (size_t C :
             {1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 24, 31, 33, 47, 48, 64, 72, 80, 100})
          for (size_t pixels : {1, 2, 3})
            for (size_t c0 : {size_t(0), size_t(16)}) {
              if (c0 && C * M <= 16) continue;
              const bool clamp = (C + pixels) % 3 == 0;
              char name[192];
              std::snprintf(name, sizeof name, "%s.ks%zu.%s.C%zu_M%zu_c%zu_p%zu%s", k.name, ks,
                            kLayoutName[layout], C, M, c0, pixels, clamp ? "_clamp" : "");
              r.run(name, [&](const char* n) {
                return ind_case(n, k.fn, C, M, c0, pixels, ks, Layout(layout), clamp, seed++);
              });
            }
}

// Every kernel dwconv_kernels() hands out at each level the CPU has is one tested here.
bool check_dispatch() {
  std::set<const void*> tested;
  for (const auto& k : kRow) tested.insert(reinterpret_cast<const void*>(k.fn));
  for (const auto& k : kInd) tested.insert(reinterpret_cast<const void*>(k.fn));
  bool ok = true;
  for (ce::Isa isa : {kScalar, kFma3, kAvx512f, kNeon}) {
    if (!ce::cpu_supports(isa)) continue;
    const ce::DwConvKernels& k = ce::dwconv_kernels(isa);
    for (native::DwRowFn fn :
         {k.row_3x3s1, k.row_3x3s2, k.row_5x5s1, k.row_7x7s1, k.row_5x5s2, k.row_5x5, k.row_kxk})
      if (!tested.count(reinterpret_cast<const void*>(fn))) {
        std::printf("dispatch: %s hands out an untested row kernel\n", k.name);
        ok = false;
      }
    if (!tested.count(reinterpret_cast<const void*>(k.ind))) {
      std::printf("dispatch: %s hands out an untested indirect kernel\n", k.name);
      ok = false;
    }
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Runner r(argc, argv);
  for (const auto& k : kRow) row_cases(r, k);
  for (const auto& k : kInd) ind_cases(r, k);
  const bool dispatch_ok = check_dispatch();
  return r.finish() != 0 || !dispatch_ok ? 1 : 0;
}
