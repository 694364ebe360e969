// The plan executor: a model compiled by the Python planner into a flat list of steps over
// tensors that live in one arena (activations), the plan's constant pool, the caller's inputs or
// the caller's outputs. The planner fixes shapes, layouts and buffer offsets; the builders
// (engine/plan_builder.h) make the steps from a compiled-model description, choosing algorithms
// for this CPU; run() is one call that executes every step. Steps are const: each run gets its own
// arena, so concurrent runs of one plan are safe.
//
// A tensor reference (TRef) is a strided view in the tensor's logical (ONNX) axis order:
// element i is at base(buf) + offset + sum(i[k] * strides[k]) floats. Channels-last tensors are
// those whose strides make C innermost (rank 3-5: (N, C, *spatial) with stride[C] == 1), which
// the conv-family steps require; generic steps (copy, binary, unary, softmax, matmul) take any
// strides, so Transpose, Slice and Split are views and never run.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/shared_weights.h"
#include "engine/tensor.h"
#include "engine/thread_pool.h"

namespace ce {

constexpr int kMaxRank = 8;

struct TRef {
  int buf = 0;  // 0 arena, 1 constants, 2 + i input i, 2 + n_inputs + j output j
  int64_t offset = 0;
  int rank = 0;
  int64_t shape[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
  int64_t numel() const;
  // Lowest and one-past-highest float offsets touched (relative to the buffer).
  void extent(int64_t* lo, int64_t* hi) const;
  std::string describe() const;
};

struct RunBuffers {
  std::vector<float*> base;  // indexed by TRef::buf
  float* at(const TRef& r) const { return base[r.buf] + r.offset; }
};

class Step {
 public:
  virtual ~Step() = default;
  virtual void run(const RunBuffers& b, ThreadPool& pool) const = 0;
  std::string name, op, algorithm;
  double flops = 0;  // 2 x MACs per run (direct algorithm)
  std::vector<TRef> reads, writes;  // every tensor the step touches, for the bounds checks
};

class Plan {
 public:
  // Input and output shapes (logical, contiguous row-major arrays as the caller passes them).
  Plan(std::vector<std::vector<int64_t>> input_shapes, std::vector<std::vector<int64_t>> output_shapes);
  // Copies `data` into the constant pool (64-byte aligned) and returns its offset in floats.
  int64_t add_constant(const float* data, int64_t count);
  void add_step(std::unique_ptr<Step> step);
  // Fixes the arena size and checks every step's tensors lie inside their buffers.
  void finalize(int64_t arena_floats);
  // inputs / outputs: contiguous float arrays of the planned shapes. times (optional) receives
  // seconds per step.
  void run(const std::vector<const float*>& inputs, const std::vector<float*>& outputs,
           ThreadPool& pool, std::vector<double>* times = nullptr) const;

  const std::vector<std::unique_ptr<Step>>& steps() const { return steps_; }
  // For plan-level rewrites between the last add_step and finalize (engine/steps_conv.h).
  std::vector<std::unique_ptr<Step>>& mutable_steps() { return steps_; }
  int64_t arena_floats() const { return arena_floats_; }
  int64_t constant_floats() const { return static_cast<int64_t>(consts_.size()); }
  int num_inputs() const { return static_cast<int>(in_shapes_.size()); }
  int num_outputs() const { return static_cast<int>(out_shapes_.size()); }
  // Runs of this plan take their arenas from `other`'s pool from now on (the plans of one
  // session). Thread safe with concurrent runs of either plan.
  void share_arenas(const Plan& other);
  // What errors call the plan ("the plan for input x [1, 3, 224, 224]"; build_plan sets it).
  const std::string& label() const { return label_; }
  void set_label(std::string s) { label_ = std::move(s); }

 private:
  std::vector<std::vector<int64_t>> in_shapes_, out_shapes_;
  std::string label_ = "the plan";
  PackedWeights consts_;  // shared (engine/shared_weights.h) once finalized
  std::vector<std::unique_ptr<Step>> steps_;
  int64_t arena_floats_ = -1;
  // Arenas of finished runs, taken by the next ones (one per run in flight, so concurrent runs
  // never share): a fresh multi-megabyte allocation is fresh pages, faulted in and zeroed by
  // the kernel on first touch, every run (resnet50 at batch 8: 15k page faults a run). Plans
  // of one session share a pool (share_arenas): a run takes the smallest free arena that is
  // large enough, so plans for eight input shapes run in about one arena, not eight.
  struct ArenaPool {
    std::mutex mu;
    std::vector<Buffer> free;
  };
  std::shared_ptr<ArenaPool> arenas_ = std::make_shared<ArenaPool>();
};

// The channels-last view of a (N, C, *spatial) TRef of rank 3-5; throws std::invalid_argument
// if its strides are not channels-last with a common pixel stride.
TensorView channels_last_view(const TRef& r, float* base);
bool is_channels_last(const TRef& r);

}  // namespace ce
