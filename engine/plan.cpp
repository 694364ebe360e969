#include "engine/plan.h"

#include "engine/debug.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace ce {

int64_t TRef::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= shape[i];
  return n;
}

void TRef::extent(int64_t* lo, int64_t* hi) const {
  int64_t a = offset, b = offset;
  if (numel() == 0) {
    *lo = *hi = offset;
    return;
  }
  for (int i = 0; i < rank; ++i) {
    const int64_t span = (shape[i] - 1) * strides[i];
    if (span < 0) a += span;
    else b += span;
  }
  *lo = a;
  *hi = b + 1;
}

std::string TRef::describe() const {
  std::ostringstream os;
  os << "buf " << buf << " +" << offset << " shape (";
  for (int i = 0; i < rank; ++i) os << shape[i] << (i + 1 < rank ? "," : "");
  os << ") strides (";
  for (int i = 0; i < rank; ++i) os << strides[i] << (i + 1 < rank ? "," : "");
  os << ")";
  return os.str();
}

bool is_channels_last(const TRef& r) {
  if (r.rank < 3 || r.rank > 5 || (r.shape[1] > 1 && r.strides[1] != 1)) return false;
  int64_t expect = r.shape[1] > 1 ? 0 : -1;  // pixel stride, fixed by the innermost spatial axis
  int64_t ps = 0;
  for (int i = r.rank - 1; i >= 2; --i) {
    if (r.shape[i] == 1) continue;
    if (ps == 0) {
      ps = r.strides[i];
      if (ps < r.shape[1]) return false;
      expect = ps * r.shape[i];
      continue;
    }
    if (r.strides[i] != expect) return false;
    expect *= r.shape[i];
  }
  (void)expect;
  return true;
}

TensorView channels_last_view(const TRef& r, float* base) {
  if (!is_channels_last(r))
    throw std::invalid_argument("plan: tensor is not channels-last: " + r.describe());
  TensorView v;
  v.data = base + r.offset;
  v.n = r.shape[0];
  v.c = r.shape[1];
  int64_t sp[3] = {1, 1, 1};
  const int nsp = r.rank - 2;
  for (int i = 0; i < nsp; ++i) sp[3 - nsp + i] = r.shape[2 + i];
  v.d = sp[0], v.h = sp[1], v.w = sp[2];
  // Pixel stride: the stride of the innermost spatial axis with size > 1 (c if none).
  int64_t ps = 0;
  for (int i = r.rank - 1; i >= 2 && !ps; --i)
    if (r.shape[i] > 1) ps = r.strides[i];
  v.pixel_stride = ps ? ps : r.shape[1];
  if (v.n > 1 && r.strides[0] != v.pixels() * v.ps())
    throw std::invalid_argument("plan: images of a channels-last tensor are not packed: " + r.describe());
  return v;
}

Plan::Plan(std::vector<std::vector<int64_t>> input_shapes, std::vector<std::vector<int64_t>> output_shapes)
    : in_shapes_(std::move(input_shapes)), out_shapes_(std::move(output_shapes)) {}

int64_t Plan::add_constant(const float* data, int64_t count) {
  if (arena_floats_ >= 0) throw std::logic_error("plan: already finalized");
  const int64_t off = static_cast<int64_t>(consts_.size());
  const int64_t padded = (count + 15) / 16 * 16;
  consts_.resize(off + padded);
  if (count) std::memcpy(consts_.data() + off, data, count * sizeof(float));
  std::memset(consts_.data() + off + count, 0, (padded - count) * sizeof(float));
  return off;
}

void Plan::add_step(std::unique_ptr<Step> step) {
  if (arena_floats_ >= 0) throw std::logic_error("plan: already finalized");
  steps_.push_back(std::move(step));
}

namespace {
int64_t numel_of(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}
}  // namespace

void Plan::finalize(int64_t arena_floats) {
  if (arena_floats < 0) throw std::invalid_argument("plan: negative arena size");
  const int ni = num_inputs();
  for (const auto& st : steps_)
    for (const TRef& r : st->writes)
      if (r.buf == 1 || (r.buf >= 2 && r.buf - 2 < ni))
        throw std::invalid_argument("plan: step " + st->name + " writes into an input or constant");
  for (const auto& st : steps_)
    for (const auto* list : {&st->reads, &st->writes})
      for (const TRef& r : *list) {
      int64_t size;
      if (r.rank < 0 || r.rank > kMaxRank) throw std::invalid_argument("plan: bad tensor rank");
      if (r.buf < 0) throw std::invalid_argument("plan: negative buffer index");
      if (r.buf == 0) size = arena_floats;
      else if (r.buf == 1) size = constant_floats();
      else if (r.buf - 2 < ni) size = numel_of(in_shapes_[r.buf - 2]);
      else if (r.buf - 2 - ni < num_outputs()) size = numel_of(out_shapes_[r.buf - 2 - ni]);
      else throw std::invalid_argument("plan: step " + st->name + " names buffer " + std::to_string(r.buf));
      int64_t lo, hi;
      r.extent(&lo, &hi);
      if (r.numel() && (lo < 0 || hi > size))
        throw std::invalid_argument("plan: step " + st->name + " reaches outside its buffer: " +
                                    r.describe() + " size " + std::to_string(size));
      }
  consts_.share();
  arena_floats_ = arena_floats;
}

void Plan::run(const std::vector<const float*>& inputs, const std::vector<float*>& outputs,
               ThreadPool& pool, std::vector<double>* times) const {
  if (arena_floats_ < 0) throw std::logic_error("plan: run before finalize");
  if (static_cast<int>(inputs.size()) != num_inputs() || static_cast<int>(outputs.size()) != num_outputs())
    throw std::invalid_argument("plan: wrong number of inputs or outputs");
  const size_t need = static_cast<size_t>(arena_floats_) + 16;
  Buffer arena;
  const std::shared_ptr<ArenaPool> arenas = std::atomic_load(&arenas_);
  {
    // The smallest free arena that fits; if none fits, the largest is replaced by a new one.
    std::lock_guard<std::mutex> lock(arenas->mu);
    auto& fr = arenas->free;
    size_t pick = fr.size();
    for (size_t i = 0; i < fr.size(); ++i)
      if (fr[i].size() >= need && (pick == fr.size() || fr[i].size() < fr[pick].size())) pick = i;
    if (pick == fr.size())
      for (size_t i = 0; i < fr.size(); ++i)
        if (pick == fr.size() || fr[i].size() > fr[pick].size()) pick = i;
    if (pick < fr.size()) {
      arena = std::move(fr[pick]);
      fr.erase(fr.begin() + static_cast<std::ptrdiff_t>(pick));
    }
  }
  if (arena.size() < need) {
    Buffer().swap(arena);  // freed before the larger one is allocated
    try {
      Buffer(need).swap(arena);
    } catch (const std::bad_alloc& e) {
      rethrow_out_of_memory(label_ + ": the activation arena", e);
    }
  }
  RunBuffers b;
  b.base.push_back(arena.data());
  b.base.push_back(const_cast<float*>(consts_.data()));
  for (const float* p : inputs) b.base.push_back(const_cast<float*>(p));
  for (float* p : outputs) b.base.push_back(p);
  if (debug_nan()) {
    poison(arena.data(), arena.size());
    for (int j = 0; j < num_outputs(); ++j) poison(outputs[j], numel_of(out_shapes_[j]));
  }
  if (times) times->assign(steps_.size(), 0.0);
  for (size_t i = 0; i < steps_.size(); ++i) {
    try {
      if (times) {
        const auto t0 = std::chrono::steady_clock::now();
        steps_[i]->run(b, pool);
        (*times)[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      } else {
        steps_[i]->run(b, pool);
      }
    } catch (const std::bad_alloc& e) {  // a step's scratch buffer
      const Step& st = *steps_[i];
      rethrow_out_of_memory(label_ + ": step " + st.name + (st.op.empty() ? "" : " (" + st.op + ")"), e);
    }
  }
  std::lock_guard<std::mutex> lock(arenas->mu);
  arenas->free.push_back(std::move(arena));
}

void Plan::share_arenas(const Plan& other) {
  if (&other == this) return;
  std::atomic_store(&arenas_, std::atomic_load(&other.arenas_));
}

}  // namespace ce
