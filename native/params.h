#pragma once

namespace ce::native {

// Output clamp applied in every kernel epilogue (ReLU = [0, inf), ReLU6 = [0, 6]).
struct ClampParams {
  float min;
  float max;
};

}  // namespace ce::native
