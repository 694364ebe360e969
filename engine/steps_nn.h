// Plan steps of the normalisation and reduction ops (engine/build_nn.cpp builds them). Axis
// sets are bit masks over the input's axes (bit a: axis a is reduced / normalised).
#pragma once
#include <cstdint>
#include <memory>

#include "engine/plan.h"

namespace ce {

enum class ReduceKind {
  kSum, kMean, kMax, kMin, kL1, kL2, kProd, kSumSquare, kLogSum, kLogSumExp, kArgMax, kArgMin
};

// out has x's rank with the reduced axes of size 1 (a keepdims view; keepdims=0 is a view of it
// the planner makes), any strides. ArgMax / ArgMin reduce one axis and write the index as a
// float (exact below 2^24); select_last picks the last of equal extremes.
std::unique_ptr<Step> make_reduce_step(ReduceKind kind, uint32_t mask, bool select_last,
                                       const TRef& x, const TRef& out);

// Normalisation over the axes in mask for every position of the others:
//   kLayer: y = (x - mean) / sqrt(var + eps) * g + b   (LayerNormalization, generic layouts)
//   kMvn:   y = (x - mean) / (sqrt(var) + eps)          (MeanVarianceNormalization)
//   kLp1, kLp2: y = x / ||x||_p, 0 where the norm is 0  (LpNormalization)
// g and b (null: 1 and 0) are viewed with x's shape (stride 0 on broadcast axes); mean / rstd
// (optional, kLayer) receive the statistics, keepdims-shaped. Statistics: two passes per block
// that fits in cache, blocks merged pairwise (Chan et al.), never E[x^2] - E[x]^2.
enum class NormKind { kLayer, kMvn, kLp1, kLp2 };
std::unique_ptr<Step> make_norm_step(NormKind kind, uint32_t mask, float eps, const TRef& x,
                                     const TRef& y, const TRef* g, const TRef* b,
                                     const TRef* mean, const TRef* rstd);

// GroupNormalization / InstanceNormalization (groups == C) on channels-last (N, C, *spatial)
// tensors: per-channel moments over the pixels (vectorised over channels), merged per
// (image, group), then y = (x - mean) * rstd * gamma[c] + beta[c]; gamma, beta shaped (C,).
std::unique_ptr<Step> make_group_norm_step(int64_t groups, float eps, const TRef& x, const TRef& y,
                                           const TRef& gamma, const TRef& beta);

// LRN across the channels of each pixel of a channels-last tensor.
std::unique_ptr<Step> make_lrn_step(int64_t size, float alpha, float beta, float bias,
                                    const TRef& x, const TRef& y);

}  // namespace ce
