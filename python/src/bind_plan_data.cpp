// Plan steps of the data movement and sampling ops (methods of _native.Plan).
#include <map>
#include <vector>

#include "engine/steps_data.h"
#include "plan_binding.h"

namespace ce::bind {

namespace {

template <class K>
K lookup(const std::map<std::string, K>& table, const std::string& key, const char* what) {
  const auto it = table.find(key);
  if (it == table.end()) throw py::value_error(std::string("unknown ") + what + " " + key);
  return it->second;
}

}  // namespace

void bind_plan_data(PlanClass& cls) {
  cls.def("add_data_unary", [](PyPlan& p, const std::string& name, const std::string& op,
                               const PyRef& x, const PyRef& y) {
    static const std::map<std::string, DataUnaryKind> kinds = {
        {"Floor", DataUnaryKind::kFloor}, {"Ceil", DataUnaryKind::kCeil},
        {"Round", DataUnaryKind::kRound}, {"Sign", DataUnaryKind::kSign},
        {"Not", DataUnaryKind::kNot}};
    return p.push(make_data_unary_step(lookup(kinds, op, "unary op"), tref(x), tref(y)), name, op);
  });
  cls.def("add_data_binary", [](PyPlan& p, const std::string& name, const std::string& op,
                                const PyRef& a, const PyRef& b, const PyRef& y) {
    static const std::map<std::string, DataBinaryKind> kinds = {
        {"Equal", DataBinaryKind::kEqual}, {"Less", DataBinaryKind::kLess},
        {"LessOrEqual", DataBinaryKind::kLessEqual}, {"Greater", DataBinaryKind::kGreater},
        {"GreaterOrEqual", DataBinaryKind::kGreaterEqual}, {"And", DataBinaryKind::kAnd},
        {"Or", DataBinaryKind::kOr}, {"Xor", DataBinaryKind::kXor},
        {"Fmod", DataBinaryKind::kFmod}, {"Mod", DataBinaryKind::kMod}};
    const DataBinaryKind k = lookup(kinds, op, "binary op");
    return p.push(make_data_binary_step(k, tref(a), tref(b), tref(y)), name,
                  k == DataBinaryKind::kFmod ? "Mod" : op);
  });
  cls.def("add_where", [](PyPlan& p, const std::string& name, const PyRef& c, const PyRef& x,
                          const PyRef& y, const PyRef& out) {
    return p.push(make_where_step(tref(c), tref(x), tref(y), tref(out)), name, "Where");
  });
  cls.def("add_cumsum", [](PyPlan& p, const std::string& name, const PyRef& x, const PyRef& y,
                           int axis, bool exclusive, bool reverse) {
    return p.push(make_cumsum_step(axis, exclusive, reverse, tref(x), tref(y)), name, "CumSum");
  });
  cls.def("add_index_gather", [](PyPlan& p, const std::string& name, const std::string& op,
                                 const PyRef& x, const PyRef& y,
                                 const py::array_t<int64_t, py::array::c_style | py::array::forcecast>& offsets) {
    std::vector<int64_t> off(offsets.data(), offsets.data() + offsets.size());
    return p.push(make_index_gather_step(tref(x), tref(y), std::move(off)), name, op);
  });
  cls.def("add_grid_sample", [](PyPlan& p, const std::string& name, const PyRef& x,
                                const PyRef& grid, const PyRef& y, const std::string& mode,
                                const std::string& padding, bool align_corners) {
    static const std::map<std::string, GridMode> modes = {
        {"nearest", GridMode::kNearest}, {"linear", GridMode::kLinear},
        {"cubic", GridMode::kCubic}};
    static const std::map<std::string, GridPadding> pads = {
        {"zeros", GridPadding::kZeros}, {"border", GridPadding::kBorder},
        {"reflection", GridPadding::kReflection}};
    const TRef in = tref(x), g = tref(grid), out = tref(y);
    if (in.rank < 3 || in.rank > 5) throw py::value_error(name + ": GridSample input must be 3-5D");
    return p.push(make_grid_sample_step(lookup(modes, mode, "GridSample mode"),
                                        lookup(pads, padding, "GridSample padding_mode"),
                                        align_corners, in, g, out),
                  name, "GridSample");
  });
}

}  // namespace ce::bind
