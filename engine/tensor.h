// Activation tensors inside the engine are channels-innermost: [N][D][H][W][C].
// 1D and 2D tensors use D = H = 1 (and D = 1). `pixel_stride` is the distance in floats between
// consecutive pixels; it exceeds `c` when the tensor is a channel slice of a wider buffer
// (zero-copy concat).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ce {

struct TensorView {
  float* data = nullptr;
  int64_t n = 1, d = 1, h = 1, w = 1, c = 1;
  int64_t pixel_stride = 0;  // 0 means c

  int64_t ps() const { return pixel_stride ? pixel_stride : c; }
  int64_t pixels() const { return d * h * w; }
  int64_t image_stride() const { return pixels() * ps(); }
  float* pixel(int64_t b, int64_t z, int64_t y, int64_t x) const {
    return data + (((b * d + z) * h + y) * w + x) * ps();
  }
};

// Whether two views' memory ranges overlap (a residual given as the output itself).
inline bool views_overlap(const TensorView& a, const TensorView& b) {
  return a.data < b.data + b.n * b.image_stride() && b.data < a.data + a.n * a.image_stride();
}

}  // namespace ce
