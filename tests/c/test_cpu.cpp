// engine/cpu.h: the ISA levels of this architecture, their names, CONVENGINE_ISA's fallbacks and
// the optional CPU features read at run time.
//
//   test_cpu [--expect F1,F2,...] [--expect-absent F1,...]
//
// The options name features cpu_features() must (or must not) list: CI runs it under qemu with
// emulated cores whose features are known (QEMU_CPU=max has asimddp, asimdhp, i8mm; cortex-a72
// none of them), which checks the AT_HWCAP bits the detection reads.
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "engine/cpu.h"

namespace {

int g_failed = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("[FAIL] %s\n", what.c_str());
    ++g_failed;
  }
}

std::set<std::string> split(const std::string& s, char sep) {
  std::set<std::string> out;
  std::stringstream in(s);
  for (std::string w; std::getline(in, w, sep);)
    if (!w.empty()) out.insert(w);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using ce::Isa;
  const Isa best = ce::best_isa();
  const std::string features = ce::cpu_features();
  std::printf("best ISA level: %s; features: %s\n", ce::isa_name(best), features.c_str());
  const std::set<std::string> have = split(features, ' ');

#if defined(__x86_64__) || defined(__i386__)
  const Isa levels[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512};
  const Isa foreign = Isa::kNeon;
  check(best != Isa::kNeon, "an x86 CPU reports neon");
  if (best >= Isa::kAvx2) check(have.count("avx2") && have.count("fma"), "avx2 level without avx2/fma listed");
  if (best >= Isa::kAvx512) check(have.count("avx512f") && have.count("avx512vl"), "avx512 level without avx512f/vl listed");
#elif defined(__aarch64__)
  const Isa levels[] = {Isa::kScalar, Isa::kNeon};
  const Isa foreign = Isa::kAvx2;
  check(best == Isa::kNeon, "an aarch64 CPU must report neon (baseline ARMv8-A)");
  check(have.count("asimd") == 1, "aarch64 features must list asimd");
#else
  const Isa levels[] = {Isa::kScalar};
  const Isa foreign = Isa::kNeon;
  check(best == Isa::kScalar, "no SIMD level on this architecture");
#endif
  for (Isa isa : levels) {
    const bool supported = ce::cpu_supports(isa);
    check(supported == (isa == Isa::kScalar || isa <= best), std::string("cpu_supports(") + ce::isa_name(isa) + ")");
    check(ce::parse_isa(ce::isa_name(isa)) == isa, std::string("parse_isa(isa_name(") + ce::isa_name(isa) + "))");
    if (supported) {
      ce::set_isa(isa);
      check(ce::active_isa() == isa, std::string("set_isa(") + ce::isa_name(isa) + ")");
    }
  }
  ce::set_isa(best);
  check(!ce::cpu_supports(foreign), std::string("the other architecture's level ") + ce::isa_name(foreign));
  try {
    ce::set_isa(foreign);
    check(false, "set_isa of the other architecture's level must throw");
  } catch (const std::invalid_argument&) {
  }
  check(ce::active_isa() == best, "a refused set_isa leaves the level as it was");
  try {
    ce::parse_isa("sse9");
    check(false, "parse_isa('sse9') must throw");
  } catch (const std::invalid_argument& e) {
    check(std::strstr(e.what(), "neon") != nullptr, "parse_isa's message lists the levels");
  }

  for (int i = 1; i + 1 < argc; i += 2) {
    const bool want = std::strcmp(argv[i], "--expect") == 0;
    if (!want && std::strcmp(argv[i], "--expect-absent") != 0) {
      std::fprintf(stderr, "usage: test_cpu [--expect F,...] [--expect-absent F,...]\n");
      return 2;
    }
    for (const std::string& f : split(argv[i + 1], ','))
      check(have.count(f) == (want ? 1u : 0u), "feature " + f + (want ? " missing" : " listed"));
  }
  std::printf("%s\n", g_failed ? "FAILED" : "ok");
  return g_failed ? 1 : 0;
}
