// Activation buffers: 64-byte aligned (a cache line, so 32-byte vector loads never straddle two)
// and not zero-filled on allocation (every element is written before it is read).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>
#include <type_traits>
#include <vector>
#ifdef __linux__
#include <sys/mman.h>
#endif

namespace ce {

bool debug_nan();  // engine/debug.h

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr size_t kAlign = 64;
  // Buffers of kHugeMin bytes and more are 2 MiB aligned and ask the kernel for 2 MiB pages
  // (transparent huge pages are often "madvise" only): a 256-channel layer's Winograd weights
  // (9.4 MB) span 2300 pages of 4 KiB, more than the L2 TLB holds (2048 entries on Zen 3).
  static constexpr size_t kHuge = size_t{2} << 20;
  static constexpr size_t kHugeMin = size_t{4} << 20;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) {
    if (n > (SIZE_MAX - kHuge) / sizeof(T)) throw std::bad_alloc();
    size_t bytes = ((n * sizeof(T) + kAlign - 1) / kAlign) * kAlign;
    const bool huge = bytes >= kHugeMin;
    if (huge) bytes = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(huge ? kHuge : kAlign, bytes ? bytes : kAlign);
    if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (huge) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure leaves 4 KiB pages
#endif
    if constexpr (std::is_floating_point_v<T>)
      if (debug_nan()) std::fill_n(static_cast<T*>(p), bytes / sizeof(T), T(NAN));
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialise: no zeroing
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};

using Buffer = std::vector<float, AlignedAllocator<float>>;

}  // namespace ce
