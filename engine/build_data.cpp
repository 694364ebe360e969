// Builders of the data-movement and sampling steps (engine/steps_data.h).
#include <map>

#include "engine/plan_builder.h"
#include "engine/steps_data.h"

namespace ce {

namespace {

template <class K>
K lookup(const StepArgs& a, const std::map<std::string, K>& table, const std::string& key,
         const char* what) {
  const auto it = table.find(key);
  if (it == table.end()) a.fail(std::string("unknown ") + what + " " + key);
  return it->second;
}

// op (Floor, Ceil, Round, Sign, Not), x, y
std::unique_ptr<Step> build_data_unary(const StepArgs& a) {
  static const std::map<std::string, DataUnaryKind> kinds = {
      {"Floor", DataUnaryKind::kFloor}, {"Ceil", DataUnaryKind::kCeil},
      {"Round", DataUnaryKind::kRound}, {"Sign", DataUnaryKind::kSign},
      {"Not", DataUnaryKind::kNot}};
  auto step = make_data_unary_step(lookup(a, kinds, a.s(0), "unary op"), a.ref(1), a.ref(2));
  step->op = a.s(0);
  return step;
}

// op (comparisons, logic, Mod / Fmod), a, b, y
std::unique_ptr<Step> build_data_binary(const StepArgs& a) {
  static const std::map<std::string, DataBinaryKind> kinds = {
      {"Equal", DataBinaryKind::kEqual}, {"Less", DataBinaryKind::kLess},
      {"LessOrEqual", DataBinaryKind::kLessEqual}, {"Greater", DataBinaryKind::kGreater},
      {"GreaterOrEqual", DataBinaryKind::kGreaterEqual}, {"And", DataBinaryKind::kAnd},
      {"Or", DataBinaryKind::kOr}, {"Xor", DataBinaryKind::kXor},
      {"Fmod", DataBinaryKind::kFmod}, {"Mod", DataBinaryKind::kMod}};
  const DataBinaryKind k = lookup(a, kinds, a.s(0), "binary op");
  auto step = make_data_binary_step(k, a.ref(1), a.ref(2), a.ref(3));
  step->op = k == DataBinaryKind::kFmod ? "Mod" : a.s(0);
  return step;
}

// condition, x, y, out
std::unique_ptr<Step> build_where(const StepArgs& a) {
  auto step = make_where_step(a.ref(0), a.ref(1), a.ref(2), a.ref(3));
  step->op = "Where";
  return step;
}

// x, y, axis, exclusive, reverse
std::unique_ptr<Step> build_cumsum(const StepArgs& a) {
  auto step = make_cumsum_step(static_cast<int>(a.i(2)), a.b(3), a.b(4), a.ref(0), a.ref(1));
  step->op = "CumSum";
  return step;
}

// op, x, y, offsets (int64, one per output element, checked inside x's extent)
std::unique_ptr<Step> build_index_gather(const StepArgs& a) {
  auto step = make_index_gather_step(a.ref(1), a.ref(2), a.ints(3));
  step->op = a.s(0);
  return step;
}

// x, grid, y, mode, padding_mode, align_corners
std::unique_ptr<Step> build_grid_sample(const StepArgs& a) {
  static const std::map<std::string, GridMode> modes = {
      {"nearest", GridMode::kNearest}, {"linear", GridMode::kLinear}, {"cubic", GridMode::kCubic}};
  static const std::map<std::string, GridPadding> pads = {
      {"zeros", GridPadding::kZeros}, {"border", GridPadding::kBorder},
      {"reflection", GridPadding::kReflection}};
  const TRef& in = a.ref(0);
  if (in.rank < 3 || in.rank > 5) a.fail("GridSample input must be 3-5D");
  auto step = make_grid_sample_step(lookup(a, modes, a.s(3), "GridSample mode"),
                                    lookup(a, pads, a.s(4), "GridSample padding_mode"), a.b(5), in,
                                    a.ref(1), a.ref(2));
  step->op = "GridSample";
  return step;
}

}  // namespace

void add_data_builders(BuilderTable& t) {
  t["add_data_unary"] = {3, build_data_unary};
  t["add_data_binary"] = {4, build_data_binary};
  t["add_where"] = {4, build_where};
  t["add_cumsum"] = {5, build_cumsum};
  t["add_index_gather"] = {4, build_index_gather};
  t["add_grid_sample"] = {6, build_grid_sample};
}

}  // namespace ce
