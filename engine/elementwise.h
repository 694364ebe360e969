// Element-wise operators on channels-innermost tensors: activations, batch norm (inference, as a
// per-channel scale + shift) and channel shuffle (a strided copy). Each is an object built once
// with its parameters and kernels fixed (the ISA is picked at construction, as for ConvOp);
// forward is const and may run concurrently. Views may be channel slices of wider buffers
// (pixel_stride > c). Shape mismatches throw std::invalid_argument.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/conv.h"
#include "engine/dispatch.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"

namespace ce {

enum class UnaryKind {
  kRelu,         // max(x, 0)
  kRelu6,        // min(max(x, 0), 6)
  kClamp,        // min(max(x, lo), hi)
  kHardswish,    // x * relu6(x + 3) / 6
  kHardsigmoid,  // relu6(x + 3) / 6
  kSigmoid,      // 1 / (1 + exp(-x)), max relative error 2.7e-7 (see f32-vsigmoid-avx2.cpp)
  kSilu,         // x * sigmoid(x)
};

// "relu", "relu6", "clamp", "hardswish", "hardsigmoid", "sigmoid", "silu".
UnaryKind parse_unary_kind(const std::string& name);
const char* unary_kind_name(UnaryKind kind);

class UnaryOp {
 public:
  // lo / hi are used by kClamp only.
  explicit UnaryOp(UnaryKind kind, float lo = -std::numeric_limits<float>::infinity(),
                   float hi = std::numeric_limits<float>::infinity());
  // out must have the shape of in; out.data == in.data (same strides) computes in place.
  void forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const;
  // The same on a dense array of n floats (any layout: the op is element-wise); y may equal x.
  void forward_flat(const float* x, float* y, size_t n, ThreadPool& pool) const;
  UnaryKind kind() const { return kind_; }

 private:
  UnaryKind kind_;
  native::VUnaryFn fn_;
  native::ClampParams params_;
};

// y = (x - mean) / sqrt(var + eps) * weight + bias per channel, folded at construction into
// y = x * scale + shift (in double, rounded once: scale = weight / sqrt(var + eps),
// shift = bias - mean * scale), then clamped to `act` (a fused ReLU/ReLU6; default none).
// weight / bias may be null (1 / 0). in-place allowed.
class BatchNormOp {
 public:
  BatchNormOp(int64_t channels, const float* mean, const float* var, const float* weight,
              const float* bias, double eps, const Activation& act = {});
  void forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const;
  // The same on channels-first data (n, channels, pixels) contiguous, for callers holding NCHW
  // arrays (each plane is one scale + shift; no layout change). in == out allowed.
  void forward_nchw(const float* in, float* out, int64_t n, int64_t pixels, ThreadPool& pool) const;
  int64_t channels() const { return static_cast<int64_t>(scale_.size()); }
  const std::vector<float>& scale() const { return scale_; }
  const std::vector<float>& shift() const { return shift_; }

 private:
  std::vector<float> scale_, shift_;
  native::VScaleShiftFn fn_;
  native::VScaleShiftCwFn fn_cw_;
  native::ClampParams params_;
};

// torch.nn.functional.channel_shuffle: channels viewed as (groups, channels / groups),
// transposed, flattened: out channel i * groups + g = in channel g * (channels / groups) + i.
// Not in place (out must not overlap in).
class ChannelShuffleOp {
 public:
  ChannelShuffleOp(int64_t channels, int64_t groups);
  void forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const;
  // The same permutation on channels-first data (n, channels, pixels): whole planes move, one
  // contiguous copy each (for callers holding NCHW arrays).
  void forward_nchw(const float* in, float* out, int64_t n, int64_t pixels, ThreadPool& pool) const;

 private:
  int64_t channels_, groups_;
  native::ZipFn fn_;
};

// Shared by the element-wise, pooling and resize drivers: throws std::invalid_argument unless
// the view has these sizes (n is free) and a valid pixel stride.
void check_view(const char* op, const char* which, const TensorView& v, int64_t c, int64_t h = -1,
                int64_t w = -1);

}  // namespace ce
