// The steps a plan is made of. Conv-family steps wrap the engine's operators (weights packed at
// construction) and need channels-last tensors; the generic steps work on any strides.
#pragma once
#include <memory>
#include <vector>

#include "engine/conv.h"
#include "engine/deform.h"
#include "engine/elementwise.h"
#include "engine/local_conv.h"
#include "engine/plan.h"
#include "engine/pool.h"
#include "engine/resize.h"

namespace ce {

std::unique_ptr<Step> make_conv_step(std::unique_ptr<ConvOp> op, const TRef& in, const TRef& out,
                                     const TRef* residual);
std::unique_ptr<Step> make_deform_step(std::unique_ptr<DeformConvOp> op, const TRef& in,
                                       const TRef& offset, const TRef* mask, const TRef& out);
std::unique_ptr<Step> make_local_conv_step(std::unique_ptr<LocalConvOp> op, const TRef& in,
                                           const TRef& out);
std::unique_ptr<Step> make_pool2d_step(std::unique_ptr<Pool2dOp> op, const TRef& in, const TRef& out);
std::unique_ptr<Step> make_resize_step(std::unique_ptr<Resize2dOp> op, const TRef& in, const TRef& out);
std::unique_ptr<Step> make_shuffle_step(std::unique_ptr<ChannelShuffleOp> op, const TRef& in,
                                        const TRef& out);
std::unique_ptr<Step> make_batchnorm_step(std::unique_ptr<BatchNormOp> op, const TRef& in,
                                          const TRef& out);

// Window pooling over 1-3 spatial axes (channels-last), ONNX semantics: windows are given by
// kernel / stride / dilation / pad_begin (sizes (d, h, w), output size fixed by `out`);
// average divides by the window's taps inside the input, or with count_include_pad by those
// inside the padded input [-pad_begin, in + pad_end).
std::unique_ptr<Step> make_window_pool_step(bool max, const int64_t kernel[3], const int64_t stride[3],
                                            const int64_t dilation[3], const int64_t pad_begin[3],
                                            const int64_t pad_end[3], bool count_include_pad,
                                            const TRef& in, const TRef& out);
// Global average / max over every spatial position (channels-last in, (n, c, 1...) out).
std::unique_ptr<Step> make_global_pool_step(bool max, const TRef& in, const TRef& out);

// SqueezeExcite: out = x * gate(W2 act(W1 mean(x) + b1) + b2), w1 (mid, c), w2 (c, mid).
// out may be x itself.
std::unique_ptr<Step> make_squeeze_excite_step(int64_t c, int64_t mid, const float* w1,
                                               const float* b1, const float* w2, const float* b2,
                                               const Activation& act, const Activation& gate,
                                               const TRef& in, const TRef& out);

// Generic strided steps. `a`, `b` are viewed with out's shape (broadcast axes have stride 0).
enum class BinaryKind { kAdd, kSub, kMul, kDiv };
std::unique_ptr<Step> make_binary_step(BinaryKind kind, const TRef& a, const TRef& b, const TRef& out);
std::unique_ptr<Step> make_unary_step(const Activation& act, const TRef& x, const TRef& out);
std::unique_ptr<Step> make_copy_step(const TRef& src, const TRef& dst);
std::unique_ptr<Step> make_fill_step(float value, const TRef& dst);
std::unique_ptr<Step> make_softmax_step(int axis, const TRef& x, const TRef& out);
// out[..., m, n] = sum_k a[..., m, k] b[..., k, n]; a and b viewed with out's batch shape.
std::unique_ptr<Step> make_matmul_step(const TRef& a, const TRef& b, const TRef& out);

}  // namespace ce
