// The case runner shared by the microkernel testers (tests/c/test_*_microkernels.cpp):
//   test_x [-v] [FILTER]   FILTER: run only the cases whose name contains it; -v: print every case
// A kernel whose ISA level the CPU lacks, or that is above the level CONVENGINE_ISA forces, is
// skipped with the reason. A crash (a kernel reading past a guard page) prints the case it hit
// before the signal ends the program.
#pragma once
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/cpu.h"

namespace ce::test {

inline char g_current_case[256] = "(none)";

inline void print_crashed_case(int sig) {
  const char head[] = "\ncrashed in case ";
  (void)!write(2, head, sizeof head - 1);
  (void)!write(2, g_current_case, strlen(g_current_case));
  (void)!write(2, "\n", 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

class CaseRunner {
 public:
  CaseRunner(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "-v") == 0)
        verbose_ = true;
      else
        filter_ = argv[i];
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the lines before a crash reach the log
    signal(SIGSEGV, print_crashed_case);
    signal(SIGBUS, print_crashed_case);
  }

  const std::string& filter() const { return filter_; }
  const std::string& kernel() const { return kernel_; }

  // Returns false (after printing why) when `kernel` cannot run on this machine.
  bool begin(const char* kernel, ce::Isa isa) {
    kernel_ = kernel;
    if (!ce::cpu_supports(isa)) return skip(std::string("the CPU lacks ") + ce::isa_name(isa));
    if (isa > ce::active_isa())
      return skip(std::string("CONVENGINE_ISA=") + ce::isa_name(ce::active_isa()));
    return true;
  }

  // Runs body(name) -> bool for the case `name` unless FILTER excludes it.
  template <class Body>
  void run(const std::string& name, Body&& body) {
    if (!filter_.empty() && name.find(filter_) == std::string::npos) return;
    std::snprintf(g_current_case, sizeof g_current_case, "%s", name.c_str());
    ++cases_;
    const bool ok = body(name.c_str());
    if (!ok) ++failed_, failures_.push_back(name);
    if (!ok || verbose_) std::printf("%s %s\n", ok ? "[ ok ]" : "[FAIL]", name.c_str());
  }

  // The same, for a case named printf(fmt, args...).
  template <class Body, class... Args>
  void run(Body&& body, const char* fmt, Args... args) {
    char name[224];
    std::snprintf(name, sizeof name, fmt, args...);
    run(std::string(name), body);
  }

  // Prints the summary (the first 40 failed cases); 1 when a case failed.
  int finish() const {
    std::printf("%d cases, %d failed, %d kernels skipped\n", cases_, failed_, skipped_);
    for (size_t i = 0; i < failures_.size() && i < 40; ++i)
      std::printf("  FAILED %s\n", failures_[i].c_str());
    return failed_ ? 1 : 0;
  }

 private:
  bool skip(const std::string& why) {
    std::printf("[skip] %s: %s\n", kernel_.c_str(), why.c_str());
    ++skipped_;
    return false;
  }

  std::string filter_, kernel_;
  bool verbose_ = false;
  int cases_ = 0, failed_ = 0, skipped_ = 0;
  std::vector<std::string> failures_;
};

}  // namespace ce::test
