#include "engine/plan_builder.h"
#include "engine/steps_conv.h"

#include <cstdlib>
#include <cstring>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <iterator>
#include <new>

#include "engine/buffer.h"

namespace ce {

const Arg& StepArgs::at(size_t i) const {
  if (i >= d_.args.size()) fail("argument " + std::to_string(i) + " is missing");
  return d_.args[i];
}

void StepArgs::fail(const std::string& msg) const { throw std::invalid_argument(msg); }

void StepArgs::wrong(size_t i, const char* want) const {
  fail("argument " + std::to_string(i) + " must be " + want + ", got " +
       arg_kind_name(at(i).kind));
}

const TRef& StepArgs::ref(size_t i) const {
  const Arg& a = at(i);
  if (a.kind != ArgKind::kRef || a.refs.size() != 1) wrong(i, "a tensor");
  return a.refs[0];
}

const TRef* StepArgs::opt_ref(size_t i) const { return none(i) ? nullptr : &ref(i); }

const std::vector<TRef>& StepArgs::refs(size_t i) const {
  const Arg& a = at(i);
  if (a.kind != ArgKind::kRefs) wrong(i, "a tensor list");
  return a.refs;
}

int64_t StepArgs::i(size_t i) const {
  const Arg& a = at(i);
  if (a.kind != ArgKind::kInt) wrong(i, "an int");
  return a.i;
}

double StepArgs::d(size_t i) const {
  const Arg& a = at(i);
  if (a.kind == ArgKind::kInt) return static_cast<double>(a.i);
  if (a.kind != ArgKind::kFloat) wrong(i, "a float");
  return a.f;
}

const std::string& StepArgs::s(size_t i) const {
  const Arg& a = at(i);
  if (a.kind != ArgKind::kStr) wrong(i, "a string");
  return a.s;
}

std::vector<int64_t> StepArgs::ints(size_t i) const {
  const Arg& a = at(i);
  if (a.kind == ArgKind::kInts) return a.ints;
  if (a.kind == ArgKind::kArray && a.array.dtype == DType::kI64)
    return std::vector<int64_t>(a.array.i64(), a.array.i64() + a.array.count());
  wrong(i, "an int list");
}

std::vector<float> StepArgs::floats(size_t i) const {
  const Arg& a = at(i);
  if (a.kind == ArgKind::kFloats) return std::vector<float>(a.floats.begin(), a.floats.end());
  if (a.kind == ArgKind::kInts) return std::vector<float>(a.ints.begin(), a.ints.end());
  if (a.kind == ArgKind::kArray && a.array.dtype == DType::kF32)
    return std::vector<float>(a.array.f32(), a.array.f32() + a.array.count());
  wrong(i, "a float list");
}

const ArrayArg& StepArgs::array(size_t i) const {
  const Arg& a = at(i);
  if (a.kind != ArgKind::kArray || a.array.dtype != DType::kF32) wrong(i, "a float32 array");
  return a.array;
}

const ArrayArg* StepArgs::opt_array(size_t i) const { return none(i) ? nullptr : &array(i); }

const BuilderTable& step_builders() {
  static const BuilderTable table = [] {
    BuilderTable t;
    add_core_builders(t);
    add_math_builders(t);
    add_nn_builders(t);
    add_data_builders(t);
    return t;
  }();
  return table;
}

namespace {

[[noreturn]] void bad(const std::string& msg) { throw ModelFileError(ErrorCode::kInvalidFile, msg); }

int64_t numel_of(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// A tensor reference must lie inside its buffer, and its element count must be one the buffers
// could hold (a view may repeat elements through zero strides, but not without bound), checked
// in 128-bit arithmetic before any step is built.
void check_ref(const TRef& r, const std::vector<int64_t>& sizes, const std::string& where) {
  if (r.buf < 0 || static_cast<size_t>(r.buf) >= sizes.size())
    bad(where + ": names buffer " + std::to_string(r.buf) + " (there are " +
        std::to_string(sizes.size()) + ")");
  __int128 n = 1, lo = r.offset, hi = r.offset;
  for (int i = 0; i < r.rank; ++i) {
    n *= r.shape[i];
    if (n > (int64_t{1} << 40)) bad(where + ": a tensor of too many elements: " + r.describe());
  }
  if (n == 0) return;
  for (int i = 0; i < r.rank; ++i) {
    const __int128 span = static_cast<__int128>(r.shape[i] - 1) * r.strides[i];
    (span < 0 ? lo : hi) += span;
  }
  if (lo < 0 || hi + 1 > sizes[r.buf])
    bad(where + ": reaches outside its buffer (" + std::to_string(sizes[r.buf]) + " floats): " +
        r.describe());
}

std::string plan_label(const ModelDesc& d) {
  std::string s = d.inputs.size() == 1 ? "the plan for input " : "the plan for inputs ";
  for (size_t i = 0; i < d.inputs.size(); ++i) {
    if (i) s += ", ";
    s += d.inputs[i].name + " [";
    for (size_t k = 0; k < d.inputs[i].shape.size(); ++k)
      s += (k ? ", " : "") + std::to_string(d.inputs[i].shape[k]);
    s += "]";
  }
  return d.inputs.empty() ? "the plan" : s;
}

// The memory a plan needs at least, known before anything is built: the arena each run takes,
// the constant pool and the weights (packed copies are about as large), the inputs (the session
// copies a non-contiguous one) and the outputs. More than memory_limit() is refused here, naming
// the largest part, instead of failing in one of the allocations, or not failing and letting the
// kernel kill the process when the pages are touched.
void check_memory(const ModelDesc& d, const std::string& label) {
  double weights = 0, inputs = 0, outputs = 0;
  for (const StepDesc& s : d.steps)
    for (const Arg& a : s.args)
      if (a.kind == ArgKind::kArray)
        weights += static_cast<double>(a.array.count()) * (a.array.dtype == DType::kI64 ? 8 : 4);
  for (const auto& t : d.inputs) inputs += 4.0 * static_cast<double>(numel_of(t.shape));
  for (const auto& t : d.outputs) outputs += 4.0 * static_cast<double>(numel_of(t.shape));
  struct Part {
    const char *what, *verb;
    double bytes;
  };
  Part parts[] = {{"the activation arena", "needs", 4.0 * (static_cast<double>(d.arena_floats) + 16)},
                  {"the constants", "need", 4.0 * static_cast<double>(d.pool_floats)},
                  {"the weights", "need", weights},
                  {"the inputs", "need", inputs},
                  {"the outputs", "need", outputs}};
  double total = 0;
  size_t big = 0;
  for (size_t i = 0; i < std::size(parts); ++i) {
    total += parts[i].bytes;
    if (parts[i].bytes > parts[big].bytes) big = i;
  }
  const MemoryLimit limit = memory_limit();
  if (total <= limit.bytes) return;
  std::string others;
  for (size_t i = 0; i < std::size(parts); ++i)
    if (i != big && parts[i].bytes > 0)
      others += std::string(others.empty() ? "" : ", ") + parts[i].what + " " + format_bytes(parts[i].bytes);
  throw OutOfMemory(label + ": " + parts[big].what + " " + parts[big].verb + " " + format_bytes(parts[big].bytes) +
                        "; with " + others + ", the plan needs at least " + format_bytes(total) +
                        ", more than " + limit.source + " (" + format_bytes(limit.bytes) +
                        "); nothing was allocated",
                    static_cast<size_t>(total));
}

}  // namespace

std::unique_ptr<Plan> build_plan(const ModelDesc& d) {
  std::vector<std::vector<int64_t>> ins, outs;
  std::vector<int64_t> sizes = {d.arena_floats, d.pool_floats};
  for (const auto& t : d.inputs) {
    ins.push_back(t.shape);
    sizes.push_back(numel_of(t.shape));
  }
  for (const auto& t : d.outputs) {
    outs.push_back(t.shape);
    sizes.push_back(numel_of(t.shape));
  }
  const BuilderTable& table = step_builders();
  std::vector<const StepBuilder*> builders;
  for (size_t si = 0; si < d.steps.size(); ++si) {
    const StepDesc& s = d.steps[si];
    const std::string where = "step " + std::to_string(si) + " (" + s.name + ")";
    const auto it = table.find(s.method);
    if (it == table.end())
      throw ModelFileError(ErrorCode::kUnsupported, where + ": unknown step kind '" + s.method + "'");
    if (static_cast<int>(s.args.size()) != it->second.nargs)
      bad(where + ": " + s.method + " takes " + std::to_string(it->second.nargs) + " arguments, got " +
          std::to_string(s.args.size()));
    for (const Arg& a : s.args)
      for (const TRef& r : a.refs) check_ref(r, sizes, where);
    builders.push_back(&it->second);
  }
  const std::string label = plan_label(d);
  check_memory(d, label);
  auto plan = std::make_unique<Plan>(ins, outs);
  plan->set_label(label);
  try {
    if (d.pool_floats) {
      try {
        plan->add_constant(d.pool, d.pool_floats);
      } catch (const std::bad_alloc& e) {
        rethrow_out_of_memory(label + ": the constant pool", e);
      }
    }
    for (size_t si = 0; si < d.steps.size(); ++si) {
      const StepDesc& s = d.steps[si];
      std::unique_ptr<Step> step;
      try {
        step = builders[si]->build(StepArgs(s));
      } catch (const std::bad_alloc& e) {  // packed weights, indirection tables
        rethrow_out_of_memory(label + ": building node " + s.name + (s.op.empty() ? "" : " (" + s.op + ")"), e);
      } catch (const ModelFileError&) {
        throw;
      } catch (const std::invalid_argument& e) {
        bad("node " + s.name + ": " + e.what());
      } catch (const std::length_error& e) {
        bad("node " + s.name + ": " + e.what());
      }
      step->name = s.name;
      if (!s.op.empty()) step->op = s.op;
      plan->add_step(std::move(step));
    }
    // CONVENGINE_FUSE_BANDS=0 keeps every conv its own step (tests and benchmarks compare).
    const char* fuse = std::getenv("CONVENGINE_FUSE_BANDS");
    if (!fuse || std::string(fuse) != "0") fuse_conv_bands(plan->mutable_steps());
    plan->finalize(d.arena_floats);
  } catch (const OutOfMemory&) {
    throw;
  } catch (const std::bad_alloc& e) {
    rethrow_out_of_memory(label + ": building the plan", e);
  } catch (const ModelFileError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
  return plan;
}

namespace {
std::unique_ptr<CompiledModel> load_compiled_model_impl(const void* data, size_t size) {
  // Arrays are read in place as float / int64: copy a misaligned buffer first.
  std::vector<uint8_t, AlignedAllocator<uint8_t>> copy;
  if (data && size && reinterpret_cast<uintptr_t>(data) % kModelAlign) {
    copy.resize(size);
    std::memcpy(copy.data(), data, size);
    data = copy.data();
  }
  const ModelDesc d = parse_model_file(data, size);
  auto m = std::make_unique<CompiledModel>();
  m->producer = d.producer;
  m->inputs = d.inputs;
  m->outputs = d.outputs;
  m->plan = build_plan(d);
  return m;
}
}  // namespace

std::unique_ptr<CompiledModel> load_compiled_model(const void* data, size_t size) {
  auto m = load_compiled_model_impl(data, size);
#ifdef __GLIBC__
  // A build frees as much as it keeps: packed weights equal to ones already shared, the file
  // copy, scratch. glibc keeps freed blocks under 32 MiB in its heap, so without a trim every
  // further session of a model held ~130 MiB it no longer used (ResNet-50, measured RSS).
  malloc_trim(0);
#endif
  return m;
}

}  // namespace ce
