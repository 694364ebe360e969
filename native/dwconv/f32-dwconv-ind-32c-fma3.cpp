// Depthwise through an indirection buffer: any kernel, stride, dilation, padding and
// multiplier; used for the border pixels whose taps leave the image. One output pixel at a
// time, 32 channels (4 independent accumulators) per pass, then 8-channel strips with a masked
// tail.
#include "native/dwconv/dwconv-fma3.h"

namespace ce::native {

void f32_dwconv_ind_32c__fma3(size_t channels, size_t pixels, const float* const* taps, size_t ks,
                              const float* w, float* out, size_t out_step,
                              const DwParams* params) {
  const __m256 vmin = _mm256_set1_ps(params->min);
  const __m256 vmax = _mm256_set1_ps(params->max);
  const size_t wstride = kDwTile * (1 + ks);
  for (size_t x = 0; x < pixels; ++x, taps += ks, out += out_step) {
    size_t c = 0;
    if (params->mult == nullptr) {
      for (; c + 32 <= channels; c += 32) {
        const float* wa = dw::tile_weights(w, c, ks);
        const float* wb = wa + wstride;
        __m256 acc0 = _mm256_loadu_ps(wa), acc1 = _mm256_loadu_ps(wa + 8);
        __m256 acc2 = _mm256_loadu_ps(wb), acc3 = _mm256_loadu_ps(wb + 8);
        for (size_t t = 0; t < ks; ++t) {
          const float* p = taps[t] + c;
          wa += kDwTile;
          wb += kDwTile;
          acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(wa), acc0);
          acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 8), _mm256_loadu_ps(wa + 8), acc1);
          acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 16), _mm256_loadu_ps(wb), acc2);
          acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 24), _mm256_loadu_ps(wb + 8), acc3);
        }
        _mm256_storeu_ps(out + c, dw::clamp(acc0, vmin, vmax));
        _mm256_storeu_ps(out + c + 8, dw::clamp(acc1, vmin, vmax));
        _mm256_storeu_ps(out + c + 16, dw::clamp(acc2, vmin, vmax));
        _mm256_storeu_ps(out + c + 24, dw::clamp(acc3, vmin, vmax));
      }
      for (; c < channels; c += 8) {
        const size_t nc = channels - c < 8 ? channels - c : 8;
        const __m256i m = dw::lane_mask(nc);
        const float* wt = dw::tile_weights(w, c, ks);
        __m256 acc = _mm256_loadu_ps(wt);
        for (size_t t = 0; t < ks; ++t) {
          wt += kDwTile;
          acc = _mm256_fmadd_ps(_mm256_maskload_ps(taps[t] + c, m), _mm256_loadu_ps(wt), acc);
        }
        acc = dw::clamp(acc, vmin, vmax);
        if (nc == 8) _mm256_storeu_ps(out + c, acc);
        else dw::store_partial(out + c, acc, nc);
      }
    } else {
      for (; c < channels; c += 8) {
        const size_t nc = channels - c < 8 ? channels - c : 8;
        const int32_t* e = params->mult + (c / 8) * kDwMultEntry;
        const __m256i perm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e));
        const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + 8));
        const size_t base = static_cast<size_t>(e[16]);
        const float* wt = dw::tile_weights(w, c, ks);
        __m256 acc = _mm256_loadu_ps(wt);
        for (size_t t = 0; t < ks; ++t) {
          wt += kDwTile;
          const __m256 v = _mm256_permutevar8x32_ps(_mm256_maskload_ps(taps[t] + base, m), perm);
          acc = _mm256_fmadd_ps(v, _mm256_loadu_ps(wt), acc);
        }
        acc = dw::clamp(acc, vmin, vmax);
        if (nc == 8) _mm256_storeu_ps(out + c, acc);
        else dw::store_partial(out + c, acc, nc);
      }
    }
  }
}

}  // namespace ce::native
