#include "common.h"

#include "engine/cpu.h"
#include "engine/debug.h"
#include "engine/layout.h"
#include "engine/peak.h"
#include "engine/shared_weights.h"
#include "engine/thread_pool.h"

namespace ce::bind {

Buffer to_nhwc(const FloatArray& x) {
  const auto s = shape_of(x);
  int64_t p = 1;
  for (size_t i = 2; i < s.size(); ++i) p *= s[i];
  Buffer dst(static_cast<size_t>(s[0] * s[1] * p));
  const float* src = x.data();
  py::gil_scoped_release nogil;
  nchw_to_nhwc(src, dst.data(), s[0], s[1], p, ThreadPool::global());
  return dst;
}

py::array_t<float> from_nhwc(const Buffer& src, const std::vector<int64_t>& shape) {
  py::array_t<float> out(shape);
  int64_t p = 1;
  for (size_t i = 2; i < shape.size(); ++i) p *= shape[i];
  float* dst = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    nhwc_to_nchw(src.data(), dst, shape[0], shape[1], p, ThreadPool::global());
  }
  return out;
}

void bind_core(py::module_& m) {
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("num_threads must be >= 1, got " + std::to_string(n));
    py::gil_scoped_release nogil;
    ThreadPool::global().set_num_threads(n);
  });
  m.def("get_num_threads", [] { return ThreadPool::global().num_threads(); });
  m.attr("MAX_THREADS") = ThreadPool::kMaxThreads;
  m.def("cpu_has_avx2_fma", &cpu_has_avx2_fma);
  m.def("get_isa", [] { return std::string(isa_name(active_isa())); });
  m.def("set_isa", [](const std::string& name) { set_isa(parse_isa(name)); });
  m.def("get_debug_nan", &debug_nan);
  m.def("set_debug_nan", &set_debug_nan, py::arg("on"),
        "Poison mode: fill every new engine buffer, plan arena and plan output with NaN.");
  m.def("cpu_supports_isa", [](const std::string& name) { return cpu_supports(parse_isa(name)); });
  m.def("best_isa", [] { return std::string(isa_name(best_isa())); });
  m.def("cpu_features", &cpu_features,
        "The CPU features behind the ISA levels, space separated, as Linux names them.");
  m.def("shared_weights", [] {
    const SharedWeightsStats st = shared_weights_stats();
    py::dict d;
    d["buffers"] = st.buffers;
    d["bytes"] = st.bytes;
    d["hits"] = st.hits;
    d["calls"] = st.calls;
    return d;
  }, "The process-wide store of packed weights (engine/shared_weights.h): distinct buffers "
     "alive, their bytes, and how many requests found an equal buffer (hits) of all (calls).");
  m.def("measure_fma_peak_gflops", [](int repeats, const std::string& isa) {
    const Isa i = isa.empty() ? best_isa() : parse_isa(isa);
    py::gil_scoped_release nogil;
    return measure_fma_peak_gflops(ThreadPool::global(), repeats, i);
  }, py::arg("repeats") = 5, py::arg("isa") = "",
        "Measured FP32 FMA peak of the engine's threads with the vectors of `isa` (default: the "
        "CPU's best), GFLOP/s.");
  m.def("thread_handoff_ns", [] { return ThreadPool::global().handoff_ns(); },
        "How long the pool's spinning workers took to see recent jobs, ns (a running mean; "
        "engine/thread_pool.h), 0 before any 2-thread job.");
  m.def("force_thread_handoff_ns", [](int64_t ns) { ThreadPool::global().force_handoff_ns(ns); },
        py::arg("ns"), "Tests: the pool reports this handoff from now on (-1: measure again).");
  m.def("measure_thread_round_trip_ns", [](int round_trips) {
    py::gil_scoped_release nogil;
    return measure_thread_round_trip_ns(round_trips);
  }, py::arg("round_trips") = 20000,
        "Median ns for a cache line to go between two spinning threads and back (engine/peak.h).");
}

}  // namespace ce::bind

PYBIND11_MODULE(_native, m) {
  m.doc() = "convengine C++ core (thin bindings; see convengine.functional for the API)";
  ce::bind::bind_core(m);
  ce::bind::bind_conv(m);
  ce::bind::bind_deform(m);
  ce::bind::bind_local(m);
  ce::bind::bind_ops(m);
  ce::bind::bind_plan(m);
  ce::bind::bind_rules(m);
}
