// Builders of the element-wise math and activation steps (engine/steps_math.h).
#include "engine/plan_builder.h"
#include "engine/steps_math.h"

namespace ce {

namespace {

// op, kind, x, y, alpha, beta: y = f(x), kind as make_math_unary_step, op the graph op's name
std::unique_ptr<Step> build_math_unary(const StepArgs& a) {
  auto step = make_math_unary_step(a.s(1), a.f(4), a.f(5), a.ref(2), a.ref(3));
  step->op = a.s(0);
  return step;
}

// op, kind, a, b, y
std::unique_ptr<Step> build_math_binary(const StepArgs& a) {
  auto step = make_math_binary_step(a.s(1), a.ref(2), a.ref(3), a.ref(4));
  step->op = a.s(0);
  return step;
}

// op, kind, inputs, y
std::unique_ptr<Step> build_variadic(const StepArgs& a) {
  auto step = make_variadic_step(a.s(1), a.refs(2), a.ref(3));
  step->op = a.s(0);
  return step;
}

// x, y, axis
std::unique_ptr<Step> build_log_softmax(const StepArgs& a) {
  auto step = make_log_softmax_step(static_cast<int>(a.i(2)), a.ref(0), a.ref(1));
  step->op = "LogSoftmax";
  return step;
}

}  // namespace

void add_math_builders(BuilderTable& t) {
  t["add_math_unary"] = {6, build_math_unary};
  t["add_math_binary"] = {5, build_math_binary};
  t["add_variadic"] = {4, build_variadic};
  t["add_log_softmax"] = {3, build_log_softmax};
}

}  // namespace ce
