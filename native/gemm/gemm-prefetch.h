// Prefetch schedules shared by every ISA's GEMM templates (gemm.h). Prefetches never fault.
//
// NextTilePrefetch, the -prfm kernels': only a full tile (mr == MR) has a next tile; before
// each NR panel, the first line of that panel in the next MR rows of C, then an even share of
// the lines of the next MR rows of A (kc floats each, from a + MR * a_stride).
//
// StreamPrefetch, every MR-row kernel's prefetch hint: `lines` 64-byte lines from p, one every
// steps / lines steps of k (at most one per step), into L2. The kernels test the hint once per
// call and run a loop without stream code when there is none. A driver that reuses a chunk of
// weights over several calls names the next chunk's share in each: the chunk then comes in
// at the pace of the reuse instead of stalling its own first call on DRAM (Zen 5, 1x1
// 512 -> 2048 at 7x7 with its weights in DRAM, 2 threads: 265 -> 223 us; 215 from L3).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ce::native {

class StreamPrefetch {
 public:
  StreamPrefetch(const void* p, size_t lines, size_t steps)
      : p_(static_cast<const char*>(p)),
        left_(lines),
        every_(lines == 0 ? SIZE_MAX : std::max<size_t>(1, steps / lines)),
        countdown_(every_) {}

  void step() {
    if (__builtin_expect(--countdown_ == 0, 0)) {
      countdown_ = every_;
      if (left_ != 0) {
        __builtin_prefetch(p_, 0, 2);
        p_ += 64;
        --left_;
      }
    }
  }

 private:
  const char* p_;
  size_t left_, every_, countdown_;
};

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
