// The prefetch schedule of the -prfm GEMM kernels (gemm.h), shared by every ISA's template:
// only a full tile (mr == MR) has a next tile; before each NR panel, the first line of that
// panel in the next MR rows of C, then an even share of the lines of the next MR rows of A
// (kc floats each, from a + MR * a_stride). Prefetches never fault.
#pragma once
#include <algorithm>
#include <cstddef>

namespace ce::native {

template <size_t MR>
class NextTilePrefetch {
 public:
  NextTilePrefetch(bool on, size_t nc, size_t nr, size_t kc, const float* a, size_t a_stride,
                   float* c, size_t cm_stride)
      : on_(on),
        row_bytes_(kc * sizeof(float)),
        a_stride_bytes_(a_stride * sizeof(float)),
        cm_stride_bytes_(cm_stride * sizeof(float)),
        left_(on ? MR * ((row_bytes_ + 63) / 64) : 0),
        per_(on ? (left_ * nr + nc - 1) / nc : 0),
        row_(reinterpret_cast<const char*>(a + MR * a_stride)),
        c_(reinterpret_cast<char*>(c + MR * cm_stride)) {}

  // Before each panel; cn_stride: floats to the next panel of C.
  void before_panel(size_t cn_stride) {
    if (!on_) return;
#pragma GCC unroll 16
    for (size_t i = 0; i < MR; ++i) __builtin_prefetch(c_ + i * cm_stride_bytes_, 1);
    c_ += cn_stride * sizeof(float);
    for (size_t j = std::min(left_, per_); j > 0; --j, --left_) {
      __builtin_prefetch(row_ + off_);
      off_ += 64;
      if (off_ >= row_bytes_) {
        off_ = 0;
        row_ += a_stride_bytes_;
      }
    }
  }

 private:
  bool on_;
  size_t row_bytes_, a_stride_bytes_, cm_stride_bytes_, left_, per_, off_ = 0;
  const char* row_;
  char* c_;
};

}  // namespace ce::native
