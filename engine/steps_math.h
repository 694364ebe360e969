// Plan steps of the element-wise math ops (ONNX semantics, float32 tensors of any strides):
// Add / Sub / Mul / Div, the activations, unary functions, PRelu and Pow, the variadic
// Min / Max / Sum / Mean, Softmax and LogSoftmax. Inputs are viewed with the output's shape
// (broadcast axes have stride 0); the iteration is strided.h's (the output's memory order,
// contiguous axes merged), split into tasks of whole rows or of row pieces so that one long
// contiguous row also uses every thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/epilogue.h"
#include "engine/plan.h"

namespace ce {

// y = a op b; a and b are viewed with y's shape (broadcast axes have stride 0).
enum class BinaryKind { kAdd, kSub, kMul, kDiv };
std::unique_ptr<Step> make_binary_step(BinaryKind kind, const TRef& a, const TRef& b,
                                       const TRef& out);

// y = act(x): an activation as the conv epilogue computes it (engine/epilogue.h).
std::unique_ptr<Step> make_unary_step(const Activation& act, const TRef& x, const TRef& out);

// y = f(x). kind: erf, gelu, gelu_tanh, mish, softplus, softsign, exp, log, sqrt, abs, neg,
// reciprocal, sin, cos, elu (alpha), celu (alpha), selu (alpha, gamma = beta),
// thresholded_relu (alpha), pow (constant exponent alpha; 0, +-0.5, +-1, 2, 3 have fast paths).
std::unique_ptr<Step> make_math_unary_step(const std::string& kind, float alpha, float beta,
                                           const TRef& x, const TRef& y);

// y = f(a, b): kind prelu (a < 0 ? a * b : a, b the slope) or pow (a ^ b, C pow).
std::unique_ptr<Step> make_math_binary_step(const std::string& kind, const TRef& a,
                                            const TRef& b, const TRef& y);

// y = min / max / sum / mean of the inputs (1 or more); Min and Max give NaN where any input
// is NaN. kind: min, max, sum, mean.
std::unique_ptr<Step> make_variadic_step(const std::string& kind, const std::vector<TRef>& ins,
                                         const TRef& y);

// y = exp(x - max) / sum(exp(x - max)) along `axis` (the sum in double per slice).
std::unique_ptr<Step> make_softmax_step(int axis, const TRef& x, const TRef& out);

// y = x - max - log(sum(exp(x - max))) along `axis`, in double per slice.
std::unique_ptr<Step> make_log_softmax_step(int axis, const TRef& x, const TRef& y);

}  // namespace ce
