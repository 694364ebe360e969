#include "engine/steps_math.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <utility>

#include "engine/dispatch.h"
#include "engine/strided.h"
#include "engine/thread_pool.h"

namespace ce {

namespace {

using native::MathParams;
using native::VBinaryFn;
using native::VMathFn;

void copy_kernel(size_t n, const float* x, float* y, const MathParams*) {
  if (x != y) std::memmove(y, x, n * sizeof(float));
}

void ones_kernel(size_t n, const float*, float* y, const MathParams*) { std::fill(y, y + n, 1.0f); }

// pow(x, e) for a constant e: the fast path's kernel and name, else C's pow (powc, e in alpha).
// 0.5 and -0.5 are sqrt and 1 / sqrt, as torch's x ** 0.5 and x ** -0.5.
// The ISA suffix of a kernel's name: k.isa for the compute-bound kernels, k.light_isa for the
// others (see MathKernels).
const char* kernel_isa(const MathKernels& k, VMathFn fn) {
  for (VMathFn f : {k.erf, k.gelu, k.gelu_tanh, k.mish, k.softplus, k.elu, k.exp, k.log, k.rsqrt})
    if (fn == f) return k.isa;
  return k.light_isa;
}

std::pair<VMathFn, const char*> pow_kernel(float e, const MathKernels& k) {
  const struct { float e; VMathFn fn; const char* name; } fast[] = {
      {2.0f, k.sqr, "sqr"},      {3.0f, k.cube, "cube"},     {0.5f, k.sqrt, "sqrt"},
      {-0.5f, k.rsqrt, "rsqrt"}, {-1.0f, k.recip, "recip"},  {1.0f, copy_kernel, "copy"},
      {0.0f, ones_kernel, "ones"}};
  for (const auto& f : fast)
    if (e == f.e) return {f.fn, f.name};
  return {k.powc, nullptr};
}

// ---------------------------------------------------------------------------------------------

class MathUnaryStep final : public Step {
 public:
  MathUnaryStep(const std::string& kind, float alpha, float beta, const TRef& x, const TRef& y)
      : x_(x), y_(y) {
    require_same_shape(x, y, "math input");
    const MathKernels& k = math_kernels();
    params_ = {alpha, beta, 1.0f};
    if (kind == "erf") fn_ = k.erf;
    else if (kind == "gelu") fn_ = k.gelu;
    else if (kind == "gelu_tanh") fn_ = k.gelu_tanh;
    else if (kind == "mish") fn_ = k.mish;
    else if (kind == "softplus") fn_ = k.softplus;
    else if (kind == "softsign") fn_ = k.softsign;
    else if (kind == "exp") fn_ = k.exp;
    else if (kind == "log") fn_ = k.log;
    else if (kind == "sqrt") fn_ = k.sqrt;
    else if (kind == "abs") fn_ = k.abs;
    else if (kind == "neg") fn_ = k.neg;
    else if (kind == "reciprocal") fn_ = k.recip;
    else if (kind == "sin") fn_ = k.sin;
    else if (kind == "cos") fn_ = k.cos;
    else if (kind == "thresholded_relu") fn_ = k.threshold;
    else if (kind == "elu") fn_ = k.elu, params_ = {alpha, 1.0f, 1.0f};
    else if (kind == "selu") fn_ = k.elu, params_ = {alpha * beta, beta, 1.0f};
    else if (kind == "celu") {
      if (alpha == 0.0f) throw std::invalid_argument("celu: alpha must not be 0");
      fn_ = k.elu, params_ = {alpha, 1.0f, 1.0f / alpha};
    } else if (kind == "pow") {
      const auto [fn, name] = pow_kernel(alpha, k);
      fn_ = fn;
      algorithm = name ? std::string("f32-v") + name + "-" + kernel_isa(k, fn) : "f32-vpowc-scalar";
    } else {
      throw std::invalid_argument("unknown element-wise math op '" + kind + "'");
    }
    if (kind != "pow") algorithm = std::string("f32-v") + kind + "-" + kernel_isa(k, fn_);
    if (fn_ == k.sin || fn_ == k.cos) algorithm = std::string("f32-v") + kind + "-scalar";
    reads = {x};
    writes = {y};
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    ScopedFlushDenormals ftz;
    const TRef* ops[2] = {&y_, &x_};
    const Iter<2> it = make_iter<2>(y_.shape, y_.rank, ops);
    float* const base[2] = {rb.at(y_), rb.at(x_)};
    for_pieces<2>(it, base, pool, [&](float* const* p, int64_t n, const int64_t* s) {
      if (s[0] == 1 && s[1] == 1) {
        fn_(n, p[1], p[0], &params_);
        return;
      }
      if (s[1] == 0) {  // one input value for the whole row
        float v;
        fn_(1, p[1], &v, &params_);
        for (int64_t i = 0; i < n; ++i) p[0][i * s[0]] = v;
        return;
      }
      through_tile(p, s, n, [&](float* t, int64_t m) { fn_(m, t, t, &params_); });
    });
  }

 private:
  TRef x_, y_;
  VMathFn fn_ = nullptr;
  MathParams params_{};
};

// y = f(a, b) row by row: vector-vector and vector-scalar kernels for contiguous rows, other
// strides through a gathered tile. in place (y == a) is allowed.
void binary_rows(const Iter<3>& it, float* const (&base)[3], ThreadPool& pool, VBinaryFn vv,
                 VBinaryFn vc, bool commutes, const MathParams& p) {
  for_pieces<3>(it, base, pool, [&](float* const* q, int64_t n, const int64_t* s) {
    float* y = q[0];
    const float* a = q[1];
    const float* b = q[2];
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) return vv(n, a, b, y, &p);
    if (s[0] == 1 && s[1] == 1 && s[2] == 0) return vc(n, a, b, y, &p);
    if (commutes && s[0] == 1 && s[1] == 0 && s[2] == 1) return vc(n, b, a, y, &p);
    float ta[kGatherTile], tb[kGatherTile];
    for (int64_t i0 = 0; i0 < n; i0 += kGatherTile) {
      const int64_t m = std::min(kGatherTile, n - i0);
      for (int64_t i = 0; i < m; ++i) ta[i] = a[(i0 + i) * s[1]];
      for (int64_t i = 0; i < m; ++i) tb[i] = b[(i0 + i) * s[2]];
      vv(m, ta, tb, ta, &p);
      for (int64_t i = 0; i < m; ++i) y[(i0 + i) * s[0]] = ta[i];
    }
  });
}

// a ^ b[0]: a run-time scalar exponent takes the constant's kernels.
void pow_c(size_t n, const float* a, const float* b, float* y, const MathParams*) {
  const MathParams e{b[0], 0.0f, 0.0f};
  pow_kernel(b[0], math_kernels()).first(n, a, y, &e);
}

class MathBinaryStep final : public Step {
 public:
  MathBinaryStep(const std::string& kind, const TRef& a, const TRef& b, const TRef& y)
      : a_(a), b_(b), y_(y) {
    require_same_shape(a, y, "math operand a");
    require_same_shape(b, y, "math operand b");
    const MathKernels& k = math_kernels();
    if (kind == "prelu") {
      vv_ = k.prelu, vc_ = k.preluc;
      algorithm = std::string("f32-vprelu-") + k.light_isa;
    } else if (kind == "pow") {
      vv_ = k.pow, vc_ = pow_c;
      algorithm = "f32-vpow-scalar";
    } else {
      throw std::invalid_argument("unknown binary math op '" + kind + "'");
    }
    reads = {a, b};
    writes = {y};
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    ScopedFlushDenormals ftz;
    const TRef* ops[3] = {&y_, &a_, &b_};
    const Iter<3> it = make_iter<3>(y_.shape, y_.rank, ops);
    float* const base[3] = {rb.at(y_), rb.at(a_), rb.at(b_)};
    binary_rows(it, base, pool, vv_, vc_, false, MathParams{1.0f, 0.0f, 0.0f});
  }

 private:
  TRef a_, b_, y_;
  VBinaryFn vv_ = nullptr, vc_ = nullptr;
};

class VariadicStep final : public Step {
 public:
  VariadicStep(const std::string& kind, const std::vector<TRef>& ins, const TRef& y)
      : ins_(ins), y_(y), mean_(kind == "mean") {
    if (ins.empty()) throw std::invalid_argument(kind + ": needs at least one input");
    for (const TRef& t : ins) require_same_shape(t, y, "variadic input");
    const MathKernels& k = math_kernels();
    if (kind == "min") vv_ = k.min, vc_ = k.minc;
    else if (kind == "max") vv_ = k.max, vc_ = k.maxc;
    else if (kind == "sum" || kind == "mean") vv_ = k.add, vc_ = k.addc;
    else throw std::invalid_argument("unknown variadic op '" + kind + "'");
    algorithm = std::string("f32-v") + (kind == "min" || kind == "max" ? kind : "add") + "-" + k.light_isa;
    reads = ins;
    writes = {y};
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    ScopedFlushDenormals ftz;
    const size_t n = ins_.size();
    if (n == 1) {  // the input itself (a mean of one)
      const TRef* ops[3] = {&y_, &ins_[0], &ins_[0]};
      const Iter<3> it = make_iter<3>(y_.shape, y_.rank, ops);
      float* const base[3] = {rb.at(y_), rb.at(ins_[0]), rb.at(ins_[0])};
      const MathKernels& k = math_kernels();
      // max(x, x) is x, NaN included
      binary_rows(it, base, pool, k.max, k.maxc, true, MathParams{1.0f, 0.0f, 0.0f});
      return;
    }
    for (size_t j = 1; j < n; ++j) {
      const TRef& a = j == 1 ? ins_[0] : y_;
      const TRef* ops[3] = {&y_, &a, &ins_[j]};
      const Iter<3> it = make_iter<3>(y_.shape, y_.rank, ops);
      float* const base[3] = {rb.at(y_), rb.at(a), rb.at(ins_[j])};
      const float scale = mean_ && j == n - 1 ? 1.0f / static_cast<float>(n) : 1.0f;
      binary_rows(it, base, pool, vv_, vc_, true, MathParams{scale, 0.0f, 0.0f});
    }
  }

 private:
  std::vector<TRef> ins_;
  TRef y_;
  bool mean_;
  VBinaryFn vv_ = nullptr, vc_ = nullptr;
};

class LogSoftmaxStep final : public Step {
 public:
  LogSoftmaxStep(int axis, const TRef& x, const TRef& y) : axis_(axis), x_(x), y_(y) {
    require_same_shape(x, y, "log-softmax input");
    if (axis < 0 || axis >= x.rank) throw std::invalid_argument("log-softmax: axis out of range");
    reads = {x};
    writes = {y};
    algorithm = "strided";
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const int64_t len = x_.shape[axis_], sx = x_.strides[axis_], sy = y_.strides[axis_];
    for_slices(axis_, x_, rb.at(x_), y_, rb.at(y_), pool, [&](const float* x, float* y) {
      float m = -INFINITY;
      bool nan = false;
      for (int64_t j = 0; j < len; ++j) {
        const float v = x[j * sx];
        nan |= v != v;
        m = std::max(m, v);
      }
      double sum = 0.0;
      for (int64_t j = 0; j < len; ++j) sum += std::exp(static_cast<double>(x[j * sx]) - m);
      const double shift = nan ? NAN : m + std::log(sum);
      for (int64_t j = 0; j < len; ++j) y[j * sy] = static_cast<float>(x[j * sx] - shift);
    });
  }

 private:
  int axis_;
  TRef x_, y_;
};

class BinaryStep final : public StridedBinaryStep {
 public:
  BinaryStep(BinaryKind k, const TRef& a, const TRef& b, const TRef& out)
      : StridedBinaryStep(a, b, out), kind_(k) {}
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    switch (kind_) {
      case BinaryKind::kAdd: return map_elements(rb, pool, [](float x, float y) { return x + y; });
      case BinaryKind::kSub: return map_elements(rb, pool, [](float x, float y) { return x - y; });
      case BinaryKind::kMul: return map_elements(rb, pool, [](float x, float y) { return x * y; });
      case BinaryKind::kDiv: return map_elements(rb, pool, [](float x, float y) { return x / y; });
    }
  }

 private:
  BinaryKind kind_;
};

class UnaryStep final : public StridedUnaryStep {
 public:
  UnaryStep(const Activation& act, const TRef& x, const TRef& out)
      : StridedUnaryStep(x, out), ep_(act) {}
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    map_rows(rb, pool, [&](const float* x, float* y, int64_t n) {
      if (x != y) std::memmove(y, x, n * sizeof(float));  // a hostile file may overlap them
      ep_.apply(y, 1, n, 0, nullptr, 0);
    });
  }

 private:
  Epilogue ep_;
};

class SoftmaxStep final : public Step {
 public:
  SoftmaxStep(int axis, const TRef& x, const TRef& out) : axis_(axis), x_(x), out_(out) {
    require_same_shape(x, out, "softmax input");
    if (axis < 0 || axis >= x.rank) throw std::invalid_argument("softmax: axis out of range");
    reads = {x};
    writes = {out};
    // Rows contiguous along the axis (attention scores): the dispatched exp kernel over each row.
    const int64_t len = x.shape[axis];
    rows_ = len == 1 || (x.strides[axis] == 1 && out.strides[axis] == 1);
    algorithm = rows_ ? "rows" : "strided";
  }
  // The kernel of the level the step was built at (a session keeps its level).
  const native::SoftmaxRowsFn rows_fn_ = nn_kernels().softmax_rows;
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const int64_t len = x_.shape[axis_], sx = x_.strides[axis_], so = out_.strides[axis_];
    if (rows_) {
      // A NaN or +inf (or a row of -inf) makes its row NaN, as the strided loop does.
      for_slices(axis_, x_, rb.at(x_), out_, rb.at(out_), pool,
                 [&](const float* x, float* o) { rows_fn_(1, len, x, len, o, len); });
      return;
    }
    for_slices(axis_, x_, rb.at(x_), out_, rb.at(out_), pool, [&](const float* x, float* o) {
      float m = -INFINITY;
      for (int64_t j = 0; j < len; ++j) m = std::max(m, x[j * sx]);
      double sum = 0.0;
      for (int64_t j = 0; j < len; ++j) {
        const float e = std::exp(x[j * sx] - m);
        o[j * so] = e;
        sum += e;
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j < len; ++j) o[j * so] *= inv;
    });
  }

 private:
  int axis_;
  bool rows_ = false;
  TRef x_, out_;
};

}  // namespace

std::unique_ptr<Step> make_binary_step(BinaryKind kind, const TRef& a, const TRef& b,
                                       const TRef& out) {
  return std::make_unique<BinaryStep>(kind, a, b, out);
}

std::unique_ptr<Step> make_unary_step(const Activation& act, const TRef& x, const TRef& out) {
  return std::make_unique<UnaryStep>(act, x, out);
}

std::unique_ptr<Step> make_softmax_step(int axis, const TRef& x, const TRef& out) {
  return std::make_unique<SoftmaxStep>(axis, x, out);
}

std::unique_ptr<Step> make_math_unary_step(const std::string& kind, float alpha, float beta,
                                           const TRef& x, const TRef& y) {
  return std::make_unique<MathUnaryStep>(kind, alpha, beta, x, y);
}

std::unique_ptr<Step> make_math_binary_step(const std::string& kind, const TRef& a,
                                            const TRef& b, const TRef& y) {
  return std::make_unique<MathBinaryStep>(kind, a, b, y);
}

std::unique_ptr<Step> make_variadic_step(const std::string& kind, const std::vector<TRef>& ins,
                                         const TRef& y) {
  return std::make_unique<VariadicStep>(kind, ins, y);
}

std::unique_ptr<Step> make_log_softmax_step(int axis, const TRef& x, const TRef& y) {
  return std::make_unique<LogSoftmaxStep>(axis, x, y);
}

}  // namespace ce
