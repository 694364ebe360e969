// Small AVX-512 helpers shared by the kernels (include only from -avx512f.cpp files).
#pragma once
#include <immintrin.h>

#include <cstddef>

namespace ce::native::avx512 {

// Lanes 0..n-1 of a 16-lane vector, n in 0..16 (16 and above: all lanes). Masked loads and
// stores neither read nor write the other lanes' memory, so they cannot fault past a tail.
inline __mmask16 tail_mask(size_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

}  // namespace ce::native::avx512
