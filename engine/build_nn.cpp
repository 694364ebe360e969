// Builders of the normalisation and reduction steps (engine/steps_nn.h).
#include <map>

#include "engine/plan_builder.h"
#include "engine/steps_nn.h"

namespace ce {

namespace {

uint32_t axis_mask(const StepArgs& a, const std::vector<int64_t>& axes, int rank) {
  uint32_t m = 0;
  for (int64_t ax : axes) {
    if (ax < 0 || ax >= rank) a.fail("axis out of range");
    m |= 1u << ax;
  }
  return m;
}

ReduceKind reduce_kind(const StepArgs& a, const std::string& op) {
  static const std::map<std::string, ReduceKind> kinds = {
      {"ReduceSum", ReduceKind::kSum},         {"ReduceMean", ReduceKind::kMean},
      {"ReduceMax", ReduceKind::kMax},         {"ReduceMin", ReduceKind::kMin},
      {"ReduceL1", ReduceKind::kL1},           {"ReduceL2", ReduceKind::kL2},
      {"ReduceProd", ReduceKind::kProd},       {"ReduceSumSquare", ReduceKind::kSumSquare},
      {"ReduceLogSum", ReduceKind::kLogSum},   {"ReduceLogSumExp", ReduceKind::kLogSumExp},
      {"ArgMax", ReduceKind::kArgMax},         {"ArgMin", ReduceKind::kArgMin}};
  const auto it = kinds.find(op);
  if (it == kinds.end()) a.fail("unknown reduction " + op);
  return it->second;
}

NormKind norm_kind(const StepArgs& a, const std::string& kind) {
  if (kind == "layer") return NormKind::kLayer;
  if (kind == "mvn") return NormKind::kMvn;
  if (kind == "lp1") return NormKind::kLp1;
  if (kind == "lp2") return NormKind::kLp2;
  a.fail("unknown normalisation " + kind);
}

// op (ReduceSum ... ArgMin), x, y, axes, select_last_index; y: x's rank, reduced axes of size 1
std::unique_ptr<Step> build_reduce(const StepArgs& a) {
  const TRef &in = a.ref(1), &out = a.ref(2);
  const std::string& op = a.s(0);
  auto step = make_reduce_step(reduce_kind(a, op), axis_mask(a, a.ints(3), in.rank), a.b(4), in, out);
  step->op = op;
  return step;
}

// op, kind (layer, mvn, lp1, lp2), x, y, axes, epsilon, scale?, bias?, mean?, inv_std_dev?;
// scale and bias viewed with x's shape, mean and inv_std_dev keepdims-shaped
std::unique_ptr<Step> build_norm(const StepArgs& a) {
  const TRef &in = a.ref(2), &out = a.ref(3);
  auto step = make_norm_step(norm_kind(a, a.s(1)), axis_mask(a, a.ints(4), in.rank), a.f(5), in, out,
                             a.opt_ref(6), a.opt_ref(7), a.opt_ref(8), a.opt_ref(9));
  step->op = a.s(0);
  return step;
}

// op, x, y, groups, epsilon, scale, bias
std::unique_ptr<Step> build_group_norm(const StepArgs& a) {
  auto step = make_group_norm_step(a.i(3), a.f(4), a.ref(1), a.ref(2), a.ref(5), a.ref(6));
  step->op = a.s(0);
  return step;
}

// x, y, size, alpha, beta, bias
std::unique_ptr<Step> build_lrn(const StepArgs& a) {
  auto step = make_lrn_step(a.i(2), a.f(3), a.f(4), a.f(5), a.ref(0), a.ref(1));
  step->op = "LRN";
  return step;
}

}  // namespace

void add_nn_builders(BuilderTable& t) {
  t["add_reduce"] = {5, build_reduce};
  t["add_norm"] = {10, build_norm};
  t["add_group_norm"] = {7, build_group_norm};
  t["add_lrn"] = {6, build_lrn};
}

}  // namespace ce
