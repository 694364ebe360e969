// Locally connected 2D convolution (unshared weights: a different filter at every output
// position, as in DeepFace).
//
// The op is bound by streaming its weights (c_out * c_in * kh * kw per position, one
// multiply-add each per image), so the design minimises weight traffic:
//  - weights stay in the public layout: per position a row-major (c_out) x (c_in * kh * kw)
//    matrix, which the kernel reads as one sequential stream, vectorising over the reduction.
//    No repack: measured on the 64->64 3x3 56x56 layer (441 MiB of weights, 1 thread), a
//    per-position repack into c_out-wide panels (a kernel vectorised over c_out) took 475 ms
//    for a 28 ms forward, and the functional API builds the op, so pays the repack, on every
//    call. Both forwards are bound by streaming the weights (a bare AVX2 read of them took
//    28-30 ms in the same runs; this layout's forward 33-37 ms on the shared machine);
//  - per position the input patch of every image is gathered (zeros for padding taps) and the
//    kernel runs every image against one weight row while it sits in L1, so each position's
//    weights are read from memory once per call whatever the batch size.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/conv.h"
#include "engine/shared_weights.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"

namespace ce {

struct LocalConvShape : Window2d {
  int64_t c_in = 0, c_out = 0;
  int64_t positions() const { return out[0] * out[1]; }
  // Checks every field and fills `out`; throws std::invalid_argument.
  void infer_output();
  std::string describe() const;
};

class LocalConvOp {
 public:
  // weight (out_h, out_w, c_out, c_in, kh, kw); bias (c_out, out_h, out_w) or null.
  // copy_weights = false borrows `weight`, which must then outlive the op (the functional API
  // builds an op per call and so never copies the largest array of the call).
  LocalConvOp(const LocalConvShape& s, const float* weight, const float* bias,
              const Activation& act, bool copy_weights = true);
  // in (n, in_h, in_w, c_in) and out (n, out_h, out_w, c_out), channels-innermost.
  void forward(const TensorView& in, const TensorView& out, ThreadPool& pool) const;
  const LocalConvShape& shape() const { return shape_; }

 private:
  LocalConvShape shape_;
  native::ClampParams clamp_;
  PackedWeights owned_;       // the weights when copied
  const float* weight_;       // (positions, c_out, c_in * kh * kw)
  std::vector<float> bias_;   // (positions, c_out): contiguous per position
};

}  // namespace ce
