// Read-only weights shared by every plan in the process. Packed weights (and the constant
// pools, locally connected weights) are interned by content once an op has written them: the
// plans of one session (one per input shape) and the sessions of one model hold one copy of
// each. Sharing is decided by comparing bytes, so two buffers are shared only when equal; an
// op whose packing depends on the shape simply gets its own copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include "engine/buffer.h"

namespace ce {

// The process's copy of `b`'s contents: an existing buffer with the same bytes if one is alive,
// else `b` itself, registered for the next caller. Thread safe.
std::shared_ptr<const Buffer> share_weights(Buffer&& b);

struct SharedWeightsStats {
  size_t buffers = 0;  // distinct buffers alive
  size_t bytes = 0;    // their size
  uint64_t hits = 0;   // calls that returned an existing buffer, since the process started
  uint64_t calls = 0;
};
SharedWeightsStats shared_weights_stats();

// An op's packed weights: written once while the op is built (resize, data()), then share()
// swaps them for the process's copy; const access works either way. An op that never calls
// share() keeps its own buffer.
class PackedWeights {
 public:
  void resize(size_t n) {
    if (shared_) throw std::logic_error("PackedWeights: resized after share()");
    own_.resize(n);
  }
  float* data() {
    if (shared_) throw std::logic_error("PackedWeights: written after share()");
    return own_.data();
  }
  const float* data() const { return shared_ ? shared_->data() : own_.data(); }
  size_t size() const { return shared_ ? shared_->size() : own_.size(); }
  void share() {
    if (!shared_) shared_ = share_weights(std::move(own_));
    Buffer().swap(own_);
  }

 private:
  Buffer own_;
  std::shared_ptr<const Buffer> shared_;
};

}  // namespace ce
