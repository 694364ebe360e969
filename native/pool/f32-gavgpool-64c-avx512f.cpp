// Global average pooling: out[c] = scale * sum over `rows` pixels of in[r][c]. 64 channels per
// step (four independent accumulators), then 16 channels, then a masked tail, with two
// accumulators over alternate rows, so a narrow tensor is not bound by the add latency.
#include <immintrin.h>

#include "native/simd/avx512.h"

#include "native/pool/pool.h"

namespace ce::native {

void f32_gavgpool_64c__avx512f(size_t rows, size_t channels, const float* in, size_t in_stride,
                               float scale, float* out) {
  const __m512 vscale = _mm512_set1_ps(scale);
  size_t c = 0;
  for (; c + 64 <= channels; c += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* p = in + c;
    for (size_t r = 0; r < rows; ++r, p += in_stride) {
      a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p));
      a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + 16));
      a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + 32));
      a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + 48));
    }
    _mm512_storeu_ps(out + c, _mm512_mul_ps(a0, vscale));
    _mm512_storeu_ps(out + c + 16, _mm512_mul_ps(a1, vscale));
    _mm512_storeu_ps(out + c + 32, _mm512_mul_ps(a2, vscale));
    _mm512_storeu_ps(out + c + 48, _mm512_mul_ps(a3, vscale));
  }
  // Two accumulators over alternate rows for one block of 16 (or, for a tail of up to 8, 8:
  // on Zen 4 a zmm op costs two ymm ops however many lanes its mask keeps).
  auto block = [&](const float* p, auto load, auto add) {
    auto a0 = load(nullptr), a1 = a0;
    size_t r = 0;
    for (; r + 2 <= rows; r += 2, p += 2 * in_stride) {
      a0 = add(a0, load(p));
      a1 = add(a1, load(p + in_stride));
    }
    if (r < rows) a0 = add(a0, load(p));
    return add(a0, a1);
  };
  auto add16 = [](__m512 a, __m512 b) { return _mm512_add_ps(a, b); };
  for (; c + 16 <= channels; c += 16) {
    auto load = [](const float* p) { return p ? _mm512_loadu_ps(p) : _mm512_setzero_ps(); };
    _mm512_storeu_ps(out + c, _mm512_mul_ps(block(in + c, load, add16), vscale));
  }
  if (c + 8 < channels) {
    const __mmask16 mask = avx512::tail_mask(channels - c);
    auto load = [&](const float* p) { return p ? _mm512_maskz_loadu_ps(mask, p) : _mm512_setzero_ps(); };
    _mm512_mask_storeu_ps(out + c, mask, _mm512_mul_ps(block(in + c, load, add16), vscale));
  } else if (c < channels) {
    const __mmask8 mask = static_cast<__mmask8>((1u << (channels - c)) - 1);
    auto load = [&](const float* p) { return p ? _mm256_maskz_loadu_ps(mask, p) : _mm256_setzero_ps(); };
    auto add8 = [](__m256 a, __m256 b) { return _mm256_add_ps(a, b); };
    _mm256_mask_storeu_ps(out + c, mask,
                          _mm256_mul_ps(block(in + c, load, add8), _mm512_castps512_ps256(vscale)));
  }
}

}  // namespace ce::native
