// Every GEMM, IGEMM and tiny-group conv microkernel in native/gemm/, and Winograd's
// transformed-domain GEMM (native/winograd/), through the testers of
// gemm_microkernel_tester.h, with named edge cases per kernel. A kernel above the CPU's ISA
// level (engine/cpu.h), or above the one CONVENGINE_ISA forces, is skipped with the reason. Also checks that engine/dispatch.cpp hands out only kernels tested here, with
// the tile sizes they have, and lists the kernels it never hands out.
//
//   test_gemm_microkernels [-v] [FILTER]   FILTER: run the cases whose "kernel.case" contains it
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "engine/cpu.h"
#include "engine/dispatch.h"
#include "tests/c/gemm_microkernel_tester.h"
#include "tests/c/kernel_test_runner.h"

using ce::test::GConvMicrokernelTester;
using ce::test::GemmMicrokernelTester;
namespace native = ce::native;

namespace {

template <class Fn>
struct Ukernel {
  const char* name;
  Fn fn;
  size_t mr, nr;
  size_t kblock;  // k per step of the kernel's main loop (the 1xNR kernels cut K in quarters)
  ce::Isa isa;    // the level the kernel needs
};

constexpr ce::Isa kScalar = ce::Isa::kScalar, kFma3 = ce::Isa::kAvx2, kAvx512f = ce::Isa::kAvx512,
                  kNeon = ce::Isa::kNeon;

const Ukernel<native::GemmFn> kGemm[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"f32_gemm_6x16__fma3", native::f32_gemm_6x16__fma3, 6, 16, 1, kFma3},
    {"f32_gemm_6x16_prfm__fma3", native::f32_gemm_6x16_prfm__fma3, 6, 16, 1, kFma3},
    {"f32_gemm_4x24__fma3", native::f32_gemm_4x24__fma3, 4, 24, 1, kFma3},
    {"f32_gemm_4x24_prfm__fma3", native::f32_gemm_4x24_prfm__fma3, 4, 24, 1, kFma3},
    {"f32_gemm_1x16__fma3", native::f32_gemm_1x16__fma3, 1, 16, 4, kFma3},
    {"f32_gemm_1x24__fma3", native::f32_gemm_1x24__fma3, 1, 24, 4, kFma3},
    {"f32_gemm_6x32__avx512f", native::f32_gemm_6x32__avx512f, 6, 32, 1, kAvx512f},
    {"f32_gemm_6x32_prfm__avx512f", native::f32_gemm_6x32_prfm__avx512f, 6, 32, 1, kAvx512f},
    {"f32_gemm_8x16__avx512f", native::f32_gemm_8x16__avx512f, 8, 16, 1, kAvx512f},
    {"f32_gemm_8x16_prfm__avx512f", native::f32_gemm_8x16_prfm__avx512f, 8, 16, 1, kAvx512f},
    {"f32_gemm_1x32__avx512f", native::f32_gemm_1x32__avx512f, 1, 32, 4, kAvx512f},
    {"f32_gemm_1x16__avx512f", native::f32_gemm_1x16__avx512f, 1, 16, 4, kAvx512f},
    {"f32_gemm_8x24__avx512f", native::f32_gemm_8x24__avx512f, 8, 24, 1, kAvx512f},
    {"f32_gemm_8x24_prfm__avx512f", native::f32_gemm_8x24_prfm__avx512f, 8, 24, 1, kAvx512f},
    {"f32_gemm_6x40__avx512f", native::f32_gemm_6x40__avx512f, 6, 40, 1, kAvx512f},
    {"f32_gemm_6x40_prfm__avx512f", native::f32_gemm_6x40_prfm__avx512f, 6, 40, 1, kAvx512f},
    {"f32_gemm_1x24__avx512f", native::f32_gemm_1x24__avx512f, 1, 24, 4, kAvx512f},
    {"f32_gemm_1x40__avx512f", native::f32_gemm_1x40__avx512f, 1, 40, 4, kAvx512f},
    {"f32_gemm_6x48__avx512f", native::f32_gemm_6x48__avx512f, 6, 48, 1, kAvx512f},
    {"f32_gemm_6x48_prfm__avx512f", native::f32_gemm_6x48_prfm__avx512f, 6, 48, 1, kAvx512f},
    {"f32_gemm_1x48__avx512f", native::f32_gemm_1x48__avx512f, 1, 48, 4, kAvx512f},
#endif
#if defined(__aarch64__)
    {"f32_gemm_8x8__neon", native::f32_gemm_8x8__neon, 8, 8, 4, kNeon},
    {"f32_gemm_8x8_prfm__neon", native::f32_gemm_8x8_prfm__neon, 8, 8, 4, kNeon},
    {"f32_gemm_6x12__neon", native::f32_gemm_6x12__neon, 6, 12, 4, kNeon},
    {"f32_gemm_6x12_prfm__neon", native::f32_gemm_6x12_prfm__neon, 6, 12, 4, kNeon},
    {"f32_gemm_1x8__neon", native::f32_gemm_1x8__neon, 1, 8, 4, kNeon},
    {"f32_gemm_1x12__neon", native::f32_gemm_1x12__neon, 1, 12, 4, kNeon},
#endif
    {"f32_gemm_4x8__scalar", native::f32_gemm_4x8__scalar, 4, 8, 1, kScalar},
};

const Ukernel<native::IGemmFn> kIGemm[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"f32_igemm_6x16__fma3", native::f32_igemm_6x16__fma3, 6, 16, 1, kFma3},
    {"f32_igemm_6x32__avx512f", native::f32_igemm_6x32__avx512f, 6, 32, 1, kAvx512f},
    {"f32_igemm_8x16__avx512f", native::f32_igemm_8x16__avx512f, 8, 16, 1, kAvx512f},
#endif
#if defined(__aarch64__)
    {"f32_igemm_8x8__neon", native::f32_igemm_8x8__neon, 8, 8, 4, kNeon},
    {"f32_igemm_6x12__neon", native::f32_igemm_6x12__neon, 6, 12, 4, kNeon},
#endif
    {"f32_igemm_4x8__scalar", native::f32_igemm_4x8__scalar, 4, 8, 1, kScalar},
};

const Ukernel<native::GConvFn> kGConv[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"f32_gconv_8p8c__fma3", native::f32_gconv_8p8c__fma3, 8, 8, 1, kFma3},
    {"f32_gconv_8p16c__avx512f", native::f32_gconv_8p16c__avx512f, 8, 16, 1, kAvx512f},
#endif
#if defined(__aarch64__)
    {"f32_gconv_8p8c__neon", native::f32_gconv_8p8c__neon, 8, 8, 1, kNeon},
#endif
    {"f32_gconv_8p8c__scalar", native::f32_gconv_8p8c__scalar, 8, 8, 1, kScalar},
};

const Ukernel<native::WinoGemmFn> kWinoGemm[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"f32_wino_gemm_6x16__fma3", native::f32_wino_gemm_6x16__fma3, 6, 16, 1, kFma3},
    // Its tile is the contract's 6 x 16 block (two per pass).
    {"f32_wino_gemm_6x32__avx512f", native::f32_wino_gemm_6x32__avx512f, 6, 16, 1, kAvx512f},
#endif
#if defined(__aarch64__)
    {"f32_wino_gemm_6x16__neon", native::f32_wino_gemm_6x16__neon, 6, 16, 4, kNeon},
#endif
    {"f32_wino_gemm_6x16__scalar", native::f32_wino_gemm_6x16__scalar, 6, 16, 1, kScalar},
};

uint32_t g_seed = 1;
uint32_t next_seed() { return g_seed++; }

// Cases are named "kernel.case"; bodies take no arguments.
class Runner : public ce::test::CaseRunner {
 public:
  using CaseRunner::CaseRunner;
  template <class Body>
  void run(const char* name, Body&& body) {
    CaseRunner::run(kernel() + "." + name, [&](const char*) { return body(); });
  }
};

std::vector<size_t> k_range(size_t lo, size_t hi) {
  std::vector<size_t> v;
  for (size_t k = lo; k <= hi; ++k) v.push_back(k);
  return v;
}

// K values for the cases that sweep m or n: short, around the block, and long.
std::vector<size_t> k_sweep(size_t kb) {
  std::set<size_t> s{1, 2, kb, kb + 1, 2 * kb + 3, 5 * kb + 1, 17, 64};
  return {s.begin(), s.end()};
}

// Cases shared by GEMM and IGEMM kernels (IGEMM with one tap unless the case says otherwise).
template <class Fn>
void common_cases(Runner& r, const Ukernel<Fn>& u) {
  const size_t mr = u.mr, nr = u.nr, kb = u.kblock;
  const Fn fn = u.fn;
  auto base = [&] { return GemmMicrokernelTester().mr(mr).nr(nr).m(mr).n(nr).k(kb).seed(next_seed()); };
  // A K family: the full tile, strided A, every m x n subtile.
  auto k_family = [&](const char* name, const std::vector<size_t>& ks_) {
    if (ks_.empty()) return;
    const std::string n0 = name;
    r.run(n0.c_str(), [&] {
      for (size_t k : ks_)
        if (!base().k(k).Test(fn)) return false;
      return true;
    });
    r.run((n0 + "_strided_a").c_str(), [&] {
      for (size_t k : ks_)
        if (!base().k(k).a_stride(k + 7).Test(fn)) return false;
      return true;
    });
    r.run((n0 + "_subtile").c_str(), [&] {
      for (size_t k : ks_)
        for (size_t m = 1; m <= mr; ++m)
          for (size_t n = 1; n <= nr; ++n)
            if (!base().k(k).m(m).n(n).Test(fn)) return false;
      return true;
    });
  };
  k_family("k_eq_kblock", {kb});
  r.run("k_eq_kblock_subtile_m", [&] {
    for (size_t m = 1; m <= mr; ++m)
      if (!base().m(m).Test(fn)) return false;
    return true;
  });
  r.run("k_eq_kblock_subtile_n", [&] {
    for (size_t n = 1; n <= nr; ++n)
      if (!base().n(n).Test(fn)) return false;
    return true;
  });
  if (kb > 1) k_family("k_lt_kblock", k_range(1, kb - 1));
  k_family("k_gt_kblock", kb == 1 ? k_range(2, 10) : k_range(kb + 1, 2 * kb - 1));
  std::vector<size_t> kdiv;
  for (size_t f : {2, 3, 5, 8, 16, 33}) kdiv.push_back(f * kb);
  k_family("k_div_kblock", kdiv);
  r.run("k_large", [&] {
    for (size_t k : {300, 1031, 2049})
      if (!base().k(k).n(2 * nr + 3).Test(fn)) return false;
    return true;
  });

  const std::vector<size_t> ksw = k_sweep(kb);
  r.run("n_lt_nr", [&] {
    for (size_t k : ksw)
      for (size_t n = 1; n < nr; ++n)
        if (!base().k(k).n(n).Test(fn)) return false;
    return true;
  });
  auto n_family = [&](const char* name, const std::vector<size_t>& ns) {
    const std::string n0 = name;
    r.run(n0.c_str(), [&] {
      for (size_t k : ksw)
        for (size_t n : ns)
          if (!base().k(k).n(n).Test(fn)) return false;
      return true;
    });
    r.run((n0 + "_strided_cn").c_str(), [&] {
      for (size_t k : ksw)
        for (size_t n : ns)
          if (!base().k(k).n(n).cn_stride(nr + 3).Test(fn)) return false;
      return true;
    });
    r.run((n0 + "_strided_a").c_str(), [&] {
      for (size_t k : ksw)
        for (size_t n : ns)
          if (!base().k(k).n(n).a_stride(k + 5).Test(fn)) return false;
      return true;
    });
    r.run((n0 + "_subtile").c_str(), [&] {
      for (size_t k : ksw)
        for (size_t n : ns)
          for (size_t m = 1; m <= mr; ++m)
            if (!base().k(k).n(n).m(m).Test(fn)) return false;
      return true;
    });
  };
  n_family("n_gt_nr", k_range(nr + 1, 2 * nr - 1));
  n_family("n_div_nr", {2 * nr, 3 * nr, 5 * nr});

  r.run("m_lt_mr", [&] {
    for (size_t k : ksw)
      for (size_t m = 1; m <= mr; ++m)
        for (size_t n : {nr, 2 * nr + 3})
          if (!base().k(k).m(m).n(n).Test(fn)) return false;
    return true;
  });
  r.run("strided_cm", [&] {
    for (size_t k : ksw)
      for (size_t n : {nr, 3 * nr + 1})
        if (!base().k(k).n(n).cm_stride(n + 7).Test(fn)) return false;
    return true;
  });
  r.run("strided_cm_subtile", [&] {
    for (size_t m = 1; m <= mr; ++m)
      for (size_t n = 1; n <= nr; ++n)
        if (!base().k(2 * kb + 1).m(m).n(n).cm_stride(nr + 7).Test(fn)) return false;
    return true;
  });
  r.run("strided_all", [&] {
    for (size_t m = 1; m <= mr; ++m)
      for (size_t n : {nr - 1, 2 * nr + 1})
        if (!base().k(19).m(m).n(n).a_stride(23).cn_stride(nr + 5).cm_stride(3 * nr + 11).Test(fn))
          return false;
    return true;
  });
  r.run("qmin", [&] { return base().k(2 * kb + 1).n(2 * nr + 1).qmin(128).iterations(3).Test(fn); });
  r.run("qmax", [&] { return base().k(2 * kb + 1).n(2 * nr + 1).qmax(128).iterations(3).Test(fn); });
  r.run("clamp_subtile", [&] {
    for (size_t m = 1; m <= mr; ++m)
      for (size_t n = 1; n <= 2 * nr; ++n)
        if (!base().k(kb + 3).m(m).n(n).qmin(64).qmax(192).Test(fn)) return false;
    return true;
  });
}

void gemm_cases(Runner& r, const Ukernel<native::GemmFn>& u) {
  if (!r.begin(u.name, u.isa)) return;
  common_cases(r, u);
  const size_t mr = u.mr, nr = u.nr, kb = u.kblock;
  auto base = [&] { return GemmMicrokernelTester().mr(mr).nr(nr).m(mr).n(nr).k(kb).seed(next_seed()); };
  // A later block of K: the kernel starts from C (the engine's K blocks above 4096).
  r.run("accumulate", [&] {
    for (size_t k : k_sweep(kb))
      for (size_t n : {nr, 2 * nr + 3})
        if (!base().k(k).n(n).accumulate(true).Test(u.fn)) return false;
    return true;
  });
  r.run("accumulate_subtile", [&] {
    for (size_t m = 1; m <= mr; ++m)
      for (size_t n = 1; n <= 2 * nr + 1; ++n)
        if (!base().k(kb + 2).m(m).n(n).accumulate(true).Test(u.fn)) return false;
    return true;
  });
  r.run("accumulate_strided", [&] {
    for (size_t m = 1; m <= mr; ++m)
      if (!base().k(9).m(m).n(2 * nr + 5).accumulate(true).a_stride(13).cn_stride(nr + 1)
               .cm_stride(3 * nr + 7).Test(u.fn))
        return false;
    return true;
  });
  r.run("accumulate_clamp", [&] {
    return base().k(7).n(3 * nr - 1).accumulate(true).qmin(50).qmax(200).iterations(3).Test(u.fn);
  });
  // The weight-stream hint: fewer lines than k steps, about as many, and far more.
  r.run("prefetch_hint", [&] {
    for (size_t lines : {size_t{1}, size_t{5}, size_t{300}})
      for (size_t m = 1; m <= mr; ++m)
        if (!base().k(kb + 11).m(m).n(2 * nr + 3).prefetch_lines(lines).Test(u.fn) ||
            !base().k(kb + 11).m(m).n(nr).accumulate(true).prefetch_lines(lines).Test(u.fn))
          return false;
    return true;
  });
}

void igemm_cases(Runner& r, const Ukernel<native::IGemmFn>& u) {
  if (!r.begin(u.name, u.isa)) return;
  common_cases(r, u);
  const size_t mr = u.mr, nr = u.nr, kb = u.kblock;
  const native::IGemmFn fn = u.fn;
  auto base = [&] { return GemmMicrokernelTester().mr(mr).nr(nr).m(mr).n(nr).k(kb).seed(next_seed()); };
  const std::vector<size_t> ksw = k_sweep(kb);
  r.run("small_kernel", [&] {
    for (size_t k : ksw)
      if (!base().k(k).ks(3).Test(fn)) return false;
    return true;
  });
  r.run("prefetch_hint", [&] {
    for (size_t lines : {size_t{1}, size_t{5}, size_t{300}})
      for (size_t m = 1; m <= mr; ++m)
        if (!base().k(kb + 3).ks(3).m(m).n(2 * nr + 1).prefetch_lines(lines).Test(fn)) return false;
    return true;
  });
  r.run("small_kernel_subtile", [&] {
    for (size_t k : {size_t{1}, kb + 2})
      for (size_t m = 1; m <= mr; ++m)
        for (size_t n = 1; n <= nr; ++n)
          if (!base().k(k).ks(3).m(m).n(n).Test(fn)) return false;
    return true;
  });
  r.run("n_gt_nr_small_kernel", [&] {
    for (size_t k : ksw)
      for (size_t n = nr + 1; n < 2 * nr; ++n)
        if (!base().k(k).n(n).ks(3).Test(fn)) return false;
    return true;
  });
  r.run("n_div_nr_small_kernel", [&] {
    for (size_t k : ksw)
      for (size_t n : {2 * nr, 3 * nr})
        if (!base().k(k).n(n).ks(3).Test(fn)) return false;
    return true;
  });
  r.run("large_kernel", [&] {
    for (size_t ks : {9, 27})
      for (size_t k : {size_t{3}, size_t{64}})
        if (!base().k(k).ks(ks).n(2 * nr + 1).Test(fn)) return false;
    return true;
  });
  // A transposed conv's phase that no tap reaches: bias only.
  r.run("ks_eq_0", [&] {
    for (size_t m = 1; m <= mr; ++m)
      for (size_t n : {size_t{1}, nr, 2 * nr + 3})
        if (!base().ks(0).m(m).n(n).qmin(64).Test(fn)) return false;
    return true;
  });
  r.run("a_offset", [&] {
    for (size_t k : ksw)
      for (size_t off : {size_t{1}, size_t{13}, 64 * k + 5})
        if (!base().k(k).ks(3).n(2 * nr - 1).a_offset(off).Test(fn)) return false;
    return true;
  });
  // zero buffer rows must be read without a_offset (a_offset leads to NaN past the zeros).
  r.run("zero", [&] {
    for (size_t k : ksw)
      for (size_t z = 0; z < mr; ++z)
        if (!base().k(k).ks(3).n(2 * nr - 1).a_offset(7 * k + 3).zero_index(z).Test(fn)) return false;
    return true;
  });
  r.run("zero_subtile", [&] {
    for (size_t m = 1; m <= mr; ++m)
      for (size_t z = 0; z < m; ++z)
        if (!base().k(5).ks(2).m(m).n(nr - 1).a_offset(41).zero_index(z).Test(fn)) return false;
    return true;
  });
  r.run("zero_tap", [&] {
    for (size_t ks : {1, 3})
      for (size_t t = 0; t < ks; ++t)
        for (size_t m = 1; m <= mr; ++m)
          if (!base().k(6).ks(ks).m(m).n(nr + 3).a_offset(19).zero_tap(t).Test(fn)) return false;
    return true;
  });
  // The engine's form: pointers are offsets from address 0, a_offset is the input's address.
  r.run("relative_indirection", [&] {
    for (size_t m = 1; m <= mr; ++m)
      for (size_t z : {SIZE_MAX, m - 1})
        if (!base().k(11).ks(4).m(m).n(2 * nr + 1).relative(true).zero_index(z).Test(fn))
          return false;
    return true;
  });
}

void gconv_cases(Runner& r, const Ukernel<native::GConvFn>& u) {
  if (!r.begin(u.name, u.isa)) return;
  const native::GConvFn fn = u.fn;
  struct Shape {
    size_t cin_g, cout_g;
  };
  std::vector<Shape> shapes;
  for (size_t co : {1, 2, 4, 8})
    for (size_t ci = 1; ci <= co; ++ci) shapes.push_back({ci, co});
  auto base = [&](const Shape& s) {
    return GConvMicrokernelTester().mr(u.mr).nr(u.nr).m(u.mr).cin_g(s.cin_g).cout_g(s.cout_g)
        .groups(u.nr / s.cout_g).seed(next_seed());
  };
  // groups giving c_out = nr * blocks (+ extra channels)
  auto groups_for = [&](const Shape& s, size_t blocks, size_t extra_groups = 0) {
    return u.nr * blocks / s.cout_g + extra_groups;
  };
  auto each = [&](auto&& body) {
    for (const Shape& s : shapes)
      if (!body(s)) return false;
    return true;
  };
  r.run("one_block", [&] { return each([&](const Shape& s) { return base(s).Test(fn); }); });
  r.run("m_lt_mr", [&] {
    return each([&](const Shape& s) {
      for (size_t m = 1; m <= u.mr; ++m)
        if (!base(s).m(m).ks(3).groups(groups_for(s, 2)).Test(fn)) return false;
      return true;
    });
  });
  r.run("ks", [&] {
    return each([&](const Shape& s) {
      for (size_t ks : {1, 2, 9, 27})
        if (!base(s).ks(ks).groups(groups_for(s, 3)).Test(fn)) return false;
      return true;
    });
  });
  // c_out not a multiple of nr: a last block with whole groups but fewer than nr channels.
  r.run("nc_tail", [&] {
    return each([&](const Shape& s) {
      for (size_t extra = 1; extra < u.nr / s.cout_g; ++extra)
        for (size_t m = 1; m <= u.mr; ++m)
          if (!base(s).m(m).ks(2).groups(groups_for(s, 2, extra)).Test(fn)) return false;
      return true;
    });
  });
  r.run("many_blocks", [&] {
    return each([&](const Shape& s) {
      for (size_t extra : {0, 1})
        if (!base(s).ks(3).groups(groups_for(s, 8, extra)).Test(fn)) return false;
      return true;
    });
  });
  // A call that starts at a later block (the engine's channel chunks).
  r.run("first_block", [&] {
    return each([&](const Shape& s) {
      for (size_t b0 : {1, 2, 3})
        for (size_t extra : {0, 1})
          if (!base(s).ks(3).groups(groups_for(s, 4, extra)).first_block(b0).Test(fn)) return false;
      return true;
    });
  });
  // A chunk that is not the last: the input channels go on past its windows.
  r.run("chunk", [&] {
    return each([&](const Shape& s) {
      for (size_t b0 : {0, 1, 2})
        for (size_t blocks : {1, 2})
          if (!base(s).ks(2).groups(groups_for(s, 5, 1)).first_block(b0).blocks(blocks).Test(fn))
            return false;
      return true;
    });
  });
  r.run("pixel_stride", [&] {
    return each([&](const Shape& s) {
      for (size_t pad : {1, 3, 8, 21})
        for (size_t b0 : {0, 1})
          if (!base(s).ks(3).groups(groups_for(s, 3, 1)).first_block(b0)
                   .pixel_stride((groups_for(s, 3, 1)) * s.cin_g + pad).Test(fn))
            return false;
      return true;
    });
  });
  r.run("strided_cm", [&] {
    return each([&](const Shape& s) {
      for (size_t m = 1; m <= u.mr; ++m)
        if (!base(s).m(m).ks(2).groups(groups_for(s, 2, 1)).cm_stride(u.nr * 3 + 5).Test(fn)) return false;
      return true;
    });
  });
  r.run("a_offset", [&] {
    return each([&](const Shape& s) {
      for (size_t off : {1, 13, 100})
        if (!base(s).ks(3).groups(groups_for(s, 2, 1)).first_block(1).a_offset(off).Test(fn)) return false;
      return true;
    });
  });
  r.run("zero", [&] {
    return each([&](const Shape& s) {
      for (size_t z = 0; z < u.mr; ++z)
        if (!base(s).ks(3).groups(groups_for(s, 3, 1)).first_block(1).a_offset(17).zero_index(z).Test(fn))
          return false;
      return true;
    });
  });
  r.run("zero_tap", [&] {
    return each([&](const Shape& s) {
      for (size_t t = 0; t < 3; ++t)
        for (size_t m : {size_t{1}, size_t{5}, u.mr})
          if (!base(s).m(m).ks(3).groups(groups_for(s, 2, 1)).a_offset(9).zero_tap(t).Test(fn))
            return false;
      return true;
    });
  });
  r.run("relative_indirection", [&] {
    return each([&](const Shape& s) {
      for (size_t m = 1; m <= u.mr; ++m)
        if (!base(s).m(m).ks(3).groups(groups_for(s, 3, 1)).first_block(1).relative(true)
                 .zero_index(m - 1).Test(fn))
          return false;
      return true;
    });
  });
  r.run("qmin", [&] {
    return each([&](const Shape& s) { return base(s).ks(3).groups(groups_for(s, 2, 1)).qmin(128).Test(fn); });
  });
  r.run("qmax", [&] {
    return each([&](const Shape& s) { return base(s).ks(3).groups(groups_for(s, 2, 1)).qmax(128).Test(fn); });
  });
}

// The Winograd GEMM: every m, n around and past the 16-column blocks, k from 1 to past the
// engine's padded channel counts, strided A, C and B blocks.
void wino_gemm_cases(Runner& r, const Ukernel<native::WinoGemmFn>& u) {
  if (!r.begin(u.name, u.isa)) return;
  const size_t mr = u.mr, nr = u.nr;
  const native::WinoGemmFn fn = u.fn;
  auto base = [&] { return GemmMicrokernelTester().mr(mr).nr(nr).m(mr).n(nr).k(8).seed(next_seed()); };
  const std::vector<size_t> ks{1, 2, 7, 8, 9, 16, 64, 67};
  r.run("full_tile", [&] {
    for (size_t k : ks)
      if (!base().k(k).Test(fn)) return false;
    return true;
  });
  r.run("k_large", [&] {
    for (size_t k : {256, 1031})
      if (!base().k(k).n(2 * nr + 3).Test(fn)) return false;
    return true;
  });
  r.run("subtile", [&] {
    for (size_t k : {1, 8, 17})
      for (size_t m = 1; m <= mr; ++m)
        for (size_t n = 1; n <= nr; ++n)
          if (!base().k(k).m(m).n(n).Test(fn)) return false;
    return true;
  });
  r.run("n_gt_nr", [&] {
    for (size_t k : ks)
      for (size_t m = 1; m <= mr; ++m)
        for (size_t n : {nr + 1, 2 * nr - 1, 2 * nr, 3 * nr + 5, 4 * nr})
          if (!base().k(k).m(m).n(n).Test(fn)) return false;
    return true;
  });
  r.run("strided_a", [&] {
    for (size_t k : ks)
      for (size_t m = 1; m <= mr; ++m)
        if (!base().k(k).m(m).n(2 * nr + 1).a_stride(k + 5).Test(fn)) return false;
    return true;
  });
  r.run("prefetch_hint", [&] {
    for (size_t lines : {size_t{1}, size_t{5}, size_t{300}})
      for (size_t m = 1; m <= mr; ++m)
        for (size_t n : {nr, 3 * nr - 2})
          if (!base().k(19).m(m).n(n).prefetch_lines(lines).Test(fn)) return false;
    return true;
  });
  r.run("strided_cm", [&] {
    for (size_t m = 1; m <= mr; ++m)
      for (size_t n : {size_t{3}, nr, 2 * nr + 7})
        if (!base().k(9).m(m).n(n).cm_stride((n + nr - 1) / nr * nr + 13).Test(fn)) return false;
    return true;
  });
  r.run("strided_w", [&] {
    for (size_t k : {1, 8, 24})
      for (size_t m = 1; m <= mr; ++m)
        if (!base().k(k).m(m).n(3 * nr - 2).w_stride(k * nr + 24).Test(fn)) return false;
    return true;
  });
  r.run("strided_all", [&] {
    for (size_t m = 1; m <= mr; ++m)
      if (!base().k(19).m(m).n(2 * nr + 9).a_stride(23).cm_stride(3 * nr + 11).w_stride(19 * nr + 8)
               .iterations(2).Test(fn))
        return false;
    return true;
  });
}

// engine/dispatch.cpp hands out only the kernels above, with their tile sizes; returns the
// names of the kernels above it never hands out.
bool check_dispatch(std::vector<std::string>* unused) {
  std::set<std::string> failures;
  std::set<const void*> used;
  auto fail = [&](const std::string& what) {
    if (failures.insert(what).second) std::printf("[FAIL] dispatch: %s\n", what.c_str());
  };
  // mr 0: any (a row kernel needs only the panel width; every MR-row kernel takes mr == 1).
  auto gemm_tile = [&](native::GemmFn fn, size_t mr, size_t nr, const char* what) {
    used.insert(reinterpret_cast<const void*>(fn));
    for (const auto& u : kGemm)
      if (u.fn == fn) {
        if ((mr != 0 && u.mr != mr) || u.nr != nr)
          fail(std::string(what) + " " + u.name + " with tile " + std::to_string(mr) + "x" + std::to_string(nr));
        return;
      }
    fail(std::string(what) + " is not a tested GEMM kernel");
  };
  for (ce::Isa isa : {kScalar, kFma3, kAvx512f, kNeon}) {
    for (size_t nc = 1; nc <= 512; ++nc) {
      const ce::GemmKernel& k = ce::gemm_kernel(nc, isa);
      gemm_tile(k.fn, k.mr, k.nr, "gemm_kernel().fn");
      gemm_tile(k.prfm, k.mr, k.nr, "gemm_kernel().prfm");
      gemm_tile(k.row, 0, k.nr, "gemm_kernel().row");
    }
    for (size_t nc = 1; nc <= 256; ++nc) {
      const ce::IGemmKernel& ik = ce::igemm_kernel(nc, isa);
      used.insert(reinterpret_cast<const void*>(ik.fn));
      bool found = false;
      for (const auto& u : kIGemm)
        if (u.fn == ik.fn) {
          found = true;
          if (u.mr != ik.mr || u.nr != ik.nr) fail(std::string("igemm_kernel() ") + u.name + " with a wrong tile");
        }
      if (!found) fail("igemm_kernel() is not a tested IGEMM kernel");
    }
    const ce::GConvKernel& gk = ce::gconv_kernel(isa);
    used.insert(reinterpret_cast<const void*>(gk.fn));
    bool found = false;
    for (const auto& u : kGConv)
      if (u.fn == gk.fn) {
        found = true;
        if (u.mr != gk.mr || u.nr != gk.nr)
          fail(std::string("gconv_kernel() ") + u.name + " with a tile other than the tested one");
      }
    if (!found) fail("gconv_kernel() is not a tested gconv kernel");
    auto wino_gemm = [&](const ce::WinogradKernels& k, const char* what) {
      const native::WinoGemmFn fn = k.gemm;
      used.insert(reinterpret_cast<const void*>(fn));
      if (k.gemm_nc == 0 || k.gemm_nc % native::kWinoGemmNr)
        fail(std::string(what) + " calls the GEMM on columns other than whole blocks");
      for (const auto& u : kWinoGemm)
        if (u.fn == fn) {
          if (u.mr != native::kWinoGemmMr || u.nr != native::kWinoGemmNr)
            fail(std::string(what) + " " + u.name + " with a tile other than the driver's");
          return;
        }
      fail(std::string(what) + " is not a tested Winograd GEMM kernel");
    };
    for (int m : {2, 4, 5, 6}) wino_gemm(ce::winograd_kernels(m, isa), "winograd_kernels().gemm");
    for (int rr = 3; rr <= 7; ++rr) wino_gemm(ce::winograd1d_kernels(rr, isa), "winograd1d_kernels().gemm");
  }
  auto note = [&](const char* name, const void* fn) {
    if (!used.count(fn)) unused->push_back(name);
  };
  for (const auto& u : kGemm)
    note(u.name, reinterpret_cast<const void*>(u.fn));
  for (const auto& u : kIGemm) note(u.name, reinterpret_cast<const void*>(u.fn));
  for (const auto& u : kGConv) note(u.name, reinterpret_cast<const void*>(u.fn));
  for (const auto& u : kWinoGemm) note(u.name, reinterpret_cast<const void*>(u.fn));
  return failures.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Runner r(argc, argv);
  for (const auto& u : kGemm) gemm_cases(r, u);
  for (const auto& u : kIGemm) igemm_cases(r, u);
  for (const auto& u : kGConv) gconv_cases(r, u);
  for (const auto& u : kWinoGemm) wino_gemm_cases(r, u);

  std::vector<std::string> unused;
  const bool dispatch_ok = r.filter().empty() ? check_dispatch(&unused) : true;
  for (const std::string& name : unused)
    std::printf("note: %s is tested but never dispatched (engine/dispatch.cpp)\n", name.c_str());
  const int rc = r.finish();
  return rc != 0 || !dispatch_ok ? 1 : 0;
}
