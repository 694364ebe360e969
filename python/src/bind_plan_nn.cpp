// Plan steps of the normalisation and reductions ops (methods of _native.Plan).
#include "engine/steps_nn.h"
#include "plan_binding.h"

#include <map>

namespace ce::bind {

namespace {

uint32_t axis_mask(const Vec& axes, int rank, const std::string& name) {
  uint32_t m = 0;
  for (int64_t a : axes) {
    if (a < 0 || a >= rank) throw py::value_error(name + ": axis out of range");
    m |= 1u << a;
  }
  return m;
}

ReduceKind reduce_kind(const std::string& op, const std::string& name) {
  static const std::map<std::string, ReduceKind> kinds = {
      {"ReduceSum", ReduceKind::kSum},         {"ReduceMean", ReduceKind::kMean},
      {"ReduceMax", ReduceKind::kMax},         {"ReduceMin", ReduceKind::kMin},
      {"ReduceL1", ReduceKind::kL1},           {"ReduceL2", ReduceKind::kL2},
      {"ReduceProd", ReduceKind::kProd},       {"ReduceSumSquare", ReduceKind::kSumSquare},
      {"ReduceLogSum", ReduceKind::kLogSum},   {"ReduceLogSumExp", ReduceKind::kLogSumExp},
      {"ArgMax", ReduceKind::kArgMax},         {"ArgMin", ReduceKind::kArgMin}};
  auto it = kinds.find(op);
  if (it == kinds.end()) throw py::value_error(name + ": unknown reduction " + op);
  return it->second;
}

NormKind norm_kind(const std::string& kind, const std::string& name) {
  if (kind == "layer") return NormKind::kLayer;
  if (kind == "mvn") return NormKind::kMvn;
  if (kind == "lp1") return NormKind::kLp1;
  if (kind == "lp2") return NormKind::kLp2;
  throw py::value_error(name + ": unknown normalisation " + kind);
}

template <class F>
auto checked(const std::string& name, F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(name + ": " + e.what());
  }
}

}  // namespace

void bind_plan_nn(PlanClass& cls) {
  // op: the ONNX op (ReduceSum ... ArgMin); y: x's rank, reduced axes of size 1.
  cls.def("add_reduce", [](PyPlan& p, const std::string& name, const std::string& op,
                           const PyRef& x, const PyRef& y, const Vec& axes, bool select_last) {
    const TRef in = tref(x), out = tref(y);
    const uint32_t m = axis_mask(axes, in.rank, name);
    return p.push(checked(name, [&] { return make_reduce_step(reduce_kind(op, name), m, select_last, in, out); }),
                  name, op);
  });
  // kind: layer, mvn, lp1, lp2; g, b viewed with x's shape; mean, rstd keepdims-shaped.
  cls.def("add_norm", [](PyPlan& p, const std::string& name, const std::string& op,
                         const std::string& kind, const PyRef& x, const PyRef& y, const Vec& axes,
                         double eps, std::optional<PyRef> g, std::optional<PyRef> b,
                         std::optional<PyRef> mean, std::optional<PyRef> rstd) {
    const TRef in = tref(x), out = tref(y);
    const uint32_t m = axis_mask(axes, in.rank, name);
    TRef tg, tb, tm, tr;
    if (g) tg = tref(*g);
    if (b) tb = tref(*b);
    if (mean) tm = tref(*mean);
    if (rstd) tr = tref(*rstd);
    return p.push(checked(name, [&] {
                    return make_norm_step(norm_kind(kind, name), m, static_cast<float>(eps), in, out,
                                          g ? &tg : nullptr, b ? &tb : nullptr,
                                          mean ? &tm : nullptr, rstd ? &tr : nullptr);
                  }),
                  name, op);
  });
  cls.def("add_group_norm", [](PyPlan& p, const std::string& name, const std::string& op,
                               const PyRef& x, const PyRef& y, int64_t groups, double eps,
                               const PyRef& gamma, const PyRef& beta) {
    const TRef in = tref(x), out = tref(y), g = tref(gamma), b = tref(beta);
    return p.push(checked(name, [&] {
                    return make_group_norm_step(groups, static_cast<float>(eps), in, out, g, b);
                  }),
                  name, op);
  });
  cls.def("add_lrn", [](PyPlan& p, const std::string& name, const PyRef& x, const PyRef& y,
                        int64_t size, double alpha, double beta, double bias) {
    const TRef in = tref(x), out = tref(y);
    return p.push(checked(name, [&] {
                    return make_lrn_step(size, static_cast<float>(alpha), static_cast<float>(beta),
                                         static_cast<float>(bias), in, out);
                  }),
                  name, "LRN");
  });
}

}  // namespace ce::bind
