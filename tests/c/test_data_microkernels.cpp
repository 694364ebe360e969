// The data-movement and sampling microkernels of every ISA level the CPU has, each against its
// scalar twin: pooling (pool.h), bilinear resize rows (resize.h), the 2D transpose (transpose.h),
// channel-shuffle zips (elementwise.h), rounding (round.h), GridSample's blend and 2-D rows
// (gridsample.h), the deformable-conv bilinear gather (deform/bilinear.h) and the locally
// connected dot products (local.h). Cases are named XNNPACK-style after their parameters:
// channel counts 1..(3 x tile + 3) and odd / prime ones, windows, strides, padding, NaN and
// +-inf, rounding ties, samples outside the image.
//
// Comparison, element by element with the scalar kernel's output:
//   bits   bit for bit: transpose, zip, round, GridSample nearest (and linear on NEON, whose
//          2-D row kernel and the scalar one both compile without FMA contraction);
//   value  equal values, any NaN for NaN and either sign for zero: maxpool (fmax / vmaxps keep
//          +0 or the later operand where the scalar loop keeps the first of two equal zeros,
//          and the AVX2 kernel marks NaN lanes all-ones);
//   tol    |kernel - scalar| <= 2 gamma(terms + 2) sum |terms| (the bound of
//          gemm_microkernel_tester.h's tolerance() on each side), NaN for NaN: the sums, whose
//          kernels may fuse, split or reorder the additions.
// Memory: every input and output ends right before an inaccessible page (a read or write past
// the contract faults; the crash handler names the case); input floats a kernel must not read
// are NaN; output floats it must not write hold a sentinel compared bit for bit.
// A kernel above the CPU's level, or above the one CONVENGINE_ISA forces, is skipped with the
// reason. Also checks that engine/dispatch.cpp hands out only kernels tested here.
//
//   test_data_microkernels [-v] [FILTER]   FILTER: run the cases whose name contains it
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
#include "native/deform/bilinear.h"
#include "native/elementwise/elementwise.h"
#include "native/gridsample/gridsample.h"
#include "native/layout/transpose.h"
#include "native/local/local.h"
#include "native/pool/pool.h"
#include "native/resize/resize.h"
#include "native/round/round.h"
#include "tests/c/gemm_microkernel_tester.h"
#include "tests/c/kernel_test_runner.h"

namespace native = ce::native;
using ce::test::GuardedArray;
using ce::test::detail::is_sentinel;
using ce::test::detail::sentinel;

namespace {

using Runner = ce::test::CaseRunner;

constexpr ce::Isa kScalar = ce::Isa::kScalar, kAvx2 = ce::Isa::kAvx2,
                  kAvx512 = ce::Isa::kAvx512, kNeon = ce::Isa::kNeon;

// A kernel under test: `tile` is its channel (or row, sample, group) step, which sets the
// sizes around it that the cases cover.
template <class Fn>
struct Kernel {
  const char* name;
  Fn fn;
  ce::Isa isa;
  size_t tile;
};

#if defined(__x86_64__) || defined(__i386__)
#define CE_TEST_X86 1
#elif defined(__aarch64__)
#define CE_TEST_ARM64 1
#endif

#define CE_KERNEL(fn, isa, tile) \
  Kernel<decltype(&native::fn)> { #fn, native::fn, isa, tile }

// tile: for a zip the number of groups, for the 2-D GridSample row samples per step, for the
// local dot product floats of the reduction per step of the widest split.
#if CE_TEST_X86
const std::vector<Kernel<native::MaxPoolFn>> kMaxPool = {CE_KERNEL(f32_maxpool_32c__avx2, kAvx2, 32)};
const std::vector<Kernel<native::AvgPoolFn>> kAvgPool = {CE_KERNEL(f32_avgpool_32c__avx2, kAvx2, 32)};
const std::vector<Kernel<native::GAvgPoolFn>> kGAvgPool = {
    CE_KERNEL(f32_gavgpool_32c__avx2, kAvx2, 32), CE_KERNEL(f32_gavgpool_64c__avx512f, kAvx512, 64)};
const std::vector<Kernel<native::GAvgPoolCwFn>> kGAvgPoolCw = {
    CE_KERNEL(f32_gavgpool_cw__avx2, kAvx2, 32)};
const std::vector<Kernel<native::IBilinearFn>> kIBilinear = {
    CE_KERNEL(f32_ibilinear_16c__avx2, kAvx2, 16)};
const std::vector<Kernel<native::TransposeFn>> kTranspose = {
    CE_KERNEL(f32_transpose__avx2, kAvx2, 8), CE_KERNEL(f32_transpose_16x16__avx512f, kAvx512, 16)};
const std::vector<Kernel<native::ZipFn>> kZip = {CE_KERNEL(x32_zip_x2__avx2, kAvx2, 2),
                                                 CE_KERNEL(x32_zip_x4__avx2, kAvx2, 4)};
const std::vector<Kernel<native::VRoundFn>> kRound = {CE_KERNEL(f32_vround__avx2, kAvx2, 32)};
const std::vector<Kernel<native::GridBlendFn>> kGridBlend = {
    CE_KERNEL(f32_gridsample_blend_16c__fma3, kAvx2, 16)};
const std::vector<Kernel<native::GridRow2dFn>> kGridRow2d = {
    CE_KERNEL(f32_gridsample_2d_8c__fma3, kAvx2, 8)};
const std::vector<Kernel<native::DeformBilinearFn>> kDeform = {
    CE_KERNEL(f32_deform_bilinear_16c__fma3, kAvx2, 16)};
const std::vector<Kernel<native::LocalConvFn>> kLocal = {
    CE_KERNEL(f32_local_dot_1x4__fma3, kAvx2, 32)};
#elif CE_TEST_ARM64
const std::vector<Kernel<native::MaxPoolFn>> kMaxPool = {CE_KERNEL(f32_maxpool_16c__neon, kNeon, 16)};
const std::vector<Kernel<native::AvgPoolFn>> kAvgPool = {CE_KERNEL(f32_avgpool_16c__neon, kNeon, 16)};
const std::vector<Kernel<native::GAvgPoolFn>> kGAvgPool = {
    CE_KERNEL(f32_gavgpool_16c__neon, kNeon, 16)};
const std::vector<Kernel<native::GAvgPoolCwFn>> kGAvgPoolCw = {
    CE_KERNEL(f32_gavgpool_cw__neon, kNeon, 16)};
const std::vector<Kernel<native::IBilinearFn>> kIBilinear = {
    CE_KERNEL(f32_ibilinear_16c__neon, kNeon, 16)};
const std::vector<Kernel<native::TransposeFn>> kTranspose = {
    CE_KERNEL(f32_transpose_4x4__neon, kNeon, 4)};
const std::vector<Kernel<native::ZipFn>> kZip = {CE_KERNEL(x32_zip_x2__neon, kNeon, 2),
                                                 CE_KERNEL(x32_zip_x3__neon, kNeon, 3),
                                                 CE_KERNEL(x32_zip_x4__neon, kNeon, 4)};
const std::vector<Kernel<native::VRoundFn>> kRound = {CE_KERNEL(f32_vround__neon, kNeon, 16)};
const std::vector<Kernel<native::GridBlendFn>> kGridBlend = {
    CE_KERNEL(f32_gridsample_blend_16c__neon, kNeon, 16)};
const std::vector<Kernel<native::GridRow2dFn>> kGridRow2d = {
    CE_KERNEL(f32_gridsample_2d_8c__neon, kNeon, 4)};
const std::vector<Kernel<native::DeformBilinearFn>> kDeform = {
    CE_KERNEL(f32_deform_bilinear_16c__neon, kNeon, 16)};
const std::vector<Kernel<native::LocalConvFn>> kLocal = {
    CE_KERNEL(f32_local_dot_1x4__neon, kNeon, 32)};
#else  // scalar kernels only: nothing to compare with them
const std::vector<Kernel<native::MaxPoolFn>> kMaxPool;
const std::vector<Kernel<native::AvgPoolFn>> kAvgPool;
const std::vector<Kernel<native::GAvgPoolFn>> kGAvgPool;
const std::vector<Kernel<native::GAvgPoolCwFn>> kGAvgPoolCw;
const std::vector<Kernel<native::IBilinearFn>> kIBilinear;
const std::vector<Kernel<native::TransposeFn>> kTranspose;
const std::vector<Kernel<native::ZipFn>> kZip;
const std::vector<Kernel<native::VRoundFn>> kRound;
const std::vector<Kernel<native::GridBlendFn>> kGridBlend;
const std::vector<Kernel<native::GridRow2dFn>> kGridRow2d;
const std::vector<Kernel<native::DeformBilinearFn>> kDeform;
const std::vector<Kernel<native::LocalConvFn>> kLocal;
#endif
#undef CE_KERNEL

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

enum class Cmp { kBits, kValue, kTol };

// got (the kernel's output buffer) against want (the scalar kernel's, same layout, both filled
// with the sentinel first): sentinel floats must stay, the others compare by `cmp`.
bool compare(const char* name, const float* got, const float* want, size_t n, Cmp cmp,
             double tol = 0.0) {
  for (size_t i = 0; i < n; ++i) {
    const float g = got[i], w = want[i];
    bool ok;
    if (is_sentinel(w) || cmp == Cmp::kBits) ok = bits(g) == bits(w);
    else if (std::isnan(w)) ok = std::isnan(g);
    else if (cmp == Cmp::kValue || std::isinf(w)) ok = g == w;
    else ok = std::fabs(double(g) - w) <= tol;
    if (!ok) {
      std::fprintf(stderr, "%s: float %zu: got %.9g (0x%08x), want %.9g (0x%08x), tol %.3g\n",
                   name, i, g, bits(g), w, bits(w), tol);
      return false;
    }
  }
  return true;
}

// An output buffer pair: the kernel's and the reference's, n floats each before a guard page.
struct Outputs {
  GuardedArray<float> got, want;
  explicit Outputs(size_t n) : got(n, sentinel()), want(n, sentinel()) {}
};

// Either bound of the sum of `terms` terms whose absolute values add to abs_sum (see the file
// comment).
double sum_tol(size_t terms, double abs_sum) {
  return 2.0 * ce::test::detail::tolerance(terms, abs_sum);
}

// 1..(3 x tile + 3) and a few wider odd / prime counts.
std::vector<size_t> channel_counts(size_t tile) {
  std::vector<size_t> v;
  for (size_t c = 1; c <= 3 * tile + 3; ++c) v.push_back(c);
  for (size_t c : {4 * tile + 1, 5 * tile + 7, size_t(127)})
    if (c > 3 * tile + 3) v.push_back(c);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Pooling

// `pixels` windows of kh x kw pixels of `channels` floats along a row, window p starting `step`
// pixels after window p - 1; pixel stride ps >= channels, dilation `dil` (in pixels) along both
// axes; row_stride covers the row's pixels and one more. Floats between the pixels and past the
// windows are NaN, and the last window's last pixel's last channel is the array's last.
struct Window {
  size_t kh, kw, channels, ps, dil, row_stride, col_stride, pixels, in_step, row_px;
  std::unique_ptr<GuardedArray<float>> buf;
  Window(size_t kh_, size_t kw_, size_t channels_, size_t ps_, size_t dil_, size_t pixels_ = 1,
         size_t step = 1)
      : kh(kh_), kw(kw_), channels(channels_), ps(ps_), dil(dil_), pixels(pixels_) {
    col_stride = dil * ps;
    in_step = step * ps;
    row_px = (pixels - 1) * step + (kw ? (kw - 1) * dil + 1 : 1);  // pixels the windows span
    row_stride = (row_px + 1) * ps;
    const size_t n = kh && kw ? (kh - 1) * row_stride + (row_px - 1) * ps + channels
                              : (pixels - 1) * in_step + 1;
    buf = std::make_unique<GuardedArray<float>>(n, NAN);
  }
  template <class Gen>
  void fill(Gen&& gen) {
    for (size_t i = 0; i < kh; ++i)
      for (size_t x = 0; x < row_px && kw; ++x)
        for (size_t c = 0; c < channels; ++c) buf->data()[i * row_stride + x * ps + c] = gen();
  }
  const float* in() const { return buf->data(); }
};

// Data of a pooling window: uniform in [-1, 1], with NaN, +-inf and signed zeros mixed in, or
// all -inf.
enum PoolData { kUniform, kSpecial, kAllNegInf };
const char* const kPoolDataName[] = {"", "_nan_inf", "_all_neg_inf"};

template <class Gen>
float pool_value(PoolData d, std::mt19937& rng, Gen& uni) {
  if (d == kAllNegInf) return -INFINITY;
  if (d == kSpecial) {
    switch (rng() % 10) {
      case 0: return NAN;
      case 1: return INFINITY;
      case 2: return -INFINITY;
      case 3: return -0.0f;
      case 4: return 0.0f;
      default: break;
    }
  }
  return uni(rng);
}

struct PoolGeo {
  size_t kh, kw, dil, pad;  // pad: floats between pixels (ps = channels + pad)
};
const PoolGeo kPoolGeos[] = {{1, 1, 1, 0}, {2, 2, 1, 0}, {3, 3, 1, 0}, {3, 3, 2, 3},
                             {2, 3, 1, 1}, {3, 1, 1, 0}, {1, 2, 3, 0}, {0, 0, 1, 0}};

// Clamp bounds: none, ReLU6 and a narrow band.
struct Clamp {
  float lo, hi;
  const char* name;
};
const Clamp kClamps[] = {{-INFINITY, INFINITY, ""}, {0.0f, 6.0f, "_relu6"},
                         {-0.25f, 0.5f, "_clamp"}};

// Several output pixels per call on some channel counts (C % 4 == 1: 3 windows, 2 pixels apart
// when C % 8 == 1), one on the others; outputs out_step = C + 2 apart, the gaps left alone.
size_t pool_pixels(size_t C) { return C % 4 == 1 ? 3 : 1; }
size_t pool_step(size_t C) { return C % 8 == 1 ? 2 : 1; }

void maxpool_cases(Runner& r, const Kernel<native::MaxPoolFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  for (const PoolGeo& g : kPoolGeos)
    for (size_t C : channel_counts(k.tile))
      for (int data : {kUniform, kSpecial, kAllNegInf})
        for (size_t ci = 0; ci < 3; ++ci) {
          // All widths with the 3x3 window; the others on odd counts and the clamps on a few.
          if (!(g.kh == 3 && g.kw == 3 && g.dil == 1) && C % 2 == 0 && C != k.tile) continue;
          if (data == kAllNegInf && (g.kh != 2 || ci)) continue;
          if (ci && C % 3) continue;
          const size_t P = pool_pixels(C), out_step = C + 2;
          r.run(
              [&](const char* name) {
                std::mt19937 rng(seed++);
                std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
                Window w(g.kh, g.kw, C, C + g.pad, g.dil, P, pool_step(C));
                w.fill([&] { return pool_value(PoolData(data), rng, uni); });
                Outputs out(P * out_step);
                const native::ClampParams p{kClamps[ci].lo, kClamps[ci].hi};
                k.fn(P, g.kh, g.kw, C, w.in(), w.in_step, w.row_stride, w.col_stride,
                     out.got.data(), out_step, &p);
                for (size_t i = 0; i < P; ++i)
                  native::f32_maxpool__scalar(1, g.kh, g.kw, C, w.in() + i * w.in_step, 0,
                                              w.row_stride, w.col_stride,
                                              out.want.data() + i * out_step, 0, &p);
                return compare(name, out.got.data(), out.want.data(), P * out_step, Cmp::kValue);
              },
              "%s.%zux%zu_d%zu_pad%zu.c%zu_px%zu%s%s", k.name, g.kh, g.kw, g.dil, g.pad, C, P,
              kPoolDataName[data], kClamps[ci].name);
        }
}

void avgpool_cases(Runner& r, const Kernel<native::AvgPoolFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  for (const PoolGeo& g : kPoolGeos)
    for (size_t C : channel_counts(k.tile))
      for (size_t ci = 0; ci < 3; ++ci) {
        if (!(g.kh == 3 && g.kw == 3 && g.dil == 1) && C % 2 == 0 && C != k.tile) continue;
        if (ci && C % 3) continue;
        const size_t P = pool_pixels(C), out_step = C + 2;
        r.run(
            [&](const char* name) {
              std::mt19937 rng(seed++);
              std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
              Window w(g.kh, g.kw, C, C + g.pad, g.dil, P, pool_step(C));
              w.fill([&] { return uni(rng); });
              Outputs out(P * out_step);
              const native::ClampParams p{kClamps[ci].lo, kClamps[ci].hi};
              // 1 / (the padded window's size), as count_include_pad gives at a border
              const float scale = 1.0f / float(g.kh * g.kw + 1);
              k.fn(P, g.kh, g.kw, C, w.in(), w.in_step, w.row_stride, w.col_stride, scale,
                   out.got.data(), out_step, &p);
              for (size_t i = 0; i < P; ++i)
                native::f32_avgpool__scalar(1, g.kh, g.kw, C, w.in() + i * w.in_step, 0,
                                            w.row_stride, w.col_stride, scale,
                                            out.want.data() + i * out_step, 0, &p);
              return compare(name, out.got.data(), out.want.data(), P * out_step, Cmp::kTol,
                             sum_tol(g.kh * g.kw + 1, scale * g.kh * g.kw));
            },
            "%s.%zux%zu_d%zu_pad%zu.c%zu_px%zu%s", k.name, g.kh, g.kw, g.dil, g.pad, C, P,
            kClamps[ci].name);
      }
}

void gavgpool_cases(Runner& r, const Kernel<native::GAvgPoolFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  for (size_t rows : {1, 2, 3, 7, 49})
    for (size_t C : channel_counts(k.tile))
      for (size_t pad : {0, 5}) {
        if (pad && C % 2 == 0) continue;
        r.run(
            [&](const char* name) {
              std::mt19937 rng(seed++);
              std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
              Window w(rows, 1, C, C + pad, 1);  // rows of one pixel: in_stride = row_stride
              w.fill([&] { return uni(rng); });
              Outputs out(C);
              const float scale = 1.0f / float(rows);
              k.fn(rows, C, w.in(), w.row_stride, scale, out.got.data());
              native::f32_gavgpool__scalar(rows, C, w.in(), w.row_stride, scale, out.want.data());
              return compare(name, out.got.data(), out.want.data(), C, Cmp::kTol,
                             sum_tol(rows + 1, 1.0));
            },
            "%s.rows%zu.c%zu_stride+%zu", k.name, rows, C, pad);
      }
}

void gavgpool_cw_cases(Runner& r, const Kernel<native::GAvgPoolCwFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  std::vector<size_t> pixel_counts = channel_counts(k.tile);
  for (size_t p : {49, 196, 3136}) pixel_counts.push_back(p);
  for (size_t planes : {1, 2, 3, 5})
    for (size_t pixels : pixel_counts) {
      if (planes != 3 && pixels % 2 == 0) continue;
      r.run(
          [&](const char* name) {
            std::mt19937 rng(seed++);
            std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
            GuardedArray<float> in(planes * pixels);
            for (size_t i = 0; i < in.size(); ++i) in[i] = uni(rng);
            Outputs out(planes);
            const float scale = 1.0f / float(pixels);
            k.fn(planes, pixels, in.data(), scale, out.got.data());
            native::f32_gavgpool_cw__scalar(planes, pixels, in.data(), scale, out.want.data());
            return compare(name, out.got.data(), out.want.data(), planes, Cmp::kTol,
                           sum_tol(pixels + 1, 1.0));
          },
          "%s.planes%zu.pixels%zu", k.name, planes, pixels);
    }
}

// ---------------------------------------------------------------------------------------------
// Bilinear gathers: resize rows, GridSample blend, deformable conv

// `count` input pixels of c floats (uniform in [-1, 1]) at pixel stride c, the last one ending
// at the guard page, and a buffer of c zeros, also guarded.
struct Pixels {
  GuardedArray<float> img, zero;
  size_t count, c;
  Pixels(size_t count_, size_t c_, std::mt19937& rng)
      : img(count_ * c_), zero(c_, 0.0f), count(count_), c(c_) {
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (size_t i = 0; i < img.size(); ++i) img[i] = uni(rng);
  }
  // A random pixel (the last one often, next to the guard page) or, when `zeros`, sometimes
  // the zero buffer.
  const float* pick(std::mt19937& rng, bool zeros) {
    const size_t q = rng() % (count + 2);
    if (q == count + 1 && zeros) return zero.data();
    return img.data() + (q < count ? q : count - 1) * c;
  }
};

// `rows` output rows of C floats, out_stride = C + pad apart: call(got, want, out_stride) runs
// the kernel and the scalar one, whose outputs then agree within tol.
template <class Call>
bool rows_case(const char* name, size_t rows, size_t C, size_t pad, double tol, Call&& call) {
  const size_t out_stride = C + pad;
  Outputs out((rows - 1) * out_stride + C);
  call(out.got.data(), out.want.data(), out_stride);
  return compare(name, out.got.data(), out.want.data(), out.got.size(), Cmp::kTol, tol);
}

void ibilinear_cases(Runner& r, const Kernel<native::IBilinearFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  for (size_t pixels : {1, 2, 3, 5})
    for (size_t C : channel_counts(k.tile))
      for (size_t pad : {0, 3}) {
        if ((pixels != 2 || pad) && C % 2 == 0 && C != k.tile) continue;
        r.run(
            [&](const char* name) {
              std::mt19937 rng(seed++);
              std::uniform_real_distribution<float> unit(0.0f, 1.0f);
              Pixels px(7, C, rng);
              std::vector<const float*> in(4 * pixels);
              for (auto& p : in) p = px.pick(rng, false);
              GuardedArray<float> wx(2 * pixels);
              for (size_t p = 0; p < pixels; ++p) wx[2 * p] = unit(rng), wx[2 * p + 1] = 1 - wx[2 * p];
              const float h0 = unit(rng), h1 = 1.0f - h0;
              // 4 products of weights summing to 1 with |x| <= 1, three roundings deep
              return rows_case(name, pixels, C, pad, sum_tol(6, 1.0),
                               [&](float* got, float* want, size_t os) {
                                 k.fn(pixels, C, in.data(), wx.data(), h0, h1, got, os);
                                 native::f32_ibilinear__scalar(pixels, C, in.data(), wx.data(),
                                                               h0, h1, want, os);
                               });
            },
            "%s.p%zu.c%zu_stride+%zu", k.name, pixels, C, pad);
      }
}

void grid_blend_cases(Runner& r, const Kernel<native::GridBlendFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  for (size_t taps : {1, 4, 8, 16, 5})
    for (size_t n : {1, 3})
      for (size_t C : channel_counts(k.tile))
        for (size_t pad : {0, 2}) {
          if ((taps != 4 || pad) && C % 2 == 0 && C != k.tile) continue;
          r.run(
              [&](const char* name) {
                std::mt19937 rng(seed++);
                std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
                Pixels px(9, C, rng);
                std::vector<const float*> ptr(n * taps);
                for (auto& p : ptr) p = px.pick(rng, true);
                GuardedArray<float> coef(n * taps);
                double wsum = 0.0;
                for (size_t i = 0; i < coef.size(); ++i)
                  coef[i] = uni(rng), wsum = std::max(wsum, double(std::fabs(coef[i])));
                return rows_case(name, n, C, pad, sum_tol(taps, double(taps) * wsum),
                                 [&](float* got, float* want, size_t os) {
                                   k.fn(n, taps, C, ptr.data(), coef.data(), got, os);
                                   native::f32_gridsample_blend__scalar(n, taps, C, ptr.data(),
                                                                        coef.data(), want, os);
                                 });
              },
              "%s.taps%zu.n%zu.c%zu_stride+%zu", k.name, taps, n, C, pad);
        }
}

void deform_cases(Runner& r, const Kernel<native::DeformBilinearFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  for (size_t n : {1, 2, 5})
    for (size_t C : channel_counts(k.tile))
      for (size_t pad : {0, 3}) {
        if ((n != 2 || pad) && C % 2 == 0 && C != k.tile) continue;
        r.run(
            [&](const char* name) {
              std::mt19937 rng(seed++);
              std::uniform_real_distribution<float> unit(0.0f, 1.0f);
              Pixels px(6, C, rng);
              std::vector<const float*> corner(4 * n);
              for (auto& p : corner) p = px.pick(rng, true);  // outside corners: the zeros
              GuardedArray<float> coef(4 * n);
              for (size_t s = 0; s < n; ++s) {  // bilinear weights times a v2 mask
                const float ty = unit(rng), tx = unit(rng), m = unit(rng);
                coef[4 * s] = (1 - ty) * (1 - tx) * m, coef[4 * s + 1] = (1 - ty) * tx * m;
                coef[4 * s + 2] = ty * (1 - tx) * m, coef[4 * s + 3] = ty * tx * m;
              }
              return rows_case(name, n, C, pad, sum_tol(4, 1.0),
                               [&](float* got, float* want, size_t os) {
                                 k.fn(n, C, corner.data(), coef.data(), got, os);
                                 native::f32_deform_bilinear_4c__scalar(n, C, corner.data(),
                                                                        coef.data(), want, os);
                               });
            },
            "%s.n%zu.c%zu_stride+%zu", k.name, n, C, pad);
      }
}

// ---------------------------------------------------------------------------------------------
// Exact data movement: transpose, zip, round

void transpose_cases(Runner& r, const Kernel<native::TransposeFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  const size_t top = 3 * k.tile + 3;
  std::vector<size_t> sizes;
  for (size_t s = 1; s <= top; ++s) sizes.push_back(s);
  sizes.push_back(4 * k.tile + 5);
  for (size_t rows : sizes)
    for (size_t cols : sizes)
      for (size_t sp : {0, 1})
        for (size_t dp : {0, 3}) {
          // every shape tight; the strided layouts on odd shapes
          if ((sp || dp) && rows % 2 == 0 && cols % 2 == 0) continue;
          r.run(
              [&](const char* name) {
                std::mt19937 rng(seed++);
                const size_t ss = cols + sp, ds = rows + dp;
                GuardedArray<float> src((rows - 1) * ss + cols, NAN);
                for (size_t i = 0; i < rows; ++i)
                  for (size_t j = 0; j < cols; ++j) {
                    const uint32_t b = rng() & 0xbfffffffu;  // any bits but NaN / inf
                    std::memcpy(&src[i * ss + j], &b, sizeof b);
                  }
                Outputs out((cols - 1) * ds + rows);
                k.fn(rows, cols, src.data(), ss, out.got.data(), ds);
                native::f32_transpose__scalar(rows, cols, src.data(), ss, out.want.data(), ds);
                return compare(name, out.got.data(), out.want.data(), out.got.size(), Cmp::kBits);
              },
              "%s.%zux%zu_src+%zu_dst+%zu", k.name, rows, cols, sp, dp);
        }
}

void zip_cases(Runner& r, const Kernel<native::ZipFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  const size_t m = k.tile;
  for (size_t n = 1; n <= 27; ++n)
    r.run(
        [&](const char* name) {
          std::mt19937 rng(seed++);
          GuardedArray<float> x(m * n);
          for (size_t i = 0; i < x.size(); ++i) {
            const uint32_t b = rng() & 0xbfffffffu;
            std::memcpy(&x[i], &b, sizeof b);
          }
          Outputs out(m * n);
          k.fn(n, m, x.data(), out.got.data());
          native::x32_zip_xm__scalar(n, m, x.data(), out.want.data());
          return compare(name, out.got.data(), out.want.data(), m * n, Cmp::kBits);
        },
        "%s.groups%zu.n%zu", k.name, m, n);
}

const char* const kRoundName[] = {"floor", "ceil", "nearest_even", "sign"};

void round_cases(Runner& r, const Kernel<native::VRoundFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  // Ties, halves near them, integers, the limits of exact float integers and beyond, signed
  // zeros, infinities, NaN.
  const float specials[] = {0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 3.5f, 0.49999997f,
                            -0.49999997f, 0.50000006f, 1.0f, -1.0f, 0.0f, -0.0f, 8388607.5f,
                            -8388607.5f, 8388608.0f, 8388609.0f, 16777216.0f, 1e30f, -1e30f,
                            3.4e38f, -3.4e38f, 1e-30f, -1e-30f, INFINITY, -INFINITY, NAN, -NAN};
  uint32_t seed = 1;
  std::vector<size_t> counts = channel_counts(k.tile);
  for (int mode = 0; mode < 4; ++mode)
    for (size_t n : counts)
      for (int inplace : {0, 1}) {
        if (inplace && n % 2 == 0) continue;
        r.run(
            [&](const char* name) {
              std::mt19937 rng(seed++);
              std::uniform_real_distribution<float> uni(-8.0f, 8.0f);
              GuardedArray<float> x(n);
              for (size_t i = 0; i < n; ++i) {
                const uint32_t q = rng() % 4;
                x[i] = q == 0 ? specials[rng() % (sizeof specials / sizeof *specials)]
                       : q == 1 ? std::round(uni(rng) * 2.0f) / 2.0f  // ties and integers
                                : uni(rng);
              }
              Outputs out(n);
              native::f32_vround__scalar(n, x.data(), out.want.data(), native::RoundMode(mode));
              if (inplace) {
                std::memcpy(out.got.data(), x.data(), n * sizeof(float));
                k.fn(n, out.got.data(), out.got.data(), native::RoundMode(mode));
              } else {
                k.fn(n, x.data(), out.got.data(), native::RoundMode(mode));
              }
              return compare(name, out.got.data(), out.want.data(), n, Cmp::kBits);
            },
            "%s.%s.n%zu%s", k.name, kRoundName[mode], n, inplace ? "_inplace" : "");
      }
}

// ---------------------------------------------------------------------------------------------
// GridSample 2-D rows

void grid_row_cases(Runner& r, const Kernel<native::GridRow2dFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  const size_t h = 5, w = 7;
  for (int linear : {1, 0})
    for (int border : {0, 1})
      for (int align : {0, 1})
        for (size_t c = 1; c <= 8; ++c)
          for (size_t n : {size_t(1), k.tile - 1, k.tile, k.tile + 1, 2 * k.tile + 3, size_t(29)})
            for (size_t pad : {0, 1}) {
              if (pad && (c % 2 == 0 || n != k.tile + 1)) continue;
              r.run(
                  [&](const char* name) {
                    std::mt19937 rng(seed++);
                    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
                    const size_t ps = c + pad;
                    GuardedArray<float> img((h * w - 1) * ps + c, NAN);
                    for (size_t p = 0; p < h * w; ++p)
                      for (size_t q = 0; q < c; ++q) img[p * ps + q] = uni(rng);
                    // (x, y) per sample: inside, outside (past the +-4 pixel clamp too), on
                    // pixel centres and halfway between them (nearest's ties), NaN.
                    GuardedArray<float> g(2 * n);
                    auto value = [&](size_t size) -> float {
                      switch (rng() % 8) {
                        case 0: return std::uniform_real_distribution<float>(-3.0f, 3.0f)(rng);
                        case 1: {  // within 2 ulps of x = i + 0.5 (ties) or x = i
                          const float px = float(int(rng() % (size + 4)) - 2) + (rng() % 2 ? 0.5f : 0.0f);
                          float v = align ? px * 2.0f / float(size - 1) - 1.0f
                                          : (2.0f * px + 1.0f) / float(size) - 1.0f;
                          for (int u = int(rng() % 5) - 2; u; u += u < 0 ? 1 : -1)
                            v = std::nextafter(v, u < 0 ? -INFINITY : INFINITY);
                          return v;
                        }
                        case 2: return rng() % 16 ? 1.0f : NAN;
                        default: return std::uniform_real_distribution<float>(-1.2f, 1.2f)(rng);
                      }
                    };
                    for (size_t s = 0; s < n; ++s) g[2 * s] = value(w), g[2 * s + 1] = value(h);
                    const int64_t out_ps = int64_t(c + 2 * pad);
                    Outputs out((n - 1) * out_ps + c);
                    native::GridRow2d row{img.data(), int64_t(h), int64_t(w), int64_t(ps),
                                          g.data(), 2, 1, n, c, out.got.data(), out_ps,
                                          bool(linear), bool(border), bool(align)};
                    k.fn(row);
                    row.out = out.want.data();
                    native::f32_gridsample_2d_8c__scalar(row);
                    // Nearest copies pixels. Linear sums 4 products of weights summing to 1:
                    // with FMA (fma3) within the tolerance, unfused (neon, as the scalar
                    // kernel) bit for bit.
                    const bool exact = !linear || k.isa == kNeon;
                    return compare(name, out.got.data(), out.want.data(), out.got.size(),
                                   exact ? Cmp::kBits : Cmp::kTol, sum_tol(6, 1.0));
                  },
                  "%s.%s_%s%s.c%zu.n%zu%s", k.name, linear ? "linear" : "nearest",
                  border ? "border" : "zeros", align ? "_align" : "", c, n, pad ? "_strided" : "");
            }
}

// ---------------------------------------------------------------------------------------------
// Locally connected dot products

void local_cases(Runner& r, const Kernel<native::LocalConvFn>& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  std::vector<size_t> kcs;
  for (size_t kc = 1; kc <= k.tile + 3; ++kc) kcs.push_back(kc);
  for (size_t kc : {size_t(3 * k.tile + 3), size_t(27), size_t(75), size_t(147), size_t(301)})
    kcs.push_back(kc);
  for (size_t n = 1; n <= 9; ++n)
    for (size_t kc : kcs)
      for (size_t nc : {1, 3})
        for (int clamp : {0, 1}) {
          if ((nc == 3 || clamp) && kc % 2 == 0) continue;
          if (n > 5 && n != 9 && kc < k.tile) continue;
          r.run(
              [&](const char* name) {
                std::mt19937 rng(seed++);
                std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
                const size_t w_stride = kc + (nc == 3 ? 3 : 0), cm_stride = nc + 2;
                GuardedArray<float> wts((nc - 1) * w_stride + kc, NAN);
                for (size_t o = 0; o < nc; ++o)
                  for (size_t q = 0; q < kc; ++q) wts[o * w_stride + q] = uni(rng);
                GuardedArray<float> bias(nc);
                for (size_t o = 0; o < nc; ++o) bias[o] = uni(rng);
                std::vector<std::unique_ptr<GuardedArray<float>>> patches;
                std::vector<const float*> a(n);
                for (size_t i = 0; i < n; ++i) {
                  patches.push_back(std::make_unique<GuardedArray<float>>(kc));
                  for (size_t q = 0; q < kc; ++q) (*patches.back())[q] = uni(rng);
                  a[i] = patches.back()->data();
                }
                const native::ClampParams p = clamp ? native::ClampParams{-0.5f, 0.75f}
                                                    : native::ClampParams{-INFINITY, INFINITY};
                Outputs out((n - 1) * cm_stride + nc);
                k.fn(n, nc, kc, a.data(), wts.data(), w_stride, bias.data(), out.got.data(),
                     cm_stride, &p);
                native::f32_local_dot_1x4__scalar(n, nc, kc, a.data(), wts.data(), w_stride,
                                                  bias.data(), out.want.data(), cm_stride, &p);
                return compare(name, out.got.data(), out.want.data(), out.got.size(), Cmp::kTol,
                               sum_tol(kc + 1, double(kc) + 1.0));
              },
              "%s.n%zu.nc%zu.kc%zu%s", k.name, n, nc, kc, clamp ? "_clamp" : "");
        }
}

// ---------------------------------------------------------------------------------------------

template <class Fn>
void add(std::set<const void*>& s, const std::vector<Kernel<Fn>>& ks) {
  for (const auto& k : ks) s.insert(reinterpret_cast<const void*>(k.fn));
}

// Every kernel of this file's families that dispatch.cpp hands out at a level the CPU has is
// tested here, or is the scalar reference.
bool check_dispatch() {
  std::set<const void*> tested;
  add(tested, kMaxPool), add(tested, kAvgPool), add(tested, kGAvgPool), add(tested, kGAvgPoolCw);
  add(tested, kIBilinear), add(tested, kTranspose), add(tested, kZip), add(tested, kRound);
  add(tested, kGridBlend), add(tested, kGridRow2d), add(tested, kDeform), add(tested, kLocal);
  for (const void* f : {reinterpret_cast<const void*>(native::f32_maxpool__scalar),
                        reinterpret_cast<const void*>(native::f32_avgpool__scalar),
                        reinterpret_cast<const void*>(native::f32_gavgpool__scalar),
                        reinterpret_cast<const void*>(native::f32_gavgpool_cw__scalar),
                        reinterpret_cast<const void*>(native::f32_ibilinear__scalar),
                        reinterpret_cast<const void*>(native::f32_transpose__scalar),
                        reinterpret_cast<const void*>(native::x32_zip_xm__scalar),
                        reinterpret_cast<const void*>(native::f32_vround__scalar),
                        reinterpret_cast<const void*>(native::f32_gridsample_blend__scalar),
                        reinterpret_cast<const void*>(native::f32_gridsample_2d_8c__scalar),
                        reinterpret_cast<const void*>(native::f32_deform_bilinear_4c__scalar),
                        reinterpret_cast<const void*>(native::f32_local_dot_1x4__scalar)})
    tested.insert(f);
  bool ok = true;
  auto expect = [&](ce::Isa isa, const char* what, const void* fn) {
    if (tested.count(fn)) return;
    std::printf("dispatch: %s at level %s hands out an untested kernel\n", what, ce::isa_name(isa));
    ok = false;
  };
  auto fp = [](auto f) { return reinterpret_cast<const void*>(f); };
  for (ce::Isa isa : {kScalar, kAvx2, kAvx512, kNeon}) {
    if (!ce::cpu_supports(isa)) continue;
    const ce::PoolKernels& pk = ce::pool_kernels(isa);
    expect(isa, "pool_kernels().max", fp(pk.max));
    expect(isa, "pool_kernels().avg", fp(pk.avg));
    expect(isa, "pool_kernels().gavg", fp(pk.gavg));
    expect(isa, "pool_kernels().gavg_cw", fp(pk.gavg_cw));
    expect(isa, "ibilinear_kernel()", fp(ce::ibilinear_kernel(isa)));
    expect(isa, "transpose_kernel()", fp(ce::transpose_kernel(isa)));
    for (size_t groups = 2; groups <= 8; ++groups)
      expect(isa, "zip_kernel()", fp(ce::zip_kernel(groups, isa)));
    const ce::DataKernels& dk = ce::data_kernels(isa);
    expect(isa, "data_kernels().round", fp(dk.round));
    expect(isa, "data_kernels().grid_blend", fp(dk.grid_blend));
    expect(isa, "data_kernels().grid_row_2d", fp(dk.grid_row_2d));
    expect(isa, "deform_bilinear_kernel()", fp(ce::deform_bilinear_kernel(isa).fn));
    expect(isa, "local_conv_kernel()", fp(ce::local_conv_kernel(isa).fn));
  }
  // a zip for m groups must be the scalar one or one tested with m groups
  for (ce::Isa isa : {kScalar, kAvx2, kAvx512, kNeon}) {
    if (!ce::cpu_supports(isa)) continue;
    for (size_t groups = 2; groups <= 8; ++groups) {
      const native::ZipFn z = ce::zip_kernel(groups, isa);
      if (z == native::x32_zip_xm__scalar) continue;
      bool found = false;
      for (const auto& k : kZip) found |= k.fn == z && k.tile == groups;
      if (!found) {
        std::printf("dispatch: zip_kernel(%zu) at level %s is not a %zu-group zip\n", groups,
                    ce::isa_name(isa), groups);
        ok = false;
      }
    }
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Runner r(argc, argv);
  for (const auto& k : kMaxPool) maxpool_cases(r, k);
  for (const auto& k : kAvgPool) avgpool_cases(r, k);
  for (const auto& k : kGAvgPool) gavgpool_cases(r, k);
  for (const auto& k : kGAvgPoolCw) gavgpool_cw_cases(r, k);
  for (const auto& k : kIBilinear) ibilinear_cases(r, k);
  for (const auto& k : kTranspose) transpose_cases(r, k);
  for (const auto& k : kZip) zip_cases(r, k);
  for (const auto& k : kRound) round_cases(r, k);
  for (const auto& k : kGridBlend) grid_blend_cases(r, k);
  for (const auto& k : kGridRow2d) grid_row_cases(r, k);
  for (const auto& k : kDeform) deform_cases(r, k);
  for (const auto& k : kLocal) local_cases(r, k);
  const bool dispatch_ok = check_dispatch();
  return r.finish() != 0 || !dispatch_ok ? 1 : 0;
}
