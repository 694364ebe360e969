// Activation buffers: 64-byte aligned (a cache line, so 32-byte vector loads never straddle two)
// and not zero-filled on allocation (every element is written before it is read).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>
#include <type_traits>
#include <vector>
#ifdef __linux__
#include <sys/mman.h>
#endif

namespace ce {

bool debug_nan();  // engine/debug.h

// An allocation the engine could not make, or refused because it could not fit: a
// std::bad_alloc whose message names what was asked for and its size. The C API returns it as
// CE_OUT_OF_MEMORY, the Python bindings raise convengine.OutOfMemoryError (a MemoryError).
// Catch sites that know what the memory was for rethrow it with that in front.
class OutOfMemory : public std::bad_alloc {
 public:
  OutOfMemory(std::string msg, size_t bytes) : msg_(std::move(msg)), bytes_(bytes) {}
  const char* what() const noexcept override { return msg_.c_str(); }
  size_t bytes() const { return bytes_; }  // the allocation asked for (0: unknown)

 private:
  std::string msg_;
  size_t bytes_;
};

// "1234567890 bytes (1.1 GiB)"
std::string format_bytes(double bytes);
// `context` + ": " + what `e` says, as an OutOfMemory (a plain std::bad_alloc says only "out of
// memory").
[[noreturn]] void rethrow_out_of_memory(const std::string& context, const std::bad_alloc& e);
// The most memory a plan may ask for: the smallest of the machine's physical memory, the
// cgroup's memory.max, RLIMIT_AS and RLIMIT_DATA, and CONVENGINE_MEMORY_LIMIT (bytes), each when
// set; read at every call. `source` names the bound that applied ("physical memory", ...).
struct MemoryLimit {
  double bytes;
  std::string source;
};
MemoryLimit memory_limit();

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
    if (n > (SIZE_MAX - kHuge) / sizeof(T))
      throw OutOfMemory("cannot allocate " + std::to_string(n) + " elements of " +
                        std::to_string(sizeof(T)) + " bytes", SIZE_MAX);
    size_t bytes = ((n * sizeof(T) + kAlign - 1) / kAlign) * kAlign;
    const bool huge = bytes >= kHugeMin;
    if (huge) bytes = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(huge ? kHuge : kAlign, bytes ? bytes : kAlign);
    if (!p) throw OutOfMemory("cannot allocate " + format_bytes(static_cast<double>(bytes)), bytes);
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
