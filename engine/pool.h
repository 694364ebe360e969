// 2D pooling on channels-innermost tensors: max / average pooling with torch's rules (ceil_mode,
// count_include_pad, divisor_override, dilation for max) and adaptive average pooling (1x1 is
// the global average pool, with its own kernel). Objects are built once for a fixed input size
// (batch free); forward is const and may run concurrently. The valid part of every window is
// a (dilated) rectangle, so kernels take the window as a pointer and two strides: no
// indirection buffer, no padded copy.
#pragma once
#include <cstdint>
#include <string>

#include "engine/conv.h"
#include "engine/dispatch.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"

namespace ce {

enum class PoolKind { kMax, kAverage };

// Sizes are (h, w). Padding may be asymmetric (ONNX pads); torch's symmetric padding has
// pad_begin == pad_end.
struct PoolShape {
  PoolKind kind = PoolKind::kMax;
  int64_t channels = 0;
  int64_t in[2] = {1, 1};
  int64_t kernel[2] = {1, 1};
  int64_t stride[2] = {1, 1};
  int64_t pad_begin[2] = {0, 0};
  int64_t pad_end[2] = {0, 0};
  int64_t dilation[2] = {1, 1};  // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  // average only
  int64_t divisor_override = 0;   // average only; 0 means none
  int64_t out[2] = {1, 1};

  // torch's pooling_output_shape_pad_lr: floor (or ceil) of (in + pads - span) / stride + 1, and
  // in ceil mode a last window that would start inside the end padding is dropped. Checks the
  // parameters (kernel, stride, dilation >= 1, pads >= 0 and at most half the effective kernel
  // as torch requires, dilation 1 for average) and the result (>= 1); throws
  // std::invalid_argument naming the problem.
  void infer_output();
  std::string describe() const;
};

class Pool2dOp {
 public:
  explicit Pool2dOp(const PoolShape& s, const Activation& act = {});
  // in: (n, 1, in_h, in_w, channels); out: (n, 1, out_h, out_w, channels).
  void forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const;
  const PoolShape& shape() const { return s_; }

 private:
  PoolShape s_;
  PoolKernels k_;
  native::ClampParams clamp_;
};

// torch.nn.functional.adaptive_avg_pool2d: output cell (i, j) averages input rows
// [floor(i * H / oh), ceil((i + 1) * H / oh)) and likewise columns. Output 1x1 runs the global
// average kernel, parallel over channel blocks and, when that is too few items, row blocks
// whose partial sums are added in a fixed order (the same result for any thread count).
class AdaptiveAvgPool2dOp {
 public:
  AdaptiveAvgPool2dOp(int64_t channels, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w);
  void forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const;
  bool is_global() const { return out_[0] == 1 && out_[1] == 1; }
  // The global case (1x1 output only) on channels-first data, for callers that hold NCHW
  // arrays (the functional API, a graph input): in is (n, channels, in_h, in_w) contiguous,
  // out (n, channels). Each plane is one contiguous reduction, so no layout change is needed.
  void forward_nchw(const float* in, float* out, int64_t n, ThreadPool& pool) const;

 private:
  void forward_global(const TensorView& in, const TensorView& out, ThreadPool& pool) const;
  int64_t channels_, in_[2], out_[2];
  PoolKernels k_;
};

// The mean over the pixels of each channel of a channels-innermost view: image b's means go to
// out + b * out_image_stride, contiguous. Parallel over 64-channel blocks, and over row blocks
// (partial sums added in a fixed order) when there are too few channel blocks or when
// min_chunks asks for at least that many (a step whose threads each read back the rows they
// wrote before: thread t takes a contiguous share of the row blocks).
void global_average(const TensorView& in, float* out, int64_t out_image_stride, ThreadPool& pool,
                    const PoolKernels& kernels = pool_kernels(), size_t min_chunks = 1);

}  // namespace ce
