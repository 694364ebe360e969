// 2D resize (torch.nn.functional.interpolate on 4D input) on channels-innermost tensors:
// 'nearest', 'nearest-exact' and 'bilinear' (align_corners true or false), with torch's
// coordinate rules reproduced bit for bit, float32 index arithmetic included:
//
//   scale  = align_corners ? (in - 1) / (out - 1)  (0 if out == 1)
//          : scale_factor given ? (float)(1.0 / scale_factor) : (float)in / out
//   nearest:        src = min(floorf(dst * scale), in - 1); but src = dst when out == in and
//                   src = dst >> 1 when out == 2 * in (torch's nearest_idx special cases)
//   nearest-exact:  src = min(floorf((dst + 0.5) * scale), in - 1)
//   bilinear:       x = align_corners ? scale * dst : max(scale * (dst + 0.5) - 0.5, 0);
//                   i0 = min(floor(x), in - 1), i1 = min(i0 + 1, in - 1),
//                   l1 = clamp(x - i0, 0, 1), l0 = 1 - l1; out == in copies.
//
// The per-axis source indices and weights are computed once at construction (batch free).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"

namespace ce {

// kCubic: ONNX Resize mode 'cubic' (torch 'bicubic'), 4 taps per axis from the planner's tables.
enum class ResizeMode { kNearest, kNearestExact, kBilinear, kCubic };

// "nearest", "nearest-exact", "bilinear".
ResizeMode parse_resize_mode(const std::string& name);

struct ResizeShape {
  ResizeMode mode = ResizeMode::kNearest;
  bool align_corners = false;  // bilinear only
  int64_t channels = 0;
  int64_t in[2] = {1, 1};
  int64_t out[2] = {1, 1};
  // torch's scale_factor per axis as given by the user (used as 1 / scale for the source
  // coordinate); 0 when the output size was given or recompute_scale_factor=True.
  double scale_factor[2] = {0.0, 0.0};
};

class Resize2dOp {
 public:
  explicit Resize2dOp(const ResizeShape& s);
  struct Axis;
  // Explicit per-axis tables (ONNX Resize: the planner computes them for its coordinate
  // transformation and rounding modes); s.mode picks nearest (i0 only), bilinear or cubic
  // (ti / tw only).
  Resize2dOp(const ResizeShape& s, Axis h, Axis w);
  // in: (n, 1, in_h, in_w, channels); out: (n, 1, out_h, out_w, channels).
  void forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const;
  const ResizeShape& shape() const { return s_; }

  // Per-axis tables (exposed for tests): source index 0/1 and weights 0/1 for every output index.
  struct Axis {
    std::vector<int64_t> i0, i1;
    std::vector<float> l0, l1;
    // Cubic: the kCubicTaps source indices and weights of output o at kCubicTaps * o + k.
    std::vector<int64_t> ti;
    std::vector<float> tw;
  };
  static constexpr int64_t kCubicTaps = 4;
  const Axis& axis(int a) const { return axes_[a]; }

 private:
  ResizeShape s_;
  Axis axes_[2];
  native::IBilinearFn bilinear_;
};

}  // namespace ce
