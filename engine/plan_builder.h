// Plan building in C++: each step of a ModelDesc (engine/model_file.h) names a builder by its
// method ("add_conv", "add_pool", ...); the builder reads its positional arguments through
// StepArgs, chooses the algorithm for this CPU, packs the weights and returns the Step.
// build_plan() checks every tensor reference of every step against its buffer before building
// anything, then builds the steps in order and finalizes the plan.
//
// The builders are grouped by op family: build_core.cpp (convolutions, pooling, resize,
// element-wise core ops), build_math.cpp, build_nn.cpp, build_data.cpp.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/model_file.h"
#include "engine/plan.h"

namespace ce {

// Positional arguments of one step, each read as the kind the builder expects; a wrong kind or
// a missing argument throws std::invalid_argument naming the argument.
class StepArgs {
 public:
  explicit StepArgs(const StepDesc& d) : d_(d) {}
  const std::string& name() const { return d_.name; }
  size_t size() const { return d_.args.size(); }
  bool none(size_t i) const { return at(i).kind == ArgKind::kNone; }
  const TRef& ref(size_t i) const;
  const TRef* opt_ref(size_t i) const;  // nullptr for none
  const std::vector<TRef>& refs(size_t i) const;
  int64_t i(size_t i) const;
  bool b(size_t i) const { return this->i(i) != 0; }
  double d(size_t i) const;                  // a float (or an int)
  float f(size_t i) const { return static_cast<float>(d(i)); }
  const std::string& s(size_t i) const;
  std::vector<int64_t> ints(size_t i) const;  // an int list or an int64 array
  std::vector<float> floats(size_t i) const;  // a float or int list, or a float32 array
  const ArrayArg& array(size_t i) const;      // a float32 array
  const ArrayArg* opt_array(size_t i) const;  // nullptr for none
  [[noreturn]] void fail(const std::string& msg) const;

 private:
  const Arg& at(size_t i) const;
  [[noreturn]] void wrong(size_t i, const char* want) const;
  const StepDesc& d_;
};

struct StepBuilder {
  int nargs;  // positional arguments after the name
  std::unique_ptr<Step> (*build)(const StepArgs&);
};
using BuilderTable = std::map<std::string, StepBuilder>;

void add_core_builders(BuilderTable& t);  // build_core.cpp
void add_math_builders(BuilderTable& t);  // build_math.cpp
void add_nn_builders(BuilderTable& t);    // build_nn.cpp
void add_data_builders(BuilderTable& t);  // build_data.cpp
const BuilderTable& step_builders();

// Builds the plan of a parsed (or written) description. Errors: ModelFileError naming the step.
std::unique_ptr<Plan> build_plan(const ModelDesc& d);

// A loaded compiled model: the description's inputs and outputs and the built plan.
struct CompiledModel {
  std::string producer;
  std::vector<TensorDesc> inputs, outputs;
  std::unique_ptr<Plan> plan;
};
// Parses, validates and builds; the bytes may be freed afterwards.
std::unique_ptr<CompiledModel> load_compiled_model(const void* data, size_t size);

}  // namespace ce
