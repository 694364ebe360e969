// Deformable convolution (v1, and v2 with a modulation mask), torchvision.ops.deform_conv2d
// semantics, as a bilinear-sampling im2col followed by a GEMM with weights packed once.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/conv.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"
#include "native/gemm/igemm.h"
#include "engine/shared_weights.h"

namespace ce {

struct DeformShape : Window2d {
  int64_t c_in = 0, c_out = 0;
  int64_t groups = 1;         // weight groups: weight is (c_out, c_in / groups, kh, kw)
  int64_t offset_groups = 1;  // channels sharing one set of offsets (and mask values)
  int64_t cin_g() const { return c_in / groups; }
  int64_t cout_g() const { return c_out / groups; }
  int64_t cin_og() const { return c_in / offset_groups; }
  int64_t offset_channels() const { return 2 * offset_groups * taps(); }
  int64_t mask_channels() const { return offset_groups * taps(); }
  // Checks every field (divisibility included) and fills `out`; throws std::invalid_argument.
  void infer_output();
  std::string describe() const;
};

// Views are channels-innermost (d == 1):
//   in      (n, in_h, in_w, c_in)
//   offset  (n, out_h, out_w, 2 * offset_groups * kh * kw): per offset group, per tap
//           (row-major over the kernel), the pair (dy, dx)
//   mask    (n, out_h, out_w, offset_groups * kh * kw), or nullptr for v1 (no modulation)
//   out     (n, out_h, out_w, c_out)
class DeformConvOp {
 public:
  // weight (c_out, c_in / groups, kh, kw) as torch; bias (c_out) or null.
  DeformConvOp(const DeformShape& s, const float* weight, const float* bias, const Activation& act);
  void forward(const TensorView& in, const TensorView& offset, const TensorView* mask,
               const TensorView& out, ThreadPool& pool) const;
  const DeformShape& shape() const { return shape_; }

 private:
  DeformShape shape_;
  native::ClampParams clamp_;
  native::IGemmFn gemm_;  // the kernel the weights were packed for
  size_t mr_, nr_, kr_, nblocks_, block_;
  PackedWeights packed_;  // 64-byte aligned: weight loads never straddle cache lines
  std::vector<float> zero_;
};

}  // namespace ce
