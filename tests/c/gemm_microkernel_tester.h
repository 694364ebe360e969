// Microkernel testers for native/gemm/: GEMM (gemm.h), IGEMM (igemm.h) and the tiny-group conv
// (gconv.h); and for Winograd's transformed-domain GEMM (native/winograd/winograd.h). A tester holds named parameters (setter chains, as in XNNPACK's tester);
// Test(kernel) packs random weights as the kernel's contract says, runs the kernel and compares
// every output with a plain double-precision loop. On a mismatch it prints the parameters and
// the first wrong element to stderr and returns false.
//
// Memory is laid out to catch contract violations, not only wrong sums:
//  - A, W, C, the indirection pointers and the zero buffer each end right before an
//    inaccessible page, so reading or writing one element past them faults (masked loads and
//    prefetches do not fault, as the contracts allow).
//  - Floats a kernel must not read are NaN: A past k in a row (strided A), the W init values
//    of an accumulating GEMM call, IGEMM/gconv rows i >= m (they point at a NaN row), and the
//    memory at zero + a_offset.
//  - Elements of C a kernel must not write (row gaps of cm_stride, panel gaps of cn_stride)
//    hold a NaN sentinel and are compared bit for bit afterwards.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <random>
#include <vector>

#include "native/gemm/gconv.h"
#include "native/gemm/gemm.h"
#include "native/gemm/igemm.h"
#include "native/winograd/winograd.h"

namespace ce::test {

// n elements of T whose last element is followed by a PROT_NONE page.
template <class T>
class GuardedArray {
 public:
  explicit GuardedArray(size_t n, T fill = T()) : n_(n) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = (n * sizeof(T) + page - 1) / page * page;
    map_bytes_ = bytes + page;
    void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    map_ = static_cast<char*>(p);
    if (mprotect(map_ + bytes, page, PROT_NONE) != 0) throw std::bad_alloc();
    data_ = reinterpret_cast<T*>(map_ + bytes) - n;
    std::fill(data_, data_ + n, fill);
  }
  ~GuardedArray() { munmap(map_, map_bytes_); }
  GuardedArray(const GuardedArray&) = delete;
  GuardedArray& operator=(const GuardedArray&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  char* map_;
  size_t map_bytes_, n_;
  T* data_;
};

namespace detail {

inline float nan_float() { return std::numeric_limits<float>::quiet_NaN(); }

inline float sentinel() {
  const uint32_t bits = 0x7fc0dead;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline bool is_sentinel(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof f);
  return bits == 0x7fc0dead;
}

// p displaced by -off floats, in integer arithmetic like the engine's relative indirection
// (engine/igemm_conv.h): the kernel adds off back.
inline const float* displace(const float* p, size_t off) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(p) - off * sizeof(float));
}

// Tolerance. Each output is init + sum of `terms` products of floats, computed in float by the
// kernel: one rounding per product added (FMA) or two (multiply, then add), and the 1xNR
// kernels add their 4 partial sums at the end. Every such evaluation order is a summation tree
// of depth <= terms + 2 over the exact products (a rounded product is a product with one more
// relative error), so by the standard bound (Higham, Accuracy and Stability, 3.1-3.5)
//   |kernel - exact| <= gamma(terms + 2) * (|init| + sum |a w|),  gamma(n) = n u / (1 - n u),
// with u = 2^-24. The reference computes the exact sum in double (products of floats are exact
// in double; the double additions add a negligible 2^-53 term), and clamping is 1-Lipschitz,
// so this bound holds after the clamp too. FLT_MIN per term covers products that underflow.
// Any indexing error (a wrong or missing term, a stale accumulator) is of the order of a
// whole term, far above the bound for the sizes tested.
inline double tolerance(size_t terms, double abs_sum) {
  const double u = std::ldexp(1.0, -24);
  const double n = static_cast<double>(terms + 2);
  return n * u / (1.0 - n * u) * abs_sum + n * std::numeric_limits<float>::min();
}

// Clamp bounds as in XNNPACK's testers: qmin / qmax place them at that fraction (of 255) of
// the range of the unclamped results; 0 and 255 mean no bound (-inf / inf, as the engine
// passes for the non-final blocks of K).
inline void clamp_bounds(const std::vector<double>& ref, uint8_t qmin, uint8_t qmax, float* lo,
                         float* hi) {
  double mn = ref.empty() ? 0.0 : ref[0], mx = mn;
  for (double v : ref) mn = std::min(mn, v), mx = std::max(mx, v);
  const double range = mx - mn;
  *lo = qmin == 0 ? -std::numeric_limits<float>::infinity()
                  : static_cast<float>(mn + range * qmin / 255.0);
  *hi = qmax == 255 ? std::numeric_limits<float>::infinity()
                    : static_cast<float>(mx - range * (255 - qmax) / 255.0);
  if (*lo > *hi) *hi = *lo;
}

inline double clamp(double v, float lo, float hi) {
  return std::min<double>(std::max<double>(v, lo), hi);
}

}  // namespace detail

// A named parameter: tester.name(v) sets it (chainable), tester.name() reads it.
#define CE_PARAM(type, name)   \
  Self& name(type v) {         \
    name##_ = v;               \
    return *this;              \
  }                            \
  type name() const { return name##_; }

// GEMM (native/gemm/gemm.h) and IGEMM (native/gemm/igemm.h) microkernels. Parameters:
//   mr, nr        the kernel's tile (m <= mr)
//   m, n, k       rows, output channels and reduction length of this call (k is kc)
//   ks            IGEMM taps (0 allowed: a bias-only call, as a transposed conv's phase with
//                 no taps makes)
//   a_stride      GEMM: floats between A rows; IGEMM: between the A rows the pointers address
//                 (0: k). The floats past k are NaN.
//   cm_stride     floats between C rows (0: just wide enough for the n columns)
//   cn_stride     floats between NR-wide panels of C (0: nr, as the engine passes)
//   accumulate    GEMM: start from the values in C (a later block of K)
//   a_offset      IGEMM: floats added to every pointer but `zero`
//   relative      IGEMM: the engine's form, pointers hold offsets from address 0 and a_offset
//                 is the A buffer's address in floats (overrides a_offset)
//   zero_index    IGEMM: row whose pointer is the zero buffer in every tap (SIZE_MAX: none)
//   zero_tap      IGEMM: tap whose pointers are all the zero buffer (SIZE_MAX: none)
//   qmin, qmax    clamp, see detail::clamp_bounds
//   prefetch_lines  GEMM, IGEMM and Winograd GEMM: lines of the weight-stream hint, passed a NaN
//                 buffer of that many lines (the kernel may prefetch it, never use it)
//   w_stride      Winograd GEMM: floats between NR-wide blocks of B (0: k * nr; a multiple of
//                 8, the blocks are 32-byte aligned); its cm_stride defaults to round_up(n, nr)
// The Winograd GEMM (Test(WinoGemmFn)) has no init values, no clamp and writes C in whole
// blocks: round_up(n, nr) columns per row, those past n zero (cm_stride must leave room).
class GemmMicrokernelTester {
 public:
  using Self = GemmMicrokernelTester;
  CE_PARAM(size_t, mr)
  CE_PARAM(size_t, nr)
  CE_PARAM(size_t, m)
  CE_PARAM(size_t, n)
  CE_PARAM(size_t, k)
  CE_PARAM(size_t, ks)
  CE_PARAM(bool, accumulate)
  CE_PARAM(size_t, a_offset)
  CE_PARAM(bool, relative)
  CE_PARAM(size_t, zero_index)
  CE_PARAM(size_t, zero_tap)
  CE_PARAM(uint8_t, qmin)
  CE_PARAM(uint8_t, qmax)
  CE_PARAM(size_t, iterations)
  CE_PARAM(uint32_t, seed)
  CE_PARAM(size_t, prefetch_lines)
  GemmMicrokernelTester& a_stride(size_t v) { a_stride_ = v; return *this; }
  size_t a_stride() const { return a_stride_ ? a_stride_ : k_; }
  GemmMicrokernelTester& cn_stride(size_t v) { cn_stride_ = v; return *this; }
  size_t cn_stride() const { return cn_stride_ ? cn_stride_ : nr_; }
  GemmMicrokernelTester& cm_stride(size_t v) { cm_stride_ = v; return *this; }
  size_t cm_stride() const { return cm_stride_ ? cm_stride_ : c_col(n_ - 1) + 1; }
  GemmMicrokernelTester& w_stride(size_t v) { w_stride_ = v; return *this; }
  size_t w_stride() const { return w_stride_ ? w_stride_ : k_ * nr_; }

  bool Test(native::GemmFn gemm) const {
    if (!valid() || ks_ != 1 || zero_index_ != SIZE_MAX || zero_tap_ != SIZE_MAX || relative_ ||
        a_offset_ != 0)
      return fail("GEMM parameters out of the contract");
    std::mt19937 rng(seed_);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (size_t it = 0; it < iterations_; ++it) {
      GuardedArray<float> a((m_ - 1) * a_stride() + k_, detail::nan_float());
      fill_rows(a, rng, dist);
      // Panels: nr init values, then k rows of nr weights, zero past n. The init values of an
      // accumulating call are not read: NaN.
      const size_t panels = (n_ + nr_ - 1) / nr_;
      GuardedArray<float> w(panels * nr_ * (1 + k_), 0.0f);
      std::vector<float> bias(n_), wt(k_ * n_);
      for (size_t j = 0; j < n_; ++j) {
        float* p = w.data() + (j / nr_) * nr_ * (1 + k_) + j % nr_;
        bias[j] = dist(rng);
        p[0] = accumulate_ ? detail::nan_float() : bias[j];
        for (size_t kk = 0; kk < k_; ++kk) p[nr_ * (1 + kk)] = wt[kk * n_ + j] = dist(rng);
      }
      GuardedArray<float> c(c_size(), detail::sentinel());
      std::vector<float> c0(m_ * n_);
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n_; ++j)
          c[c_index(i, j)] = c0[i * n_ + j] = accumulate_ ? dist(rng) : detail::nan_float();

      std::vector<double> ref(m_ * n_), abs_sum(m_ * n_);
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n_; ++j) {
          double s = accumulate_ ? c0[i * n_ + j] : bias[j];
          double as = std::fabs(s);
          for (size_t kk = 0; kk < k_; ++kk) {
            const double p = double(a[i * a_stride() + kk]) * wt[kk * n_ + j];
            s += p;
            as += std::fabs(p);
          }
          ref[i * n_ + j] = s;
          abs_sum[i * n_ + j] = as;
        }
      float lo, hi;
      detail::clamp_bounds(ref, qmin_, qmax_, &lo, &hi);
      const native::ClampParams params{lo, hi};
      GuardedArray<float> hint(16 * prefetch_lines_ + 1, detail::nan_float());
      gemm(m_, n_, k_, a.data(), a_stride(), w.data(), c.data(), cm_stride(), cn_stride(),
           accumulate_, &params, hint.data(), prefetch_lines_);
      if (!check(c, ref, abs_sum, k_, lo, hi, it)) return false;
    }
    return true;
  }

  bool Test(native::IGemmFn igemm) const {
    if (!valid() || accumulate_ || (zero_index_ != SIZE_MAX && zero_index_ >= m_) ||
        (zero_tap_ != SIZE_MAX && zero_tap_ >= ks_))
      return fail("IGEMM parameters out of the contract");
    std::mt19937 rng(seed_);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (size_t it = 0; it < iterations_; ++it) {
      // A: one NaN row that rows i >= m point at, then ks * m rows (tap-major) at a_stride.
      const size_t rows = ks_ * m_;
      GuardedArray<float> a((rows + 1) * a_stride() + k_ - a_stride(), detail::nan_float());
      const float* junk = a.data();
      auto row = [&](size_t t, size_t i) { return a.data() + (1 + t * m_ + i) * a_stride(); };
      for (size_t t = 0; t < ks_; ++t)
        for (size_t i = 0; i < m_; ++i)
          for (size_t kk = 0; kk < k_; ++kk) row(t, i)[kk] = dist(rng);
      // zero: k zeros, then (unless relative) NaN where zero + a_offset points.
      const size_t a_off = relative_ ? reinterpret_cast<uintptr_t>(a.data()) / sizeof(float) : a_offset_;
      GuardedArray<float> zero(k_ + (relative_ ? 0 : a_off), detail::nan_float());
      std::fill(zero.data(), zero.data() + k_, 0.0f);
      auto is_zero = [&](size_t t, size_t i) { return i == zero_index_ || t == zero_tap_; };
      GuardedArray<const float*> ind(ks_ * mr_);
      for (size_t t = 0; t < ks_; ++t)
        for (size_t i = 0; i < mr_; ++i)
          ind[t * mr_ + i] = i >= m_        ? detail::displace(junk, a_off)
                             : is_zero(t, i) ? zero.data()
                                             : detail::displace(row(t, i), a_off);

      // Per block of nr channels: nr biases, then ks * k rows of nr weights, zero past n.
      const size_t blocks = (n_ + nr_ - 1) / nr_, block = nr_ * (1 + ks_ * k_);
      GuardedArray<float> w(blocks * block, 0.0f);
      std::vector<float> bias(n_), wt(ks_ * k_ * n_);
      for (size_t j = 0; j < n_; ++j) {
        float* p = w.data() + (j / nr_) * block + j % nr_;
        p[0] = bias[j] = dist(rng);
        for (size_t r = 0; r < ks_ * k_; ++r) p[nr_ * (1 + r)] = wt[r * n_ + j] = dist(rng);
      }
      GuardedArray<float> c(c_size(), detail::sentinel());
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n_; ++j) c[c_index(i, j)] = detail::nan_float();

      std::vector<double> ref(m_ * n_), abs_sum(m_ * n_);
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n_; ++j) {
          double s = bias[j], as = std::fabs(s);
          for (size_t t = 0; t < ks_; ++t) {
            if (is_zero(t, i)) continue;
            for (size_t kk = 0; kk < k_; ++kk) {
              const double p = double(row(t, i)[kk]) * wt[(t * k_ + kk) * n_ + j];
              s += p;
              as += std::fabs(p);
            }
          }
          ref[i * n_ + j] = s;
          abs_sum[i * n_ + j] = as;
        }
      float lo, hi;
      detail::clamp_bounds(ref, qmin_, qmax_, &lo, &hi);
      const native::ClampParams params{lo, hi};
      GuardedArray<float> hint(16 * prefetch_lines_ + 1, detail::nan_float());
      igemm(m_, n_, k_, ks_, ind.data(), w.data(), c.data(), cm_stride(), cn_stride(), a_off,
            zero.data(), &params, hint.data(), prefetch_lines_);
      if (!check(c, ref, abs_sum, ks_ * k_, lo, hi, it)) return false;
    }
    return true;
  }

  bool Test(native::WinoGemmFn gemm) const {
    const size_t nw = (n_ + nr_ - 1) / nr_ * nr_;  // columns written per row
    const size_t cms = cm_stride_ ? cm_stride_ : nw;
    if (m_ < 1 || m_ > mr_ || n_ < 1 || k_ < 1 || a_stride() < k_ || w_stride() < k_ * nr_ ||
        w_stride() % 8 || cms < nw || cn_stride() != nr_ || accumulate_ || ks_ != 1 ||
        qmin_ != 0 || qmax_ != 255 || relative_ || a_offset_ != 0 || zero_index_ != SIZE_MAX ||
        zero_tap_ != SIZE_MAX)
      return fail("Winograd GEMM parameters out of the contract");
    std::mt19937 rng(seed_);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (size_t it = 0; it < iterations_; ++it) {
      GuardedArray<float> a((m_ - 1) * a_stride() + k_, detail::nan_float());
      fill_rows(a, rng, dist);
      // Blocks of nr columns at w_stride: k rows of nr floats, zero past n; NaN between blocks.
      // A multiple of 8 floats ends at the page boundary, so every block is 32-byte aligned.
      const size_t blocks = nw / nr_;
      GuardedArray<float> w(((blocks - 1) * w_stride() + k_ * nr_ + 7) / 8 * 8, detail::nan_float());
      std::vector<float> wt(k_ * n_);
      for (size_t b = 0; b < blocks; ++b)
        for (size_t kk = 0; kk < k_; ++kk)
          for (size_t j = 0; j < nr_; ++j) {
            const size_t col = b * nr_ + j;
            const float v = col < n_ ? dist(rng) : 0.0f;
            w[b * w_stride() + kk * nr_ + j] = v;
            if (col < n_) wt[kk * n_ + col] = v;
          }
      GuardedArray<float> c((m_ - 1) * cms + nw, detail::sentinel());
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < nw; ++j) c[i * cms + j] = detail::nan_float();

      std::vector<double> ref(m_ * n_), abs_sum(m_ * n_);
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n_; ++j) {
          double sum = 0.0, as = 0.0;
          for (size_t kk = 0; kk < k_; ++kk) {
            const double p = double(a[i * a_stride() + kk]) * wt[kk * n_ + j];
            sum += p;
            as += std::fabs(p);
          }
          ref[i * n_ + j] = sum;
          abs_sum[i * n_ + j] = as;
        }
      GuardedArray<float> hint(16 * prefetch_lines_ + 1, detail::nan_float());
      gemm(m_, n_, k_, a.data(), a_stride(), w.data(), w_stride(), c.data(), cms, hint.data(),
           prefetch_lines_);
      for (size_t idx = 0; idx < c.size(); ++idx) {
        const size_t i = idx / cms, j = idx % cms;
        char msg[160];
        if (j >= nw) {
          if (detail::is_sentinel(c[idx])) continue;
          std::snprintf(msg, sizeof msg, "iteration %zu: C[%zu][%zu] is past the written blocks "
                        "but was written", it, i, j);
          return fail(msg);
        }
        const double want = j < n_ ? ref[i * n_ + j] : 0.0;
        const double tol = j < n_ ? detail::tolerance(k_, abs_sum[i * n_ + j]) : 0.0;
        if (!(std::fabs(c[idx] - want) <= tol)) {
          std::snprintf(msg, sizeof msg, "iteration %zu: C[%zu][%zu] = %.9g, want %.9g (tolerance %.3g)",
                        it, i, j, c[idx], want, tol);
          return fail(msg);
        }
      }
    }
    return true;
  }

 private:
  // m rows of k random floats at a_stride (the floats between them keep their NaN).
  template <class Dist>
  void fill_rows(GuardedArray<float>& a, std::mt19937& rng, Dist& dist) const {
    for (size_t i = 0; i < m_; ++i)
      for (size_t kk = 0; kk < k_; ++kk) a[i * a_stride() + kk] = dist(rng);
  }
  size_t c_col(size_t j) const { return (j / nr_) * cn_stride() + j % nr_; }
  size_t c_index(size_t i, size_t j) const { return i * cm_stride() + c_col(j); }
  size_t c_size() const { return (m_ - 1) * cm_stride() + c_col(n_ - 1) + 1; }

  bool valid() const {
    return m_ >= 1 && m_ <= mr_ && n_ >= 1 && nr_ >= 1 && a_stride() >= k_ &&
           cn_stride() >= nr_ && cm_stride() >= c_col(n_ - 1) + 1 && qmin_ <= qmax_;
  }

  bool check(const GuardedArray<float>& c, const std::vector<double>& ref,
             const std::vector<double>& abs_sum, size_t terms, float lo, float hi,
             size_t it) const {
    std::vector<bool> inside(c.size());
    for (size_t i = 0; i < m_; ++i)
      for (size_t j = 0; j < n_; ++j) {
        const size_t idx = c_index(i, j);
        inside[idx] = true;
        const double want = detail::clamp(ref[i * n_ + j], lo, hi);
        const double tol = detail::tolerance(terms, abs_sum[i * n_ + j]);
        if (!(std::fabs(c[idx] - want) <= tol)) {
          char msg[160];
          std::snprintf(msg, sizeof msg, "iteration %zu: C[%zu][%zu] = %.9g, want %.9g (tolerance %.3g)",
                        it, i, j, c[idx], want, tol);
          return fail(msg);
        }
      }
    for (size_t idx = 0; idx < c.size(); ++idx)
      if (!inside[idx] && !detail::is_sentinel(c[idx])) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "iteration %zu: C element %zu (row %zu, column %zu) is outside the tile but was written",
                      it, idx, idx / cm_stride(), idx % cm_stride());
        return fail(msg);
      }
    return true;
  }

  bool fail(const char* what) const {
    std::fprintf(stderr,
                 "    %s\n    [mr %zu nr %zu m %zu n %zu k %zu ks %zu a_stride %zu cm_stride %zu "
                 "cn_stride %zu w_stride %zu accumulate %d a_offset %zu relative %d zero_index %zd "
                 "zero_tap %zd qmin %u qmax %u seed %u prefetch_lines %zu]\n",
                 what, mr_, nr_, m_, n_, k_, ks_, a_stride(), valid() ? cm_stride() : cm_stride_,
                 cn_stride(), w_stride(), accumulate_, a_offset_, relative_,
                 static_cast<ssize_t>(zero_index_), static_cast<ssize_t>(zero_tap_), qmin_, qmax_,
                 seed_, prefetch_lines_);
    return false;
  }

  size_t mr_ = 1, nr_ = 1, m_ = 1, n_ = 1, k_ = 1, ks_ = 1;
  size_t a_stride_ = 0, cm_stride_ = 0, cn_stride_ = 0, w_stride_ = 0;
  bool accumulate_ = false;
  size_t a_offset_ = 0;
  bool relative_ = false;
  size_t zero_index_ = SIZE_MAX, zero_tap_ = SIZE_MAX;
  uint8_t qmin_ = 0, qmax_ = 255;
  size_t iterations_ = 1;
  uint32_t seed_ = 1;
  size_t prefetch_lines_ = 0;
};

// Tiny-group conv microkernels (native/gemm/gconv.h). Parameters:
//   mr, nr           the kernel's pixels per call (8) and channels per block (8, 16); m <= mr
//                    pixels in this call
//   cin_g, cout_g    channels per group (cout_g in {1, 2, 4, 8}, cin_g <= cout_g)
//   groups           groups of the whole conv: c_in = groups * cin_g, c_out = groups * cout_g
//   first_block      the call starts at this block of nr output channels (a_offset then
//                    includes its window start, as in engine/group_conv.cpp)
//   blocks           blocks in this call (0: all from first_block on); nc follows
//   ks               taps
//   pixel_stride     floats between pixels of A (0: c_in); the floats past c_in are NaN, and
//                    the last pixel's c_in channels end at the guard page, so a window past
//                    the input channels must be read with a masked load
//   cm_stride        floats between output pixels (0: nc)
//   a_offset, relative, zero_index, zero_tap, qmin, qmax   as for GemmMicrokernelTester
class GConvMicrokernelTester {
 public:
  using Self = GConvMicrokernelTester;
  CE_PARAM(size_t, mr)
  CE_PARAM(size_t, nr)
  CE_PARAM(size_t, m)
  CE_PARAM(size_t, cin_g)
  CE_PARAM(size_t, cout_g)
  CE_PARAM(size_t, groups)
  CE_PARAM(size_t, first_block)
  CE_PARAM(size_t, ks)
  CE_PARAM(size_t, a_offset)
  CE_PARAM(bool, relative)
  CE_PARAM(size_t, zero_index)
  CE_PARAM(size_t, zero_tap)
  CE_PARAM(uint8_t, qmin)
  CE_PARAM(uint8_t, qmax)
  CE_PARAM(size_t, iterations)
  CE_PARAM(uint32_t, seed)
#undef CE_PARAM
  GConvMicrokernelTester& blocks(size_t v) { blocks_ = v; return *this; }
  GConvMicrokernelTester& pixel_stride(size_t v) { pixel_stride_ = v; return *this; }
  size_t pixel_stride() const { return pixel_stride_ ? pixel_stride_ : c_in(); }
  GConvMicrokernelTester& cm_stride(size_t v) { cm_stride_ = v; return *this; }
  size_t cm_stride() const { return cm_stride_ ? cm_stride_ : nc(); }
  size_t c_in() const { return groups_ * cin_g_; }
  size_t c_out() const { return groups_ * cout_g_; }
  size_t nc() const {
    const size_t left = c_out() - std::min(c_out(), first_block_ * nr_);
    return blocks_ ? std::min(left, blocks_ * nr_) : left;
  }

  bool Test(native::GConvFn gconv) const {
    const bool shape_ok = (cout_g_ == 1 || cout_g_ == 2 || cout_g_ == 4 || cout_g_ == 8) &&
                          cin_g_ >= 1 && cin_g_ <= cout_g_ && groups_ >= 1 && nc() >= 1;
    if (!shape_ok || m_ < 1 || m_ > mr_ || ks_ < 1 || pixel_stride() < c_in() ||
        cm_stride() < nc() || (zero_index_ != SIZE_MAX && zero_index_ >= m_) ||
        (zero_tap_ != SIZE_MAX && zero_tap_ >= ks_) || qmin_ > qmax_)
      return fail("gconv parameters out of the contract");
    const size_t NR = nr_, win = NR * cin_g_ / cout_g_, ps = pixel_stride(), n = nc();
    const size_t ch0 = first_block_ * NR, in_valid = c_in() - first_block_ * win;
    std::mt19937 rng(seed_);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (size_t it = 0; it < iterations_; ++it) {
      // A: a NaN pixel for rows i >= m, then ks * m pixels; the last ends at its c_in-th float.
      const size_t pixels = ks_ * m_;
      GuardedArray<float> a(pixels * ps + c_in(), detail::nan_float());
      const float* junk = a.data();
      auto pixel = [&](size_t t, size_t i) { return a.data() + (1 + t * m_ + i) * ps; };
      for (size_t t = 0; t < ks_; ++t)
        for (size_t i = 0; i < m_; ++i)
          for (size_t ch = 0; ch < c_in(); ++ch) pixel(t, i)[ch] = dist(rng);
      const size_t a_off = relative_ ? reinterpret_cast<uintptr_t>(a.data()) / sizeof(float) : a_offset_;
      // The kernel gets a_offset plus the first block's window start.
      const size_t a_off_call = a_off + first_block_ * win;
      GuardedArray<float> zero(NR + (relative_ ? 0 : a_off_call + NR), detail::nan_float());
      std::fill(zero.data(), zero.data() + NR, 0.0f);
      auto is_zero = [&](size_t t, size_t i) { return i == zero_index_ || t == zero_tap_; };
      GuardedArray<const float*> ind(ks_ * mr_);
      for (size_t t = 0; t < ks_; ++t)
        for (size_t i = 0; i < mr_; ++i)
          ind[t * mr_ + i] = i >= m_        ? detail::displace(junk, a_off)
                             : is_zero(t, i) ? zero.data()
                                             : detail::displace(pixel(t, i), a_off);

      // Per block of NR output channels: NR biases, then ks * cin_g rows of NR (tap-major), lane
      // l is output channel NR b + l, zero past c_out.
      const size_t nblk = (n + NR - 1) / NR, block = NR * (1 + ks_ * cin_g_);
      GuardedArray<float> w(nblk * block, 0.0f);
      std::vector<float> bias(n), wt(n * ks_ * cin_g_);
      for (size_t j = 0; j < n; ++j) {
        float* p = w.data() + (j / NR) * block + j % NR;
        p[0] = bias[j] = dist(rng);
        for (size_t r = 0; r < ks_ * cin_g_; ++r) p[NR * (1 + r)] = wt[j * ks_ * cin_g_ + r] = dist(rng);
      }
      GuardedArray<float> c((m_ - 1) * cm_stride() + n, detail::sentinel());
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n; ++j) c[i * cm_stride() + j] = detail::nan_float();

      std::vector<double> ref(m_ * n), abs_sum(m_ * n);
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n; ++j) {
          const size_t g = (ch0 + j) / cout_g_;
          double s = bias[j], as = std::fabs(s);
          for (size_t t = 0; t < ks_; ++t) {
            if (is_zero(t, i)) continue;
            for (size_t ci = 0; ci < cin_g_; ++ci) {
              const double p = double(pixel(t, i)[g * cin_g_ + ci]) * wt[j * ks_ * cin_g_ + t * cin_g_ + ci];
              s += p;
              as += std::fabs(p);
            }
          }
          ref[i * n + j] = s;
          abs_sum[i * n + j] = as;
        }
      float lo, hi;
      detail::clamp_bounds(ref, qmin_, qmax_, &lo, &hi);
      const native::ClampParams params{lo, hi};
      gconv(m_, n, ks_, cin_g_, cout_g_, ind.data(), a_off_call, zero.data(), w.data(), c.data(),
            cm_stride(), in_valid, &params);

      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n; ++j) {
          const float got = c[i * cm_stride() + j];
          const double want = detail::clamp(ref[i * n + j], lo, hi);
          const double tol = detail::tolerance(ks_ * cin_g_, abs_sum[i * n + j]);
          if (!(std::fabs(got - want) <= tol)) {
            char msg[160];
            std::snprintf(msg, sizeof msg, "iteration %zu: C[%zu][%zu] = %.9g, want %.9g (tolerance %.3g)",
                          it, i, j, got, want, tol);
            return fail(msg);
          }
        }
      for (size_t idx = 0; idx < c.size(); ++idx)
        if (idx % cm_stride() >= n && !detail::is_sentinel(c[idx])) {
          char msg[160];
          std::snprintf(msg, sizeof msg, "iteration %zu: C[%zu][%zu] is past nc but was written", it,
                        idx / cm_stride(), idx % cm_stride());
          return fail(msg);
        }
    }
    return true;
  }

 private:
  bool fail(const char* what) const {
    std::fprintf(stderr,
                 "    %s\n    [mr %zu nr %zu m %zu cin_g %zu cout_g %zu groups %zu first_block %zu blocks %zu "
                 "ks %zu pixel_stride %zu cm_stride %zu a_offset %zu relative %d zero_index %zd "
                 "zero_tap %zd qmin %u qmax %u seed %u]\n",
                 what, mr_, nr_, m_, cin_g_, cout_g_, groups_, first_block_, blocks_, ks_, pixel_stride_,
                 cm_stride_, a_offset_, relative_, static_cast<ssize_t>(zero_index_),
                 static_cast<ssize_t>(zero_tap_), qmin_, qmax_, seed_);
    return false;
  }

  size_t mr_ = 8, nr_ = 8, m_ = 8, cin_g_ = 1, cout_g_ = 1, groups_ = 8, first_block_ = 0, blocks_ = 0;
  size_t ks_ = 1, pixel_stride_ = 0, cm_stride_ = 0, a_offset_ = 0;
  bool relative_ = false;
  size_t zero_index_ = SIZE_MAX, zero_tap_ = SIZE_MAX;
  uint8_t qmin_ = 0, qmax_ = 255;
  size_t iterations_ = 1;
  uint32_t seed_ = 1;
};

}  // namespace ce::test
