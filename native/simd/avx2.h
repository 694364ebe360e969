// Small AVX2 helpers shared by the kernels (include only from -avx2.cpp / -fma3.cpp files).
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace ce::native::avx2 {

// Lane mask with the first n (< 8) lanes set, for _mm256_maskload_ps / _mm256_maskstore_ps.
inline __m256i tail_mask(size_t n) {
  alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&table[8 - n]));
}

}  // namespace ce::native::avx2
