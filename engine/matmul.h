// MatMul as a plan step on any strides: out[..., m, n] = sum_k a[..., m, k] b[..., k, n] with
// double accumulators, parallel over (batch, row).
#pragma once
#include <memory>

#include "engine/plan.h"

namespace ce {

// a and b are viewed with out's batch shape (stride 0 on broadcast batch axes).
std::unique_ptr<Step> make_matmul_step(const TRef& a, const TRef& b, const TRef& out);

}  // namespace ce
