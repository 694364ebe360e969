// Registers _native.Plan (class PyPlan, plan_binding.h) and its core steps.
#include "plan_binding.h"

namespace ce::bind {

void bind_plan(py::module_& m) {
  PlanClass cls(m, "Plan");
  cls
      .def(py::init<std::vector<Vec>, std::vector<Vec>>(), py::arg("input_shapes"), py::arg("output_shapes"))
      .def("add_constant", &PyPlan::add_constant)
      .def("add_conv", &PyPlan::add_conv)
      .def("add_deform", &PyPlan::add_deform)
      .def("add_local", &PyPlan::add_local)
      .def("add_pool2d", &PyPlan::add_pool2d)
      .def("add_window_pool", &PyPlan::add_window_pool)
      .def("add_global_pool", &PyPlan::add_global_pool)
      .def("add_resize", &PyPlan::add_resize)
      .def("add_resize_cubic", &PyPlan::add_resize_cubic)
      .def("add_shuffle", &PyPlan::add_shuffle)
      .def("add_batchnorm", &PyPlan::add_batchnorm)
      .def("add_squeeze_excite", &PyPlan::add_squeeze_excite)
      .def("add_binary", &PyPlan::add_binary)
      .def("add_unary", &PyPlan::add_unary)
      .def("add_copy", &PyPlan::add_copy)
      .def("add_fill", &PyPlan::add_fill)
      .def("add_softmax", &PyPlan::add_softmax)
      .def("add_matmul", &PyPlan::add_matmul)
      .def("finalize", &PyPlan::finalize)
      .def("run", &PyPlan::run)
      .def("profile", &PyPlan::profile)
      .def("steps", &PyPlan::steps)
      .def_property_readonly("arena_floats", &PyPlan::arena_floats)
      .def_property_readonly("constant_floats", &PyPlan::constant_floats);
  bind_plan_math(cls);
  bind_plan_nn(cls);
  bind_plan_data(cls);
}

}  // namespace ce::bind
