#pragma once

namespace ce::native {

// Output clamp applied in every kernel epilogue (ReLU = [0, inf), ReLU6 = [0, 6]).
struct ClampParams {
  float min;
  float max;
};

// Output epilogue of a conv tile: y = clamp(f(y + r)) with f picked by `kind` (engine ActKind
// values: 0 none, 1 hardswish, 2 hardsigmoid max(0, min(1, alpha x + beta)), 3 sigmoid, 4 silu,
// 5 tanh, 6 leaky relu (x < 0 ? alpha x : x), 7 gelu, 8 gelu (tanh form), 9 mish, 10 softplus,
// 11 elu (alpha), 12 selu (alpha, beta = gamma), 13 celu (alpha), 14 softsign, 15 thresholded
// relu (alpha)); r may be null (no residual).
struct EpilogueParams {
  int kind;
  float alpha;
  float beta;
  float min;
  float max;
};

}  // namespace ce::native
