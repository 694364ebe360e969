// What a conv applies to its output after the arithmetic: y = clamp(f(acc + bias + residual)).
// When f is the identity and there is no residual, the clamp runs inside the microkernel
// (kernel_params); otherwise the kernel writes acc + bias unclamped and the driver calls
// apply() on each output tile right after writing it, while the tile is still in L1.
#pragma once
#include <cstddef>
#include <limits>
#include <string>

#include "engine/cpu.h"
#include "native/elementwise/elementwise.h"
#include "native/params.h"

namespace ce {

enum class ActKind : int {
  kNone = 0,
  kHardswish = 1,    // x * min(max(x + 3, 0), 6) / 6
  kHardsigmoid = 2,  // max(0, min(1, alpha * x + beta)) (ONNX defaults alpha 0.2, beta 0.5)
  kSigmoid = 3,
  kSilu = 4,         // x * sigmoid(x)
  kTanh = 5,
  kLeakyRelu = 6,    // x < 0 ? alpha * x : x
  kGelu = 7,         // x * Phi(x) (erf form)
  kGeluTanh = 8,     // x / 2 * (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
  kMish = 9,         // x * tanh(softplus(x))
  kSoftplus = 10,    // log(1 + exp(x))
  kElu = 11,         // x > 0 ? x : alpha * (exp(x) - 1)
  kSelu = 12,        // beta * (x > 0 ? x : alpha * (exp(x) - 1))  (beta: ONNX's gamma)
  kCelu = 13,        // x > 0 ? x : alpha * (exp(x / alpha) - 1)
  kSoftsign = 14,    // x / (1 + |x|)
  kThresholdedRelu = 15,  // x > alpha ? x : 0
};
constexpr int kNumActKinds = 16;

// "none", "hardswish", "hardsigmoid", "sigmoid", "silu", "tanh", "leaky_relu", "gelu",
// "gelu_tanh", "mish", "softplus", "elu", "selu", "celu", "softsign", "thresholded_relu".
ActKind parse_act_kind(const std::string& name);
const char* act_kind_name(ActKind kind);

struct Activation {
  float min = -std::numeric_limits<float>::infinity();  // final clamp (Relu: [0, inf))
  float max = std::numeric_limits<float>::infinity();
  ActKind kind = ActKind::kNone;
  float alpha = 0.0f, beta = 0.0f;
  native::ClampParams clamp() const { return {min, max}; }
};

class Epilogue {
 public:
  Epilogue() : Epilogue(Activation{}) {}
  explicit Epilogue(const Activation& act, Isa isa = active_isa());
  const Activation& activation() const { return act_; }
  // The clamp a microkernel applies: the activation's when no pass follows, else none.
  const native::ClampParams* kernel_params(bool has_residual) const {
    return needs_pass(has_residual) ? &no_clamp_ : &clamp_;
  }
  bool needs_pass(bool has_residual) const { return has_residual || act_.kind != ActKind::kNone; }
  // rows x cols tile at y (row stride y_stride floats); r (row stride r_stride) may be null.
  void apply(float* y, size_t rows, size_t cols, size_t y_stride, const float* r,
             size_t r_stride) const {
    fn_(rows, cols, y, y_stride, r, r_stride, &params_);
  }

 private:
  Activation act_;
  native::ClampParams clamp_, no_clamp_;
  native::EpilogueParams params_;
  native::VEpilogueFn fn_;
};

}  // namespace ce
