// MatMul of two run-time tensors as a plan step: out[..., m, n] = sum_k a[..., m, k] b[..., k, n].
// When rows of a and out are contiguous, the dispatched GEMM microkernels run it, each task
// packing its block of b (any strides: attention's K^T is a view) into their panels; other
// strides take a loop with double accumulators. Parallel over (batch, column chunk, row chunk).
#pragma once
#include <memory>

#include "engine/plan.h"

namespace ce {

// a and b are viewed with out's batch shape (stride 0 on broadcast batch axes).
std::unique_ptr<Step> make_matmul_step(const TRef& a, const TRef& b, const TRef& out);

}  // namespace ce
