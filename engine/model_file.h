// The compiled-model file (.cem, docs/compiled-format.md): what the Python planner produces for
// fixed input shapes (inputs, outputs, the arena size, the constant pool, and the steps with
// their attributes, tensor references and unpacked weights), in a form the C++ runtime loads by
// itself. It names no ISA and no packed layout: the builder (engine/plan_builder.h) chooses
// algorithms and packs weights for the CPU it loads on.
//
// ModelWriter serialises a ModelDesc; parse_model_file() checks a whole file (header, checksum,
// every length, offset, kind and shape) before returning its description, whose arrays point
// into the caller's bytes. Errors are ModelFileError with a code (CE_INVALID_FILE, ...).
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/plan.h"

namespace ce {

constexpr uint32_t kModelFileVersion = 1;
constexpr size_t kModelHeaderBytes = 64;
constexpr size_t kModelAlign = 64;  // every array and the pool start on a 64-byte boundary

// Error codes shared with include/convengine.h.
enum class ErrorCode : int {
  kInvalidArgument = 1,
  kInvalidFile = 2,
  kUnsupported = 3,
  kIo = 4,
  kOutOfMemory = 5,
  kRuntime = 6
};

class ModelFileError : public std::invalid_argument {
 public:
  ModelFileError(ErrorCode code, const std::string& msg) : std::invalid_argument(msg), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

enum class ArgKind : uint8_t {
  kNone = 0,    // an optional argument left out
  kInt = 1,     // int64 (bools are 0 / 1)
  kFloat = 2,   // float64
  kStr = 3,
  kInts = 4,    // int64 list
  kFloats = 5,  // float64 list
  kRef = 6,     // a tensor reference (TRef)
  kRefs = 7,    // a list of them
  kArray = 8    // an n-d array in the data section (float32 or int64)
};
const char* arg_kind_name(ArgKind k);

enum class DType : uint8_t { kF32 = 0, kI64 = 1 };

struct ArrayArg {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // into the file (parse); null in a writer's Arg (array_offset)
  int64_t count() const;
  const float* f32() const { return static_cast<const float*>(data); }
  const int64_t* i64() const { return static_cast<const int64_t*>(data); }
};

struct Arg {
  ArgKind kind = ArgKind::kNone;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<TRef> refs;  // one for kRef
  ArrayArg array;
  uint64_t array_offset = 0;  // writer: the array's byte offset in the data section
};

// One step: the builder named by `method` (engine/plan_builder.h) with positional arguments.
struct StepDesc {
  std::string method, name, op;  // op: the graph op when it names the step better ("" if not)
  std::vector<Arg> args;
};

struct TensorDesc {
  std::string name;
  std::string dtype = "float32";  // what the values mean; "int64" outputs hold exact integers
  std::vector<int64_t> shape;
};

struct ModelDesc {
  std::string producer;
  std::vector<TensorDesc> inputs, outputs;
  int64_t arena_floats = 0;
  const float* pool = nullptr;  // the constant pool (TRef buffer 1)
  int64_t pool_floats = 0;
  std::vector<StepDesc> steps;
};

class ModelWriter {
 public:
  void set_producer(std::string p) { desc_.producer = std::move(p); }
  void add_input(TensorDesc t) { desc_.inputs.push_back(std::move(t)); }
  void add_output(TensorDesc t) { desc_.outputs.push_back(std::move(t)); }
  void set_arena_floats(int64_t n) { desc_.arena_floats = n; }
  // Appends to the constant pool, padded to 16 floats as Plan::add_constant; returns its offset.
  int64_t add_pool_constant(const float* data, int64_t count);
  // Copies an array into the data section; the Arg records its offset there.
  Arg array(DType dtype, const void* data, std::vector<int64_t> shape);
  void add_step(StepDesc s) { desc_.steps.push_back(std::move(s)); }
  // The whole file.
  std::vector<uint8_t> finish();
  // The same file in a 64-byte aligned buffer, so the loader reads its arrays in place.
  std::vector<uint8_t, AlignedAllocator<uint8_t>> finish_aligned();

 private:
  ModelDesc desc_;
  std::vector<float> pool_;
  std::vector<uint8_t> data_;  // arrays, each padded to kModelAlign
};

// Validates a whole file and returns its description; arrays and the pool point into `data`,
// which must outlive the description.
ModelDesc parse_model_file(const void* data, size_t size);

uint64_t model_checksum(const uint8_t* p, size_t n);

}  // namespace ce
