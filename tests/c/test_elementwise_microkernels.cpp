// Every vector element-wise kernel (native/elementwise/: activations, scale-shift, the conv
// epilogue, the math ops) against its scalar twin, at every ISA level the CPU has (avx2 and
// avx512f on x86-64, neon on aarch64; a level the CPU lacks or CONVENGINE_ISA forces below is
// skipped with the reason). Calls run with the engine's denormal flushing (FTZ/DAZ, FPCR.FZ).
//
// Cases: lengths 1..51 (3 x 16 lanes + 3: every tail of the 4-, 8- and 16-lane kernels and
// their unrolled steps) and 63..4099; values drawn from each function's approximation range,
// log-uniform magnitudes 2^-40..2^100, and the special values (+-0, +-inf, NaN, +-FLT_MAX,
// +-FLT_MIN, denormals, the function's cut-offs) spread over every lane position; a sweep of
// 65536 floats through the range; in-place calls (y == x); clamp bounds; every epilogue kind
// with and without a residual, tight and strided rows; scale-shift channel counts around the
// vector widths. Inputs and outputs end right before an inaccessible page (one float read or
// written too far faults); row gaps hold a NaN sentinel compared bit for bit.
//
// Tolerances (vector against scalar), from the error bounds written in the -avx2.cpp files
// (max relative error against float64, tools/measure_math_accuracy.py) plus 0.5 ulp (6e-8) for
// the scalar twin, which evaluates in double and rounds once: erf 2.5e-7 -> 3.2e-7, gelu 4.0e-7
// -> 4.7e-7, gelu_tanh 2.7e-7 -> 3.4e-7, mish 2.8e-7 -> 3.5e-7, softplus 1.9e-7 -> 2.6e-7, elu /
// selu / celu 1.4e-7 -> 2.1e-7, exp 1.6e-7 -> 2.2e-7, log 8.1e-8 -> 1.5e-7; sigmoid and silu
// have scalar twins of the same rr2-p5 algorithm (2.75e-7, 3.12e-7): 2.63e-7 + 2.75e-7 -> 6e-7,
// 3.05e-7 + 3.12e-7 -> 7e-7; tanh (2 sigmoid(2x) - 1) is bounded absolutely, 1e-7 each -> 3e-7.
// Results below 2^-126 are flushed to 0 (differently near the threshold, and mish / gelu_tanh
// flush x f where f < 2^-126), so every approximation also passes within 2^-126 max(1, |x|).
// The other kernels evaluate the scalar twin's float operations (a division, a square root,
// sign-bit operations): bit for bit (NaN: any NaN), where min / max / clamp may differ in the
// sign of a zero result only (fmin / minps / the scalar's comparisons order +-0 differently);
// the FMA of scale-shift and hardsigmoid within 2^-23 (|x s| + |b|) (the scalar twin may round
// the product). Outputs that are both below 2^-126 (zero or denormal) are equal: the engine
// flushes them (kernels that only compare pass a denormal through, arithmetic flushes it).
//
// Also checks that engine/dispatch.cpp hands out only kernels tested here.
//
//   test_elementwise_microkernels [-v] [FILTER]   FILTER: run the cases whose name contains it
#include <signal.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/cpu.h"
#include "engine/dispatch.h"
#include "engine/epilogue.h"
#include "engine/thread_pool.h"
#include "native/elementwise/elementwise.h"
#include "native/elementwise/math.h"
#include "native/norm/norm.h"
#include "native/reduce/reduce.h"
#include "tests/c/gemm_microkernel_tester.h"
#include "tests/c/kernel_test_runner.h"

namespace native = ce::native;
using ce::test::GuardedArray;

namespace {

using Runner = ce::test::CaseRunner;

#if defined(__x86_64__) || defined(__i386__)
#define CE_TEST_X86 1
#elif defined(__aarch64__)
#define CE_TEST_ARM64 1
#endif

constexpr ce::Isa kScalar = ce::Isa::kScalar, kAvx2 = ce::Isa::kAvx2,
                  kAvx512 = ce::Isa::kAvx512, kNeon = ce::Isa::kNeon;

// How an output is compared with the scalar twin's.
enum class Cmp {
  kBits,   // bit for bit, any NaN for NaN
  kValue,  // equal values (+0 == -0), any NaN for NaN
  kFma,    // within 2^-23 (|x s| + |b|): `scale` holds that magnitude per element
  kApprox  // within max(rel |want|, 2^-126 max(1, |x|)) (abs: an absolute bound instead of rel)
};

struct Tol {
  Cmp cmp;
  double rel = 0.0, abs = 0.0;
};

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// x: the input the element came from (scales the flush allowance); mag: kFma's magnitude.
bool close(float got, float want, double x, double mag, const Tol& t) {
  // log of a negative denormal: NaN where it is read through its bits (the vector logs), -inf
  // where DAZ reads it as -0 first (the scalar twin's conversion to double)
  if (x < 0 && x > -FLT_MIN && std::isinf(want) && want < 0 && got != got) return true;
  // Below 2^-126 every value is zero to the engine (FTZ/DAZ, FPCR.FZ): a kernel that only
  // compares or selects passes a denormal through, fmax / fmul flush it.
  if (std::fabs(got) < FLT_MIN && std::fabs(want) < FLT_MIN) return true;
  if (want != want) return got != got;
  if (got != got) return false;
  if (t.cmp == Cmp::kBits) return bits_of(got) == bits_of(want);
  if (std::isinf(want) || std::isinf(got) || t.cmp == Cmp::kValue) return got == want;
  const double err = std::fabs(double(got) - double(want));
  if (t.cmp == Cmp::kFma) return err <= std::ldexp(mag, -23) + FLT_MIN;
  const double floor = std::ldexp(std::max(1.0, std::fabs(x)), -126);
  return err <= std::max(t.abs ? t.abs : t.rel * std::fabs(double(want)), floor);
}

bool report(const char* name, size_t i, float x, float got, float want) {
  std::fprintf(stderr, "%s: element %zu (x = %.9g): got %.9g (0x%08x), want %.9g (0x%08x)\n", name,
               i, x, got, bits_of(got), want, bits_of(want));
  return false;
}

// The special values every unary input contains (at positions that move across lanes).
std::vector<float> specials(const std::vector<float>& edges) {
  std::vector<float> s = {0.0f,     -0.0f,     INFINITY, -INFINITY,  NAN,      -NAN,
                          FLT_MAX,  -FLT_MAX,  1e30f,    -1e30f,     FLT_MIN,  -FLT_MIN,
                          1e-40f,   -1e-40f,   1.0f,     -1.0f,      0.5f,     -0.5f,
                          from_bits(0x7fc00001u)};
  for (float e : edges) {
    s.push_back(e);
    s.push_back(-e);
    s.push_back(std::nextafter(e, 0.0f));
    s.push_back(std::nextafter(-e, 0.0f));
  }
  return s;
}

// n inputs: specials first (shifted by `shift` so they land on every lane), then a mix of
// uniform values in [lo, hi] and log-uniform magnitudes.
std::vector<float> make_inputs(size_t n, float lo, float hi, const std::vector<float>& edges,
                               size_t shift, std::mt19937& rng) {
  const std::vector<float> sp = specials(edges);
  std::uniform_real_distribution<float> uni(lo, hi), expo(-40.0f, 100.0f), coin(0.0f, 1.0f);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const float c = coin(rng);
    x[i] = c < 0.6f ? uni(rng) : (coin(rng) < 0.5f ? 1.0f : -1.0f) * std::exp2(expo(rng));
  }
  if (n >= 4)
    for (size_t k = 0; k < sp.size() && k < n; ++k) x[(k + shift) % n] = sp[(k + shift) % sp.size()];
  return x;
}

// Lengths: every tail and unrolled step up to 3 x 16 + 3, then larger.
std::vector<size_t> lengths() {
  std::vector<size_t> l;
  for (size_t n = 1; n <= 51; ++n) l.push_back(n);
  for (size_t n : {63, 64, 65, 97, 1031, 4099}) l.push_back(n);
  return l;
}

// A unary kernel y = f(x) through a std::function (the signatures differ in their parameter
// struct only).
using Unary = std::function<void(size_t, const float*, float*)>;

bool unary_case(const char* name, const Unary& fn, const Unary& ref, const Tol& tol,
                const std::vector<float>& x, bool in_place) {
  const size_t n = x.size();
  std::vector<float> want(n);
  GuardedArray<float> in(n), out(n, ce::test::detail::sentinel());
  std::copy(x.begin(), x.end(), in.data());
  {
    ce::ScopedFlushDenormals ftz;
    ref(n, x.data(), want.data());
    if (in_place) {
      std::copy(x.begin(), x.end(), out.data());
      fn(n, out.data(), out.data());
    } else {
      fn(n, in.data(), out.data());
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (!close(out[i], want[i], x[i], 0.0, tol)) return report(name, i, x[i], out[i], want[i]);
  return true;
}

// Every case of one unary kernel: lengths, in-place, a sweep of the range.
void unary_cases(Runner& r, const std::string& kname, const Unary& fn, const Unary& ref,
                 const Tol& tol, float lo, float hi, const std::vector<float>& edges) {
  uint32_t seed = 1;
  for (size_t n : lengths()) {
    const std::string name = kname + ".n" + std::to_string(n);
    r.run(name, [&](const char* nm) {
      std::mt19937 rng(seed++);
      bool ok = true;
      for (size_t shift = 0; shift < (n < 20 ? n : 1); ++shift)
        ok = ok && unary_case(nm, fn, ref, tol, make_inputs(n, lo, hi, edges, shift, rng), false);
      return ok;
    });
  }
  for (size_t n : {size_t(7), size_t(16), size_t(37)})
    r.run(kname + ".inplace.n" + std::to_string(n), [&](const char* nm) {
      std::mt19937 rng(seed++);
      return unary_case(nm, fn, ref, tol, make_inputs(n, lo, hi, edges, 3, rng), true);
    });
  r.run(kname + ".sweep", [&](const char* nm) {
    // 65536 floats evenly spaced in [lo, hi] (both signs of the range's magnitudes).
    std::vector<float> x(65536);
    for (size_t i = 0; i < x.size(); ++i) x[i] = lo + (hi - lo) * (float(i) / float(x.size() - 1));
    return unary_case(nm, fn, ref, tol, x, false);
  });
}

// ---- element-wise activations (elementwise.h) ----

struct ActKernel {
  const char* name;
  native::VUnaryFn fn;
  ce::Isa isa;
  native::VUnaryFn ref;
  Tol tol;
  float lo, hi;
};

const Tol kBits{Cmp::kBits}, kValue{Cmp::kValue}, kFma{Cmp::kFma};
Tol rel(double r) { return {Cmp::kApprox, r, 0.0}; }
Tol abs_tol(double a) { return {Cmp::kApprox, 0.0, a}; }

#define CE_ACT(op, isa, level, tol, lo, hi) \
  {"f32_" #op "__" #isa, native::f32_##op##__##isa, level, native::f32_##op##__scalar, tol, lo, hi}
#define CE_ACTS(isa, level, sig)                                             \
  CE_ACT(vclamp, isa, level, kValue, -10.0f, 10.0f),                         \
      CE_ACT(vhswish, isa, level, kBits, -5.0f, 5.0f),                       \
      CE_ACT(vhsigmoid, isa, level, kBits, -5.0f, 5.0f),                     \
      CE_ACT(vsigmoid, sig, level, rel(6e-7), -90.0f, 90.0f),                \
      CE_ACT(vsilu, sig, level, rel(7e-7), -90.0f, 90.0f)

const ActKernel kAct[] = {
#if CE_TEST_X86
    CE_ACTS(avx2, kAvx2, avx2),
    CE_ACT(vsigmoid, avx512f, kAvx512, rel(6e-7), -90.0f, 90.0f),
    CE_ACT(vsilu, avx512f, kAvx512, rel(7e-7), -90.0f, 90.0f),
#elif CE_TEST_ARM64
    CE_ACTS(neon, kNeon, neon),
#endif
};

const std::vector<float> kSigmoidEdges = {87.33f, 87.34f, 86.3f, 20.0f, 8.18f};

void act_cases(Runner& r, const ActKernel& k) {
  if (!r.begin(k.name, k.isa)) return;
  const bool clamp = std::strstr(k.name, "vclamp") != nullptr;
  const native::ClampParams bounds[] = {{0.0f, INFINITY}, {0.0f, 6.0f}, {-1.0f, 1.0f},
                                        {-INFINITY, INFINITY}, {0.5f, 0.5f}};
  for (size_t b = 0; b < (clamp ? 5u : 1u); ++b) {
    const native::ClampParams p = bounds[b];
    std::string kname = k.name;
    if (clamp) kname += ".b" + std::to_string(b);
    unary_cases(r, kname, [&](size_t n, const float* x, float* y) { k.fn(n, x, y, &p); },
                [&](size_t n, const float* x, float* y) { k.ref(n, x, y, &p); }, k.tol, k.lo,
                k.hi, kSigmoidEdges);
  }
}

// ---- math ops (math.h) ----

struct MathOp {
  const char* op;
  native::VMathFn scalar;
  native::VMathFn avx2, avx512, neon;  // null where the level has none
  Tol tol;
  float lo, hi;
  native::MathParams p;
  std::vector<float> edges;
};

#if CE_TEST_X86
#define CE_V(op) native::f32_##op##__avx2, native::f32_##op##__avx512f, nullptr
#define CE_V2(op) native::f32_##op##__avx2, nullptr, nullptr
#elif CE_TEST_ARM64
#define CE_V(op) nullptr, nullptr, native::f32_##op##__neon
#define CE_V2(op) nullptr, nullptr, native::f32_##op##__neon
#else
#define CE_V(op) nullptr, nullptr, nullptr
#define CE_V2(op) nullptr, nullptr, nullptr
#endif
#define CE_OP(name, op, V) #name, native::f32_##op##__scalar, V(op)

const float kSeluA = 1.6732632423543772f, kSeluG = 1.0507009873554805f;

const MathOp kMathOps[] = {
    {CE_OP(erf, verf, CE_V), rel(3.2e-7), -5.0f, 5.0f, {}, {3.92f, 0.0556f}},
    {CE_OP(gelu, vgelu, CE_V), rel(4.7e-7), -15.0f, 15.0f, {}, {14.0f, 13.0f, 11.7f}},
    {CE_OP(gelu_tanh, vgelu_tanh, CE_V), rel(3.4e-7), -13.0f, 13.0f, {}, {10.0f, 16.0f, 1.81f}},
    {CE_OP(mish, vmish, CE_V), rel(3.5e-7), -100.0f, 100.0f, {}, {87.3f, 20.0f, 9.0f, 2.49f}},
    {CE_OP(softplus, vsoftplus, CE_V), rel(2.6e-7), -100.0f, 100.0f, {}, {87.3f, 6.1f}},
    {CE_OP(elu, velu, CE_V), rel(2.1e-7), -20.0f, 5.0f, {1.0f, 1.0f, 1.0f}, {17.5f}},
    {CE_OP(selu, velu, CE_V), rel(2.1e-7), -20.0f, 5.0f, {kSeluA * kSeluG, kSeluG, 1.0f}, {17.5f}},
    {CE_OP(celu, velu, CE_V), rel(2.1e-7), -20.0f, 5.0f, {0.5f, 1.0f, 2.0f}, {8.75f}},
    {CE_OP(exp, vexp, CE_V), rel(2.2e-7), -90.0f, 90.0f, {}, {87.33f, 87.34f, 87.5f, 88.72f, 88.8f, 69.7f}},
    {CE_OP(log, vlog, CE_V), rel(1.5e-7), 0.0f, 1e6f, {}, {1.66f, 0.70710678f, 1.41421356f}},
    {CE_OP(sqrt, vsqrt, CE_V2), kBits, 0.0f, 1e6f, {}, {}},
    {CE_OP(recip, vrecip, CE_V2), kBits, -100.0f, 100.0f, {}, {}},
    {CE_OP(abs, vabs, CE_V2), kBits, -100.0f, 100.0f, {}, {}},
    {CE_OP(neg, vneg, CE_V2), kBits, -100.0f, 100.0f, {}, {}},
    {CE_OP(softsign, vsoftsign, CE_V2), kBits, -100.0f, 100.0f, {}, {}},
    {CE_OP(threshold, vthreshold, CE_V2), kBits, -3.0f, 3.0f, {1.0f, 0.0f, 0.0f}, {}},
    {CE_OP(threshold_neg, vthreshold, CE_V2), kBits, -3.0f, 3.0f, {-0.5f, 0.0f, 0.0f}, {}},
    {CE_OP(sqr, vsqr, CE_V2), kBits, -100.0f, 100.0f, {}, {}},
    {CE_OP(cube, vcube, CE_V2), kBits, -100.0f, 100.0f, {}, {}},
    {CE_OP(rsqrt, vrsqrt, CE_V), kBits, 0.0f, 1e6f, {}, {}},
};

void math_cases(Runner& r, const MathOp& op) {
  struct Level {
    native::VMathFn fn;
    ce::Isa isa;
    const char* tag;
  };
  const Level levels[] = {{op.avx2, kAvx2, "avx2"}, {op.avx512, kAvx512, "avx512f"},
                          {op.neon, kNeon, "neon"}};
  for (const Level& l : levels) {
    if (!l.fn) continue;
    const std::string kname = std::string("f32_") + op.op + "__" + l.tag;
    if (!r.begin(kname.c_str(), l.isa)) continue;
    const native::MathParams p = op.p;
    unary_cases(r, kname, [&](size_t n, const float* x, float* y) { l.fn(n, x, y, &p); },
                [&](size_t n, const float* x, float* y) { op.scalar(n, x, y, &p); }, op.tol, op.lo,
                op.hi, op.edges);
  }
}

// ---- binary ops ----

struct BinaryOp {
  const char* op;
  native::VBinaryFn scalar, avx2, neon;
  bool scalar_b;
  Tol tol;
};

#if CE_TEST_X86
#define CE_B(op) native::f32_##op##__scalar, native::f32_##op##__avx2, nullptr
#elif CE_TEST_ARM64
#define CE_B(op) native::f32_##op##__scalar, nullptr, native::f32_##op##__neon
#else
#define CE_B(op) native::f32_##op##__scalar, nullptr, nullptr
#endif

const BinaryOp kBinaryOps[] = {
    {"vmin", CE_B(vmin), false, kValue},   {"vminc", CE_B(vminc), true, kValue},
    {"vmax", CE_B(vmax), false, kValue},   {"vmaxc", CE_B(vmaxc), true, kValue},
    {"vadd", CE_B(vadd), false, kBits},    {"vaddc", CE_B(vaddc), true, kBits},
    {"vprelu", CE_B(vprelu), false, kBits}, {"vpreluc", CE_B(vpreluc), true, kBits},
};

bool binary_case(const char* name, native::VBinaryFn fn, native::VBinaryFn ref, bool scalar_b,
                 const Tol& tol, size_t n, float alpha, int in_place, std::mt19937& rng) {
  const std::vector<float> a = make_inputs(n, -10.0f, 10.0f, {}, rng() % 7, rng);
  const std::vector<float> b = make_inputs(scalar_b ? 1 : n, -10.0f, 10.0f, {}, rng() % 5, rng);
  const size_t nb = b.size();
  GuardedArray<float> ga(n), gb(nb), out(n, ce::test::detail::sentinel());
  std::copy(a.begin(), a.end(), ga.data());
  std::copy(b.begin(), b.end(), gb.data());
  std::vector<float> want(n);
  const native::MathParams p{alpha, 0.0f, 0.0f};
  float* y = out.data();
  {
    ce::ScopedFlushDenormals ftz;
    ref(n, a.data(), b.data(), want.data(), &p);
    if (in_place == 1) {  // y == a
      std::copy(a.begin(), a.end(), y);
      fn(n, y, gb.data(), y, &p);
    } else if (in_place == 2 && !scalar_b) {  // y == b
      std::copy(b.begin(), b.end(), y);
      fn(n, ga.data(), y, y, &p);
    } else {
      fn(n, ga.data(), gb.data(), y, &p);
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (!close(out[i], want[i], a[i], 0.0, tol)) return report(name, i, a[i], out[i], want[i]);
  return true;
}

void binary_cases(Runner& r, const BinaryOp& op) {
  struct Level {
    native::VBinaryFn fn;
    ce::Isa isa;
    const char* tag;
  };
  const Level levels[] = {{op.avx2, kAvx2, "avx2"}, {op.neon, kNeon, "neon"}};
  for (const Level& l : levels) {
    if (!l.fn) continue;
    const std::string kname = std::string("f32_") + op.op + "__" + l.tag;
    if (!r.begin(kname.c_str(), l.isa)) continue;
    uint32_t seed = 1;
    for (size_t n : lengths())
      for (int in_place : {0, 1, 2}) {
        if (in_place && n > 40) continue;
        const std::string name = kname + ".n" + std::to_string(n) +
                                 (in_place == 1 ? ".y=a" : in_place == 2 ? ".y=b" : "");
        r.run(name, [&](const char* nm) {
          std::mt19937 rng(seed++);
          bool ok = true;
          for (float alpha : {1.0f, 0.25f, 1.0f / 3.0f})
            ok = ok && binary_case(nm, l.fn, op.scalar, op.scalar_b, op.tol, n, alpha, in_place, rng);
          return ok;
        });
      }
  }
}

// ---- scale-shift (NHWC rows and NCHW planes) ----

struct ScaleShiftKernel {
  const char* name;
  native::VScaleShiftFn fn;
  ce::Isa isa;
};
struct ScaleShiftCwKernel {
  const char* name;
  native::VScaleShiftCwFn fn;
  ce::Isa isa;
};

const ScaleShiftKernel kScaleShift[] = {
#if CE_TEST_X86
    {"f32_vscaleshift_32c__avx2", native::f32_vscaleshift_32c__avx2, kAvx2},
#elif CE_TEST_ARM64
    {"f32_vscaleshift_16c__neon", native::f32_vscaleshift_16c__neon, kNeon},
#endif
    {"f32_vscaleshift__scalar", native::f32_vscaleshift__scalar, kScalar},
};
const ScaleShiftCwKernel kScaleShiftCw[] = {
#if CE_TEST_X86
    {"f32_vscaleshift_cw__avx2", native::f32_vscaleshift_cw__avx2, kAvx2},
#elif CE_TEST_ARM64
    {"f32_vscaleshift_cw__neon", native::f32_vscaleshift_cw__neon, kNeon},
#endif
    {"f32_vscaleshift_cw__scalar", native::f32_vscaleshift_cw__scalar, kScalar},
};

const native::ClampParams kBounds[] = {{-INFINITY, INFINITY}, {0.0f, INFINITY}, {0.0f, 6.0f},
                                       {-0.5f, 0.75f}};

// rows x channels with row strides xs, ys (>= channels; gaps: NaN in x, sentinel in y), or in
// place (y == x, xs == ys).
bool scaleshift_case(const char* name, native::VScaleShiftFn fn, size_t rows, size_t c, size_t xs,
                     size_t ys, bool in_place, const native::ClampParams& p, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-4.0f, 4.0f);
  std::vector<float> scale(c), shift(c), x((rows - 1) * xs + c, NAN);
  for (size_t j = 0; j < c; ++j) scale[j] = d(rng), shift[j] = d(rng);
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < c; ++j) x[i * xs + j] = d(rng);
  x[0] = NAN;
  GuardedArray<float> gx(x.size()), gs(c), gb(c), out((rows - 1) * ys + c, ce::test::detail::sentinel());
  std::copy(x.begin(), x.end(), gx.data());
  std::copy(scale.begin(), scale.end(), gs.data());
  std::copy(shift.begin(), shift.end(), gb.data());
  std::vector<float> want((rows - 1) * ys + c);
  {
    ce::ScopedFlushDenormals ftz;
    native::f32_vscaleshift__scalar(rows, c, x.data(), xs, scale.data(), shift.data(), want.data(), ys, &p);
    if (in_place) {
      std::copy(x.begin(), x.end(), out.data());
      fn(rows, c, out.data(), xs, gs.data(), gb.data(), out.data(), ys, &p);
    } else {
      fn(rows, c, gx.data(), xs, gs.data(), gb.data(), out.data(), ys, &p);
    }
  }
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < ys && i * ys + j < out.size(); ++j) {
      const size_t k = i * ys + j;
      if (j >= c) {
        if (!in_place && !ce::test::detail::is_sentinel(out[k])) {
          std::fprintf(stderr, "%s: row %zu float %zu (past %zu channels) written\n", name, i, j, c);
          return false;
        }
        continue;
      }
      const float xv = x[i * xs + j];
      const double mag = std::fabs(double(xv) * scale[j]) + std::fabs(shift[j]);
      if (!close(out[k], want[k], xv, mag, kFma)) return report(name, k, xv, out[k], want[k]);
    }
  return true;
}

void scaleshift_cases(Runner& r, const ScaleShiftKernel& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  for (size_t c = 1; c <= 51; ++c)
    for (size_t rows : {1, 3})
      for (int layout = 0; layout < 3; ++layout) {  // tight, strided, in place
        const size_t xs = layout == 1 ? c + 3 : c, ys = layout == 1 ? c + 5 : c;
        const native::ClampParams& p = kBounds[(c + rows) % 4];
        const std::string name = std::string(k.name) + ".c" + std::to_string(c) + "_r" +
                                 std::to_string(rows) +
                                 (layout == 1 ? ".strided" : layout == 2 ? ".inplace" : "");
        r.run(name, [&](const char* nm) {
          std::mt19937 rng(seed++);
          return scaleshift_case(nm, k.fn, rows, c, xs, ys, layout == 2, p, rng);
        });
      }
  for (size_t c : {64, 100, 1000})
    r.run(std::string(k.name) + ".c" + std::to_string(c) + "_r2", [&](const char* nm) {
      std::mt19937 rng(seed++);
      return scaleshift_case(nm, k.fn, 2, c, c, c + 1, false, kBounds[2], rng);
    });
}

void scaleshift_cw_cases(Runner& r, const ScaleShiftCwKernel& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  std::vector<size_t> pixels = lengths();
  for (size_t planes : {1, 2, 7})
    for (size_t px : pixels) {
      if (planes == 7 && px > 100) continue;
      const native::ClampParams& p = kBounds[(planes + px) % 4];
      const std::string name = std::string(k.name) + ".planes" + std::to_string(planes) + "_px" +
                               std::to_string(px);
      r.run(name, [&](const char* nm) {
        std::mt19937 rng(seed++);
        std::uniform_real_distribution<float> d(-4.0f, 4.0f);
        const size_t n = planes * px;
        std::vector<float> x(n), scale(planes), shift(planes), want(n);
        for (float& v : x) v = d(rng);
        for (size_t j = 0; j < planes; ++j) scale[j] = d(rng), shift[j] = d(rng);
        x[n / 2] = NAN;
        GuardedArray<float> gx(n), gs(planes), gb(planes), out(n, ce::test::detail::sentinel());
        std::copy(x.begin(), x.end(), gx.data());
        std::copy(scale.begin(), scale.end(), gs.data());
        std::copy(shift.begin(), shift.end(), gb.data());
        const bool in_place = px % 5 == 0;
        {
          ce::ScopedFlushDenormals ftz;
          native::f32_vscaleshift_cw__scalar(planes, px, x.data(), scale.data(), shift.data(),
                                             want.data(), &p);
          if (in_place) std::copy(x.begin(), x.end(), out.data());
          k.fn(planes, px, in_place ? out.data() : gx.data(), gs.data(), gb.data(), out.data(), &p);
        }
        for (size_t i = 0; i < n; ++i) {
          const size_t j = i / px;
          const double mag = std::fabs(double(x[i]) * scale[j]) + std::fabs(shift[j]);
          if (!close(out[i], want[i], x[i], mag, kFma)) return report(nm, i, x[i], out[i], want[i]);
        }
        return true;
      });
    }
}

// ---- the conv epilogue ----

struct EpilogueKernel {
  const char* name;
  native::VEpilogueFn fn;
  ce::Isa isa;
};

const EpilogueKernel kEpilogue[] = {
#if CE_TEST_X86
    {"f32_vepilogue__avx2", native::f32_vepilogue__avx2, kAvx2},
    {"f32_vepilogue__avx512f", native::f32_vepilogue__avx512f, kAvx512},
#elif CE_TEST_ARM64
    {"f32_vepilogue__neon", native::f32_vepilogue__neon, kNeon},
#endif
    {"f32_vepilogue__scalar", native::f32_vepilogue__scalar, kScalar},
};

struct EpilogueKind {
  const char* name;
  float alpha, beta;
  Tol tol;
  float lo, hi;  // range of y + r
};

// Indexed by EpilogueParams::kind.
const EpilogueKind kKinds[] = {
    {"none", 0.0f, 0.0f, kBits, -10.0f, 10.0f},
    {"hardswish", 0.0f, 0.0f, kBits, -5.0f, 5.0f},
    {"hardsigmoid", 0.2f, 0.5f, abs_tol(1.2e-7), -5.0f, 5.0f},
    {"sigmoid", 0.0f, 0.0f, rel(6e-7), -90.0f, 90.0f},
    {"silu", 0.0f, 0.0f, rel(7e-7), -90.0f, 90.0f},
    {"tanh", 0.0f, 0.0f, abs_tol(3e-7), -10.0f, 10.0f},
    {"leaky_relu", 0.1f, 0.0f, kBits, -10.0f, 10.0f},
    {"gelu", 0.0f, 0.0f, rel(4.7e-7), -15.0f, 15.0f},
    {"gelu_tanh", 0.0f, 0.0f, rel(3.4e-7), -13.0f, 13.0f},
    {"mish", 0.0f, 0.0f, rel(3.5e-7), -100.0f, 100.0f},
    {"softplus", 0.0f, 0.0f, rel(2.6e-7), -100.0f, 100.0f},
    {"elu", 0.7f, 0.0f, rel(2.1e-7), -20.0f, 5.0f},
    {"selu", 1.6732632f, 1.0507010f, rel(2.1e-7), -20.0f, 5.0f},
    {"celu", 0.5f, 0.0f, rel(2.1e-7), -20.0f, 5.0f},
    {"softsign", 0.0f, 0.0f, kBits, -10.0f, 10.0f},
    {"thresholded_relu", 1.0f, 0.0f, kBits, -3.0f, 3.0f},
};

// rows x cols at row stride ys (gaps: sentinel), residual r (row stride rs) or none.
bool epilogue_case(const char* name, native::VEpilogueFn fn, int kind, size_t rows, size_t cols,
                   size_t ys, bool residual, size_t rs, const native::ClampParams& b,
                   std::mt19937& rng) {
  const EpilogueKind& k = kKinds[kind];
  const size_t ny = (rows - 1) * ys + cols, nr = residual ? (rows - 1) * rs + cols : 0;
  // y + r covers the kind's range; specials ride in y.
  std::vector<float> y0 = make_inputs(ny, k.lo, k.hi, kSigmoidEdges, rng() % 11, rng);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> rv(nr, NAN);
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols && residual; ++j) rv[i * rs + j] = d(rng);
  GuardedArray<float> gy(ny, ce::test::detail::sentinel()), gr(nr ? nr : 1, NAN);
  std::vector<float> want(ny, ce::test::detail::sentinel());
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) gy[i * ys + j] = want[i * ys + j] = y0[i * ys + j];
  std::copy(rv.begin(), rv.end(), gr.data());
  const native::EpilogueParams p{kind, k.alpha, k.beta, b.min, b.max};
  {
    ce::ScopedFlushDenormals ftz;
    native::f32_vepilogue__scalar(rows, cols, want.data(), ys, residual ? rv.data() : nullptr, rs, &p);
    fn(rows, cols, gy.data(), ys, residual ? gr.data() : nullptr, rs, &p);
  }
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < ys && i * ys + j < ny; ++j) {
      const size_t q = i * ys + j;
      if (j >= cols) {
        if (!ce::test::detail::is_sentinel(gy[q])) {
          std::fprintf(stderr, "%s: row %zu float %zu (past %zu columns) written\n", name, i, j, cols);
          return false;
        }
        continue;
      }
      const double x = double(y0[q]) + (residual ? rv[i * rs + j] : 0.0);
      // the bound may clamp -0 / +0 of either sign (fmax / maxps / comparisons)
      const Tol t = k.tol.cmp == Cmp::kBits && (b.min != -INFINITY || b.max != INFINITY) ? kValue : k.tol;
      if (!close(gy[q], want[q], x, 0.0, t)) return report(name, q, float(x), gy[q], want[q]);
    }
  return true;
}

void epilogue_cases(Runner& r, const EpilogueKernel& k) {
  if (!r.begin(k.name, k.isa)) return;
  uint32_t seed = 1;
  const native::ClampParams bounds[] = {{-INFINITY, INFINITY}, {-1.0f, 2.0f}, {0.0f, 6.0f}};
  for (int kind = 0; kind < ce::kNumActKinds; ++kind)
    for (int res = 0; res < 2; ++res)
      for (int bi = 0; bi < 3; ++bi)
        for (size_t cols : {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 31, 32, 33, 47, 51, 64, 100})
          for (size_t rows : {1, 3})
            for (int strided = 0; strided < 2; ++strided) {
              if (rows == 1 && strided) continue;
              const size_t ys = strided ? cols + 3 : cols, rs = strided ? cols + 2 : cols;
              char name[160];
              std::snprintf(name, sizeof name, "%s.%s%s%s.r%zu_c%zu%s", k.name, kKinds[kind].name,
                            res ? "+residual" : "", bi ? (bi == 1 ? ".clamp" : ".relu6") : "",
                            rows, cols, strided ? ".strided" : "");
              r.run(name, [&](const char* nm) {
                std::mt19937 rng(seed++);
                return epilogue_case(nm, k.fn, kind, rows, cols, ys, res, rs, bounds[bi], rng);
              });
            }
}


// ---- reductions and normalisation (nn_kernels(): reduce.h, norm.h) ----
// Against the scalar twins, which sum in double: the vector sums run in float lanes (4 x 4,
// 8 x 4, ... partial sums, blocks of 2048 floats / 64 rows added apart), whose error is at most
// (terms per lane + 16) ulp of the sum of magnitudes: 2^-24 (min(n, 2048) / 4 + 16) sum |t|;
// max / min by value (NaN: any NaN), the product bit for bit (the same float products in
// order). The normalisations inherit that error through mean and 1 / sqrt(var): 2e-5 of the
// output's magnitude (n <= 2049 here); lrn (same window sums, powers as sqrt / division
// chains of <= 3 roundings against std::pow): 1e-6 relative.

struct NnLevel {
  const char* tag;
  ce::Isa isa;
};
const NnLevel kNnLevels[] = {
#if CE_TEST_X86
    {"avx2", kAvx2},
#elif CE_TEST_ARM64
    {"neon", kNeon},
#endif
};

bool near(const char* name, const char* what, const float* got, const float* want, size_t n,
          double rel, const std::vector<double>& mag) {
  for (size_t i = 0; i < n; ++i) {
    if (got[i] == want[i]) continue;
    if (want[i] != want[i] ? got[i] == got[i] : !(std::fabs(double(got[i]) - want[i]) <= rel * mag[i] + FLT_MIN)) {
      std::fprintf(stderr, "%s: %s[%zu]: got %.9g, want %.9g (tol %.3g)\n", name, what, i, got[i],
                   want[i], rel * mag[i]);
      return false;
    }
  }
  return true;
}

const char* const kOpName[] = {"sum", "sumabs", "sumsquare", "max", "min", "prod", "sumexp"};

void nn_cases(Runner& r, const NnLevel& l) {
  const ce::NnKernels& k = ce::nn_kernels(l.isa);
  const std::string pre = std::string("nn_") + l.tag;
  if (!r.begin(pre.c_str(), l.isa)) return;
  uint32_t seed = 1;
  for (int o = 0; o < 7; ++o) {
    const auto op = native::ReduceOp(o);
    for (size_t n : lengths())
      r.run(pre + ".rreduce." + kOpName[o] + ".n" + std::to_string(n), [&](const char* nm) {
        std::mt19937 rng(seed++);
        std::uniform_real_distribution<float> d(op == native::ReduceOp::kProd ? 0.5f : -2.0f, 2.0f);
        std::vector<float> x(n);
        for (float& v : x) v = d(rng);
        if ((o == 3 || o == 4) && n % 5 == 0) x[n / 2] = NAN;
        float shift = 0.3f;
        if (o == 6) shift = *std::max_element(x.begin(), x.end());
        GuardedArray<float> gx(n);
        std::copy(x.begin(), x.end(), gx.data());
        ce::ScopedFlushDenormals ftz;
        const float want = native::f32_rreduce__scalar(op, n, x.data(), shift);
        const float got = k.rreduce(op, n, gx.data(), shift);
        double mag = 0.0;
        for (float v : x)
          mag += o == 2 ? (v - shift) * (v - shift) : o == 6 ? std::exp(v - shift) : std::fabs(v);
        const double t = (o == 3 || o == 4 || o == 5) ? 0.0 : std::ldexp(std::min<double>(n, 2048) / 4 + 16, -24);
        return near(nm, "y", &got, &want, 1, t, {mag});
      });
    for (size_t rows : {1, 2, 5, 70})
      for (size_t n : {1, 2, 3, 4, 5, 7, 8, 13, 15, 16, 17, 31, 32, 33, 35, 64, 100}) {
        r.run(pre + ".vreduce." + kOpName[o] + ".r" + std::to_string(rows) + "_n" + std::to_string(n),
              [&](const char* nm) {
          std::mt19937 rng(seed++);
          std::uniform_real_distribution<float> d(o == 5 ? 0.8f : -2.0f, o == 5 ? 1.2f : 2.0f);
          const size_t stride = n + 3;
          std::vector<float> x((rows - 1) * stride + n, NAN), acc(n), shift(n, 2.0f);
          for (size_t i = 0; i < rows; ++i)
            for (size_t j = 0; j < n; ++j) x[i * stride + j] = d(rng);
          for (float& a : acc) a = d(rng);
          if ((o == 3 || o == 4) && rows > 1) x[stride + n / 2] = NAN;
          GuardedArray<float> gx(x.size()), gs(n), gacc(n);
          std::copy(x.begin(), x.end(), gx.data());
          std::copy(shift.begin(), shift.end(), gs.data());
          std::copy(acc.begin(), acc.end(), gacc.data());
          std::vector<float> want(acc);
          const bool shifted = o == 2 || o == 6;
          {
            ce::ScopedFlushDenormals ftz;
            native::f32_vreduce__scalar(op, rows, n, x.data(), stride, shifted ? shift.data() : nullptr, want.data());
            k.vreduce(op, rows, n, gx.data(), stride, shifted ? gs.data() : nullptr, gacc.data());
          }
          std::vector<double> mag(n);
          for (size_t j = 0; j < n; ++j) {
            mag[j] = std::fabs(acc[j]);
            for (size_t i = 0; i < rows; ++i) {
              const double v = x[i * stride + j];
              mag[j] += o == 2 ? (v - 2) * (v - 2) : o == 6 ? std::exp(v - 2) : std::fabs(v);
            }
          }
          const double t = (o == 3 || o == 4 || o == 5) ? 0.0 : std::ldexp(std::min<double>(rows, 64) + 16, -24);
          return near(nm, "acc", gacc.data(), want.data(), n, t, mag);
        });
      }
  }
  for (size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 100, 2049})
    for (size_t rows : {1, 3, 4, 9})
      for (int gb = 0; gb < 4; ++gb)
        r.run(pre + ".layernorm_rows.n" + std::to_string(n) + "_r" + std::to_string(rows) + "_gb" + std::to_string(gb),
              [&](const char* nm) {
          std::mt19937 rng(seed++);
          std::uniform_real_distribution<float> d(-2.0f, 3.0f);
          const size_t xs = n + 2, ys = n + 1;
          std::vector<float> x((rows - 1) * xs + n), g(n), b(n);
          for (float& v : x) v = d(rng);
          for (float& v : g) v = d(rng);
          for (float& v : b) v = d(rng);
          GuardedArray<float> gx(x.size()), gg(n), gbeta(n), out((rows - 1) * ys + n, 0.0f);
          std::copy(x.begin(), x.end(), gx.data());
          std::copy(g.begin(), g.end(), gg.data());
          std::copy(b.begin(), b.end(), gbeta.data());
          std::vector<float> want(out.size(), 0.0f), m(rows), rs(rows), wm(rows), wr(rows);
          const float* G = gb & 1 ? gg.data() : nullptr;
          const float* B = gb & 2 ? gbeta.data() : nullptr;
          {
            ce::ScopedFlushDenormals ftz;
            native::f32_layernorm_rows__scalar(rows, n, x.data(), xs, want.data(), ys, gb & 1 ? g.data() : nullptr,
                                               gb & 2 ? b.data() : nullptr, 1e-5f, wm.data(), wr.data());
            k.layernorm_rows(rows, n, gx.data(), xs, out.data(), ys, G, B, 1e-5f, m.data(), rs.data());
          }
          std::vector<double> mag(out.size(), 1.0);
          for (size_t i = 0; i < out.size(); ++i)
            mag[i] = std::fabs(want[i]) + (gb & 2 ? std::fabs(b[i % ys < n ? i % ys : 0]) : 0.0) + 1.0;
          return near(nm, "y", out.data(), want.data(), out.size(), 2e-5, mag) &&
                 near(nm, "mean", m.data(), wm.data(), rows, 2e-5, std::vector<double>(rows, 3.0)) &&
                 near(nm, "rstd", rs.data(), wr.data(), rows, 2e-5, std::vector<double>(wr.begin(), wr.end()));
        });
  for (size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 35})
    for (size_t rows : {1, 2, 3, 7})
      for (size_t seen : {0, 5})
        r.run(pre + ".vmoments.n" + std::to_string(n) + "_r" + std::to_string(rows) + "_seen" + std::to_string(seen),
              [&](const char* nm) {
          std::mt19937 rng(seed++);
          std::uniform_real_distribution<float> d(-2.0f, 3.0f);
          const size_t stride = n + 1;
          std::vector<float> x((rows - 1) * stride + n), mean(n), m2(n);
          for (float& v : x) v = d(rng);
          for (size_t j = 0; j < n; ++j) mean[j] = d(rng), m2[j] = std::fabs(d(rng)) * 5;
          GuardedArray<float> gx(x.size()), gm(n), gq(n);
          std::copy(x.begin(), x.end(), gx.data());
          std::copy(mean.begin(), mean.end(), gm.data());
          std::copy(m2.begin(), m2.end(), gq.data());
          {
            ce::ScopedFlushDenormals ftz;
            native::f32_vmoments__scalar(rows, n, x.data(), stride, seen, mean.data(), m2.data());
            k.vmoments(rows, n, gx.data(), stride, seen, gm.data(), gq.data());
          }
          std::vector<double> mag(n);
          for (size_t j = 0; j < n; ++j) mag[j] = 3.0 + std::fabs(m2[j]);
          return near(nm, "mean", gm.data(), mean.data(), n, 2e-6, mag) &&
                 near(nm, "m2", gq.data(), m2.data(), n, 2e-6, mag);
        });
  for (int combo = 0; combo < 16; ++combo)
    for (size_t n : {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 35, 100})
      r.run(pre + ".vnorm.combo" + std::to_string(combo) + "_n" + std::to_string(n), [&](const char* nm) {
        std::mt19937 rng(seed++);
        std::uniform_real_distribution<float> d(-2.0f, 2.0f);
        const size_t rows = 2, xs = n + 3, ys = n + 2;
        const bool ms = combo & 1, gv = combo & 2, bv = combo & 4, none = combo & 8;
        std::vector<float> x((rows - 1) * xs + n), mv(n), sv(n), gvv(n), bvv(n);
        for (auto* v : {&x, &mv, &sv, &gvv, &bvv})
          for (float& e : *v) e = d(rng);
        GuardedArray<float> gx(x.size()), out((rows - 1) * ys + n, 0.0f), gmv(n), gsv(n), ggv(n), gbv(n);
        std::copy(x.begin(), x.end(), gx.data());
        std::copy(mv.begin(), mv.end(), gmv.data());
        std::copy(sv.begin(), sv.end(), gsv.data());
        std::copy(gvv.begin(), gvv.end(), ggv.data());
        std::copy(bvv.begin(), bvv.end(), gbv.data());
        const native::NormAffine p{gmv.data(), gsv.data(), none ? nullptr : ggv.data(),
                                   none ? nullptr : gbv.data(), ms, gv, bv};
        std::vector<float> want(out.size(), 0.0f);
        {
          ce::ScopedFlushDenormals ftz;
          native::f32_vnorm__scalar(rows, n, x.data(), xs, want.data(), ys, &p);
          k.vnorm(rows, n, gx.data(), xs, out.data(), ys, &p);
        }
        return near(nm, "y", out.data(), want.data(), out.size(), 1e-6, std::vector<double>(out.size(), 20.0));
      });
  for (size_t c : {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 35, 64})
    for (size_t w : {0, 1, 2})
      for (float beta : {0.75f, 0.5f, 1.0f, 0.6f})
        r.run(pre + ".lrn.c" + std::to_string(c) + "_w" + std::to_string(w) + "_beta" + std::to_string(beta),
              [&](const char* nm) {
          std::mt19937 rng(seed++);
          std::uniform_real_distribution<float> d(-2.0f, 2.0f);
          const size_t rows = 3, xs = c + 1, ys = c + 2;
          const native::LrnParams p{w == 2 ? 0u : w + 1, w == 2 ? 3u : w + 1, 1e-4f / 5, 1.0f, beta};
          std::vector<float> x((rows - 1) * xs + c), scratch(p.lo + c + p.hi + 8);
          for (float& v : x) v = d(rng);
          GuardedArray<float> gx(x.size()), out((rows - 1) * ys + c, 0.0f), gscratch(scratch.size());
          std::copy(x.begin(), x.end(), gx.data());
          std::vector<float> want(out.size(), 0.0f);
          {
            ce::ScopedFlushDenormals ftz;
            native::f32_lrn__scalar(rows, c, x.data(), xs, want.data(), ys, &p, scratch.data());
            k.lrn(rows, c, gx.data(), xs, out.data(), ys, &p, gscratch.data());
          }
          std::vector<double> mag(want.begin(), want.end());
          for (double& v : mag) v = std::fabs(v);
          return near(nm, "y", out.data(), want.data(), out.size(), 1e-6, mag);
        });
}

// ---- softmax rows ----

struct SoftmaxKernel {
  const char* tag;
  ce::Isa isa;
  native::SoftmaxRowsFn fn;
};
const SoftmaxKernel kSoftmax[] = {
    {"scalar", kScalar, native::f32_softmax_rows__scalar},
#if CE_TEST_X86
    {"avx2", kAvx2, native::f32_softmax_rows__avx2},
    {"avx512f", kAvx512, native::f32_softmax_rows__avx512f},
#elif CE_TEST_ARM64
    {"neon", kNeon, native::f32_softmax_rows__neon},
#endif
};

// Against softmax in double of the same float x - max: exp's error (1.6e-7) plus the float sum's,
// which grows with the terms per lane, and two roundings: 3e-7 + n / 8 x 2^-24 relative (plus
// 2^-126). Rows with a NaN or +inf, and rows of -inf only, are NaN
// throughout; a -inf among finite values is a zero term.
// Three rows with a gap of 3 NaN sentinels between them (left as they were), in place or not.
void softmax_cases(Runner& r, const SoftmaxKernel& k) {
  const std::string pre = std::string("softmax_rows_") + k.tag;
  if (!r.begin(pre.c_str(), k.isa)) return;
  uint32_t seed = 7;
  for (size_t n : lengths())
    for (int special = 0; special < 5; ++special)
      for (bool in_place : {false, true}) {
        r.run([&](const char* nm) {
          std::mt19937 rng(seed++);
          std::uniform_real_distribution<float> d(-30.0f, 30.0f);
          const size_t rows = 3, stride = n + 3, total = (rows - 1) * stride + n;
          std::vector<float> x(total, ce::test::detail::sentinel());
          for (size_t i = 0; i < rows; ++i)
            for (size_t j = 0; j < n; ++j) x[i * stride + j] = d(rng) - (i == 2 ? 1000.0f : 0.0f);
          // row 1 gets the special value: none, NaN, +inf, -inf (a zero term), all -inf
          const float sp[] = {0.0f, NAN, INFINITY, -INFINITY, -INFINITY};
          if (special == 4)
            for (size_t j = 0; j < n; ++j) x[stride + j] = -INFINITY;
          else if (special)
            x[stride + n * 7 / 11] = sp[special];
          GuardedArray<float> gx(total), gy(total, ce::test::detail::sentinel());
          std::copy(x.begin(), x.end(), gx.data());
          float* y = in_place ? gx.data() : gy.data();
          {
            ce::ScopedFlushDenormals ftz;
            k.fn(rows, n, gx.data(), stride, y, stride);
          }
          for (size_t i = 0; i < rows; ++i) {
            const float* xr = &x[i * stride];
            // x - m is rounded to float (as every float softmax does): the reference takes the
            // same argument, so the tolerance measures exp, the sum and the scaling.
            float m = -INFINITY;
            bool bad = false;
            for (size_t j = 0; j < n; ++j) {
              bad |= xr[j] != xr[j] || xr[j] == INFINITY;
              m = std::max(m, xr[j]);
            }
            bad |= m == -INFINITY;
            double sum = 0.0;
            for (size_t j = 0; j < n; ++j) sum += std::exp(double(xr[j] - m));
            const double tol = 3e-7 + std::ldexp(double(n) / 8, -24);
            for (size_t j = 0; j < n; ++j) {
              const float got = y[i * stride + j];
              if (bad) {
                if (got == got) return std::printf("%s: row %zu y[%zu] = %g, want NaN\n", nm, i, j, got), false;
                continue;
              }
              const double want = std::exp(double(xr[j] - m)) / sum;
              if (!(std::fabs(got - want) <= tol * want + FLT_MIN))
                return std::printf("%s: row %zu y[%zu] = %.9g, want %.9g\n", nm, i, j, got, want), false;
            }
            if (i + 1 < rows)
              for (size_t j = n; j < stride; ++j)
                if (!ce::test::detail::is_sentinel(y[i * stride + j]))
                  return std::printf("%s: gap after row %zu written\n", nm, i), false;
          }
          return true;
        }, "%s.n%zu.special%d%s", pre.c_str(), n, special, in_place ? ".in_place" : "");
      }
}

// ---- dispatch ----

bool check_dispatch() {
  std::set<const void*> tested;
  auto add = [&](const void* p) { tested.insert(p); };
  for (const auto& k : kAct) add(reinterpret_cast<const void*>(k.fn));
  for (const auto& k : kAct) add(reinterpret_cast<const void*>(k.ref));
  for (const auto& op : kMathOps)
    for (native::VMathFn f : {op.scalar, op.avx2, op.avx512, op.neon})
      if (f) add(reinterpret_cast<const void*>(f));
  for (const auto& op : kBinaryOps)
    for (native::VBinaryFn f : {op.scalar, op.avx2, op.neon})
      if (f) add(reinterpret_cast<const void*>(f));
  for (const auto& k : kScaleShift) add(reinterpret_cast<const void*>(k.fn));
  for (const auto& k : kScaleShiftCw) add(reinterpret_cast<const void*>(k.fn));
  for (const auto& k : kEpilogue) add(reinterpret_cast<const void*>(k.fn));
  // Portable only (no vector twin to compare with): checked by the Python suite.
  for (native::VMathFn f : {native::f32_vsin__scalar, native::f32_vcos__scalar, native::f32_vpowc__scalar})
    add(reinterpret_cast<const void*>(f));
  add(reinterpret_cast<const void*>(native::f32_vpow__scalar));
  bool ok = true;
  auto need = [&](const void* p, const char* what, ce::Isa isa) {
    if (tested.count(p)) return;
    std::printf("dispatch: %s at level %s is an untested kernel\n", what, ce::isa_name(isa));
    ok = false;
  };
  for (ce::Isa isa : {kScalar, kAvx2, kAvx512, kNeon}) {
    if (!ce::cpu_supports(isa)) continue;
    const ce::ElementwiseKernels& e = ce::elementwise_kernels(isa);
    for (native::VUnaryFn f : {e.clamp, e.hswish, e.hsigmoid, e.sigmoid, e.silu})
      need(reinterpret_cast<const void*>(f), "elementwise_kernels()", isa);
    need(reinterpret_cast<const void*>(e.scaleshift), "elementwise_kernels().scaleshift", isa);
    need(reinterpret_cast<const void*>(e.scaleshift_cw), "elementwise_kernels().scaleshift_cw", isa);
    const ce::MathKernels& m = ce::math_kernels(isa);
    for (native::VMathFn f : {m.erf, m.gelu, m.gelu_tanh, m.mish, m.softplus, m.elu, m.exp, m.log,
                              m.sqrt, m.recip, m.abs, m.neg, m.softsign, m.threshold, m.sin, m.cos,
                              m.sqr, m.cube, m.rsqrt, m.powc})
      need(reinterpret_cast<const void*>(f), "math_kernels()", isa);
    for (native::VBinaryFn f : {m.min, m.minc, m.max, m.maxc, m.add, m.addc, m.prelu, m.preluc, m.pow})
      need(reinterpret_cast<const void*>(f), "math_kernels() (binary)", isa);
    for (int kind = 0; kind < ce::kNumActKinds; ++kind)
      need(reinterpret_cast<const void*>(ce::epilogue_kernel(kind, isa)), "epilogue_kernel()", isa);
    const ce::NnKernels& nk = ce::nn_kernels(isa);
    const bool nn_tested = isa == kScalar || std::any_of(std::begin(kNnLevels), std::end(kNnLevels),
                                                          [&](const NnLevel& l) { return l.isa == isa; }) ||
                           (isa == kAvx512 && nk.rreduce == ce::nn_kernels(kAvx2).rreduce);
    bool softmax_tested = false;
    for (const auto& sk : kSoftmax) softmax_tested |= sk.fn == nk.softmax_rows;
    if (!softmax_tested) {
      std::printf("dispatch: nn_kernels().softmax_rows at level %s is untested\n", ce::isa_name(isa));
      ok = false;
    }
    if (!nn_tested) {
      std::printf("dispatch: nn_kernels() at level %s is untested\n", ce::isa_name(isa));
      ok = false;
    }
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Runner r(argc, argv);
  for (const auto& k : kAct) act_cases(r, k);
  for (const auto& op : kMathOps) math_cases(r, op);
  for (const auto& op : kBinaryOps) binary_cases(r, op);
  for (const auto& k : kScaleShift) scaleshift_cases(r, k);
  for (const auto& k : kScaleShiftCw) scaleshift_cw_cases(r, k);
  for (const auto& k : kEpilogue) epilogue_cases(r, k);
  for (const auto& l : kNnLevels) nn_cases(r, l);
  for (const auto& k : kSoftmax) softmax_cases(r, k);
  const bool dispatch_ok = check_dispatch();
  if (!dispatch_ok) std::printf("dispatch check failed\n");
  return r.finish() != 0 || !dispatch_ok ? 1 : 0;
}
