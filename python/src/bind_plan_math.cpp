// Plan steps of the element-wise math and activations ops (methods of _native.Plan).
#include "engine/steps_math.h"
#include "plan_binding.h"

namespace ce::bind {

void bind_plan_math(PlanClass& cls) {
  // y = f(x); kind as make_math_unary_step, op the graph op's name.
  cls.def("add_math_unary", [](PyPlan& p, const std::string& name, const std::string& op,
                               const std::string& kind, const PyRef& x, const PyRef& y,
                               float alpha, float beta) {
    return p.push(make_math_unary_step(kind, alpha, beta, tref(x), tref(y)), name, op);
  });
  cls.def("add_math_binary", [](PyPlan& p, const std::string& name, const std::string& op,
                                const std::string& kind, const PyRef& a, const PyRef& b,
                                const PyRef& y) {
    return p.push(make_math_binary_step(kind, tref(a), tref(b), tref(y)), name, op);
  });
  cls.def("add_variadic", [](PyPlan& p, const std::string& name, const std::string& op,
                             const std::string& kind, const std::vector<PyRef>& ins,
                             const PyRef& y) {
    std::vector<TRef> ts;
    for (const PyRef& r : ins) ts.push_back(tref(r));
    return p.push(make_variadic_step(kind, ts, tref(y)), name, op);
  });
  cls.def("add_log_softmax", [](PyPlan& p, const std::string& name, const PyRef& x,
                                const PyRef& y, int axis) {
    return p.push(make_log_softmax_step(axis, tref(x), tref(y)), name, "LogSoftmax");
  });
}

}  // namespace ce::bind
