// _native.ModelWriter and _native.CompiledModel: the planner (python/convengine/_graph/planner.py)
// describes its plan step by step into a ModelWriter, whose bytes are a compiled-model file
// (engine/model_file.h); load_compiled() builds the plan from such bytes in C++
// (engine/plan_builder.h), the same path the C API takes. run() executes the whole plan with the
// GIL released.
#include <pybind11/stl.h>

#include <algorithm>

#include <string>
#include <tuple>
#include <vector>

#include "common.h"
#include "engine/model_file.h"
#include "engine/plan_builder.h"
#include "include/convengine.h"

namespace ce::bind {

namespace {

using Vec = std::vector<int64_t>;

TRef to_ref(const py::handle& h) {
  const auto t = h.cast<std::tuple<int, int64_t, Vec, Vec>>();
  TRef r;
  r.buf = std::get<0>(t);
  r.offset = std::get<1>(t);
  const Vec &shape = std::get<2>(t), &strides = std::get<3>(t);
  if (shape.size() != strides.size() || shape.size() > static_cast<size_t>(kMaxRank))
    throw py::value_error("plan: a tensor reference needs equal-length shape and strides (rank <= 8)");
  r.rank = static_cast<int>(shape.size());
  for (int i = 0; i < r.rank; ++i) r.shape[i] = shape[i], r.strides[i] = strides[i];
  return r;
}

bool is_ref(const py::handle& h) {
  return py::isinstance<py::tuple>(h) && py::len(h) == 4 && py::isinstance<py::list>(h.cast<py::tuple>()[2]);
}

bool is_int(const py::handle& h) {
  // (ndarray has nb_index too)
  return py::isinstance<py::bool_>(h) || py::isinstance<py::int_>(h) ||
         (PyIndex_Check(h.ptr()) && !py::isinstance<py::float_>(h) && !py::isinstance<py::array>(h));
}

// A planner argument as a file argument: None, int / bool, float, str, a tensor reference
// (buf, offset, shape, strides), a list of references, ints or floats, or a numpy array
// (float arrays stored as float32, integer arrays as int64).
Arg to_arg(ModelWriter& w, const py::handle& h) {
  Arg a;
  if (h.is_none()) return a;
  if (is_int(h)) {
    a.kind = ArgKind::kInt;
    a.i = h.cast<int64_t>();
  } else if (PyFloat_Check(h.ptr()) || (py::hasattr(h, "dtype") && !py::isinstance<py::array>(h))) {
    const char k = py::isinstance<py::float_>(h) ? 'f' : h.attr("dtype").cast<py::dtype>().kind();
    if (k == 'b' || k == 'i' || k == 'u') {
      a.kind = ArgKind::kInt;
      a.i = py::int_(py::reinterpret_borrow<py::object>(h)).cast<int64_t>();
    } else {
      a.kind = ArgKind::kFloat;
      a.f = h.cast<double>();
    }
  } else if (py::isinstance<py::str>(h)) {
    a.kind = ArgKind::kStr;
    a.s = h.cast<std::string>();
  } else if (py::isinstance<py::array>(h)) {
    const auto arr = h.cast<py::array>();
    const char k = arr.dtype().kind();
    if (k == 'i' || k == 'u' || k == 'b') {
      const auto c = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(h);
      return w.array(DType::kI64, c.data(), Vec(c.shape(), c.shape() + c.ndim()));
    }
    const FloatArray c = FloatArray::ensure(h);
    if (!c) throw py::value_error("plan: an array argument must be numeric");
    return w.array(DType::kF32, c.data(), shape_of(c));
  } else if (is_ref(h)) {
    a.kind = ArgKind::kRef;
    a.refs.push_back(to_ref(h));
  } else if (py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h)) {
    const auto seq = h.cast<py::sequence>();
    bool refs = seq.size() > 0, ints = true;
    for (const auto& e : seq) {
      refs = refs && is_ref(e);
      ints = ints && is_int(e);
    }
    if (refs) {
      a.kind = ArgKind::kRefs;
      for (const auto& e : seq) a.refs.push_back(to_ref(e));
    } else if (ints) {
      a.kind = ArgKind::kInts;
      for (const auto& e : seq) a.ints.push_back(e.cast<int64_t>());
    } else {
      a.kind = ArgKind::kFloats;
      for (const auto& e : seq) a.floats.push_back(e.cast<double>());
    }
  } else {
    throw py::type_error("plan: unsupported argument type " + std::string(py::str(py::type::handle_of(h))));
  }
  return a;
}

class PyCompiled {
 public:
  explicit PyCompiled(std::unique_ptr<CompiledModel> m) : m_(std::move(m)) {}

  std::vector<py::array_t<float>> execute(const std::vector<FloatArray>& inputs,
                                          std::vector<double>* times) const {
    const auto& ins = m_->inputs;
    if (inputs.size() != ins.size())
      throw py::value_error("plan: expected " + std::to_string(ins.size()) + " inputs");
    std::vector<const float*> in_ptrs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (shape_of(inputs[i]) != ins[i].shape)
        throw py::value_error("plan: input " + std::to_string(i) + " has the wrong shape");
      in_ptrs.push_back(inputs[i].data());
    }
    std::vector<py::array_t<float>> outs;
    std::vector<float*> out_ptrs;
    for (const auto& t : m_->outputs) {
      outs.emplace_back(t.shape);
      out_ptrs.push_back(outs.back().mutable_data());
    }
    py::gil_scoped_release nogil;
    m_->plan->run(in_ptrs, out_ptrs, ThreadPool::global(), times);
    return outs;
  }

  std::vector<std::tuple<std::string, std::string, std::string, double>> steps() const {
    std::vector<std::tuple<std::string, std::string, std::string, double>> r;
    for (const auto& s : m_->plan->steps()) r.emplace_back(s->name, s->op, s->algorithm, s->flops);
    return r;
  }

  std::unique_ptr<CompiledModel> m_;
};

struct CompiledFile {
  std::vector<uint8_t, AlignedAllocator<uint8_t>> bytes;
};

std::unique_ptr<CompiledModel> load_bytes(const py::buffer& b) {
  const py::buffer_info info = b.request();
  const void* p = info.ptr;
  const size_t n = static_cast<size_t>(info.size * info.itemsize);
  py::gil_scoped_release nogil;
  return load_compiled_model(p, n);
}

std::vector<std::tuple<std::string, std::string, Vec>> tensors(const std::vector<TensorDesc>& ts) {
  std::vector<std::tuple<std::string, std::string, Vec>> r;
  for (const auto& t : ts) r.emplace_back(t.name, t.dtype, t.shape);
  return r;
}

}  // namespace

void bind_plan(py::module_& m) {
  // ModelFileError -> ValueError (message names the step) with its code as .code
  static py::exception<ModelFileError> file_error(m, "CompiledModelError", PyExc_ValueError);
  // OutOfMemory (engine/buffer.h: an allocation refused or failed, the message names the plan,
  // what the memory was for and the bytes) -> convengine.OutOfMemoryError, a MemoryError, with
  // .code CE_OUT_OF_MEMORY and .bytes (0 when unknown)
  static py::exception<OutOfMemory> oom_error(m, "OutOfMemoryError", PyExc_MemoryError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const OutOfMemory& e) {
      py::object err = py::reinterpret_borrow<py::object>(oom_error)(e.what());
      err.attr("code") = static_cast<int>(CE_OUT_OF_MEMORY);
      err.attr("bytes") = e.bytes();
      PyErr_SetObject(oom_error.ptr(), err.ptr());
    } catch (const ModelFileError& e) {
      py::object err = py::reinterpret_borrow<py::object>(file_error)(e.what());
      err.attr("code") = static_cast<int>(e.code());
      PyErr_SetObject(file_error.ptr(), err.ptr());
    }
  });

  m.def("memory_limit", [] {
    const MemoryLimit l = memory_limit();
    return std::make_tuple(l.bytes, l.source);
  }, "(bytes, source): the most memory a plan may ask for (engine/buffer.h: the smallest of "
     "physical memory, the cgroup's memory.max, RLIMIT_AS / RLIMIT_DATA and "
     "CONVENGINE_MEMORY_LIMIT), and which bound it is");

  py::class_<ModelWriter>(m, "ModelWriter")
      .def(py::init<>())
      .def("set_producer", &ModelWriter::set_producer)
      .def("add_input", [](ModelWriter& w, const std::string& name, const std::string& dtype,
                           const Vec& shape) { w.add_input({name, dtype, shape}); })
      .def("add_output", [](ModelWriter& w, const std::string& name, const std::string& dtype,
                            const Vec& shape) { w.add_output({name, dtype, shape}); })
      .def("set_arena_floats", &ModelWriter::set_arena_floats)
      .def("add_pool_constant", [](ModelWriter& w, const FloatArray& a) {
        return w.add_pool_constant(a.data(), a.size());
      })
      .def("add_step", [](ModelWriter& w, const std::string& method, const std::string& name,
                          const std::string& op, const py::sequence& args) {
        StepDesc s;
        s.method = method;
        s.name = name;
        s.op = op;
        for (const auto& h : args) s.args.push_back(to_arg(w, h));
        w.add_step(std::move(s));
      })
      .def("finish", [](ModelWriter& w) {
        std::vector<uint8_t> f;
        {
          py::gil_scoped_release nogil;
          f = w.finish();
        }
        return py::bytes(reinterpret_cast<const char*>(f.data()), f.size());
      })
      .def("finish_file", [](ModelWriter& w) {
        auto f = std::make_unique<CompiledFile>();
        {
          py::gil_scoped_release nogil;
          f->bytes = w.finish_aligned();
        }
        return f;
      }, "The file as a CompiledFile: 64-byte aligned bytes (buffer protocol), which "
         "load_compiled reads without a copy.");

  py::class_<CompiledFile>(m, "CompiledFile", py::buffer_protocol())
      .def_buffer([](CompiledFile& f) {
        return py::buffer_info(f.bytes.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                               {f.bytes.size()}, {1}, /*readonly=*/true);
      })
      .def("__len__", [](const CompiledFile& f) { return f.bytes.size(); });

  py::class_<PyCompiled>(m, "CompiledModel")
      .def("run", [](const PyCompiled& c, const std::vector<FloatArray>& inputs) {
        return c.execute(inputs, nullptr);
      })
      .def("profile", [](const PyCompiled& c, const std::vector<FloatArray>& inputs) {
        std::vector<double> times;
        auto outs = c.execute(inputs, &times);
        return std::make_tuple(outs, times);
      })
      .def("steps", &PyCompiled::steps)
      .def("share_arenas", [](PyCompiled& c, const PyCompiled& other) {
        c.m_->plan->share_arenas(*other.m_->plan);
      }, "Runs of this plan take activation arenas from `other`'s pool (plans of one session).")
      .def_property_readonly("inputs", [](const PyCompiled& c) { return tensors(c.m_->inputs); })
      .def_property_readonly("outputs", [](const PyCompiled& c) { return tensors(c.m_->outputs); })
      .def_property_readonly("producer", [](const PyCompiled& c) { return c.m_->producer; })
      .def_property_readonly("arena_floats", [](const PyCompiled& c) { return c.m_->plan->arena_floats(); })
      .def_property_readonly("constant_floats",
                             [](const PyCompiled& c) { return c.m_->plan->constant_floats(); });

  // The images of one batch split over the pool's threads: plans[c] was planned for chunk[c]
  // images; each thread runs one chunk through the whole network (the parallel_for of every op
  // inside it runs inline on that thread), writing its slice of the outputs.
  m.def("run_batch_split", [](const std::vector<const PyCompiled*>& plans,
                              const std::vector<FloatArray>& inputs,
                              const std::vector<int64_t>& chunk) {
    if (plans.empty() || plans.size() != chunk.size())
      throw py::value_error("run_batch_split: one plan per chunk");
    int64_t batch = 0;
    for (int64_t c : chunk) {
      if (c < 1) throw py::value_error("run_batch_split: empty chunk");
      batch += c;
    }
    const auto& ins0 = plans[0]->m_->inputs;
    const auto& outs0 = plans[0]->m_->outputs;
    if (inputs.size() != ins0.size())
      throw py::value_error("run_batch_split: expected " + std::to_string(ins0.size()) + " inputs");
    auto tail_equal = [](const Vec& a, const Vec& b) {
      return a.size() == b.size() && !a.empty() && std::equal(a.begin() + 1, a.end(), b.begin() + 1);
    };
    for (size_t c = 0; c < plans.size(); ++c) {
      const CompiledModel& m = *plans[c]->m_;
      if (m.inputs.size() != ins0.size() || m.outputs.size() != outs0.size())
        throw py::value_error("run_batch_split: plans of different models");
      for (size_t j = 0; j < m.inputs.size(); ++j)
        if (m.inputs[j].shape[0] != chunk[c] || !tail_equal(m.inputs[j].shape, shape_of(inputs[j])))
          throw py::value_error("run_batch_split: plan " + std::to_string(c) + " input " +
                                std::to_string(j) + " does not match its chunk");
      for (size_t j = 0; j < m.outputs.size(); ++j)
        if (m.outputs[j].shape.empty() || m.outputs[j].shape[0] != chunk[c] ||
            !tail_equal(m.outputs[j].shape, outs0[j].shape))
          throw py::value_error("run_batch_split: plan " + std::to_string(c) + " output " +
                                std::to_string(j) + " is not per image");
    }
    for (size_t j = 0; j < inputs.size(); ++j)
      if (shape_of(inputs[j])[0] != batch)
        throw py::value_error("run_batch_split: input " + std::to_string(j) + " has " +
                              std::to_string(shape_of(inputs[j])[0]) + " images, the chunks " +
                              std::to_string(batch));
    auto per_image = [](const Vec& s) {
      int64_t n = 1;
      for (size_t i = 1; i < s.size(); ++i) n *= s[i];
      return n;
    };
    std::vector<py::array_t<float>> outs;
    for (const auto& t : outs0) {
      Vec shape = t.shape;
      shape[0] = batch;
      outs.emplace_back(shape);
    }
    std::vector<const float*> in_base;
    std::vector<int64_t> in_img, out_img;
    for (const auto& a : inputs) in_base.push_back(a.data()), in_img.push_back(per_image(shape_of(a)));
    std::vector<float*> out_base;
    for (auto& o : outs) out_base.push_back(o.mutable_data());
    for (const auto& t : outs0) out_img.push_back(per_image(t.shape));
    std::vector<int64_t> first(chunk.size(), 0);
    for (size_t c = 1; c < chunk.size(); ++c) first[c] = first[c - 1] + chunk[c - 1];
    py::gil_scoped_release nogil;
    ThreadPool& pool = ThreadPool::global();
    pool.parallel_for(chunk.size(), [&](size_t c) {
      std::vector<const float*> in_ptrs;
      std::vector<float*> out_ptrs;
      for (size_t j = 0; j < in_base.size(); ++j) in_ptrs.push_back(in_base[j] + first[c] * in_img[j]);
      for (size_t j = 0; j < out_base.size(); ++j) out_ptrs.push_back(out_base[j] + first[c] * out_img[j]);
      plans[c]->m_->plan->run(in_ptrs, out_ptrs, pool);
    });
    return outs;
  }, py::arg("plans"), py::arg("inputs"), py::arg("chunks"));
  m.def("load_compiled", [](const py::buffer& b) { return PyCompiled(load_bytes(b)); },
        "Builds the plan of a compiled-model file's bytes.");
  m.def("step_methods", [] {
    std::vector<std::pair<std::string, int>> r;
    for (const auto& [k, v] : step_builders()) r.emplace_back(k, v.nargs);
    return r;
  });
  m.def("model_checksum", [](const py::bytes& b) {
    const std::string_view v = b;
    return model_checksum(reinterpret_cast<const uint8_t*>(v.data()), v.size());
  }, "The checksum a compiled-model header holds, of the bytes after the header.");
  m.def("c_api_version", [] { return std::string(ce_version()); });
}

}  // namespace ce::bind
