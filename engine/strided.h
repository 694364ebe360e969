// Helpers for plan steps (the engine/steps_*.cpp files and the ops' own step files): tensor
// checks, the generic strided iteration that element-wise, copy and reduction steps share, the
// bases of the element-wise unary and binary steps, and the step that runs a one-input engine
// operator on channels-last views.
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <memory>

#include "engine/plan.h"
#include "engine/thread_pool.h"

namespace ce {

inline void require_cl(const TRef& r, const char* what) {
  if (!is_channels_last(r))
    throw std::invalid_argument(std::string("plan: ") + what + " must be channels-last: " + r.describe());
}

// ---------------------------------------------------------------------------------------------
// Generic strided iteration over N operands of one shape: size-1 axes dropped, the rest in the
// memory order of operand 0 (the output: largest stride outermost, so a channels-last tensor
// runs C innermost, not W), adjacent axes merged when every operand is contiguous across them;
// rows of the last axis go to `fn`.

template <int N>
struct Iter {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t st[N][kMaxRank];
};

template <int N>
inline Iter<N> make_iter(const int64_t* shape, int rank, const TRef* const (&ops)[N]) {
  int axes[kMaxRank];
  int na = 0;
  for (int i = 0; i < rank; ++i)
    if (shape[i] != 1) axes[na++] = i;
  const int64_t* out_st = ops[0]->strides;
  std::stable_sort(axes, axes + na, [&](int a, int b) {
    const int64_t sa = out_st[a] < 0 ? -out_st[a] : out_st[a];
    const int64_t sb = out_st[b] < 0 ? -out_st[b] : out_st[b];
    return sa > sb;
  });
  Iter<N> it;
  for (int j = 0; j < na; ++j) {
    const int i = axes[j];
    const int k = it.rank;
    bool merge = k > 0;
    for (int o = 0; o < N && merge; ++o)
      merge = it.st[o][k - 1] == ops[o]->strides[i] * shape[i];
    if (merge) {
      it.shape[k - 1] *= shape[i];
      for (int o = 0; o < N; ++o) it.st[o][k - 1] = ops[o]->strides[i];
      continue;
    }
    it.shape[k] = shape[i];
    for (int o = 0; o < N; ++o) it.st[o][k] = ops[o]->strides[i];
    ++it.rank;
  }
  if (it.rank == 0) {
    it.rank = 1;
    it.shape[0] = 1;
    for (int o = 0; o < N; ++o) it.st[o][0] = 1;
  }
  return it;
}

constexpr int64_t kParallelElements = 1 << 15;

// An iteration as rows of its last axis: `rows` rows of `len` elements, operand o moving by
// inner[o] along a row; at(row, p) points p[o] at operand o's first element of that row.
template <int N>
struct Rows {
  const Iter<N>& it;
  float* const (&base)[N];
  int64_t len, rows = 1, inner[N];

  Rows(const Iter<N>& i, float* const (&b)[N]) : it(i), base(b), len(i.shape[i.rank - 1]) {
    for (int a = 0; a < i.rank - 1; ++a) rows *= i.shape[a];
    for (int o = 0; o < N; ++o) inner[o] = i.st[o][i.rank - 1];
  }
  void at(int64_t row, float** p) const {
    for (int o = 0; o < N; ++o) p[o] = base[o];
    for (int a = it.rank - 2; a >= 0; --a) {
      const int64_t idx = row % it.shape[a];
      row /= it.shape[a];
      for (int o = 0; o < N; ++o) p[o] += idx * it.st[o][a];
    }
  }
  // fn(p, len, inner) for rows r0 .. r1 - 1: the first row's pointers by division, the next
  // ones by stepping the row index like an odometer (rows of a few elements, such as the
  // innermost axes of a patch transpose, spent ~100 cycles each in at()'s divisions).
  template <class F>
  void each(int64_t r0, int64_t r1, const F& fn) const {
    if (r0 >= r1) return;
    float* p[N];
    at(r0, p);
    int64_t idx[kMaxRank];
    int64_t rem = r0;
    for (int a = it.rank - 2; a >= 0; --a) {
      idx[a] = rem % it.shape[a];
      rem /= it.shape[a];
    }
    for (int64_t row = r0;;) {
      fn(p, len, inner);
      if (++row == r1) return;
      for (int a = it.rank - 2; a >= 0; --a) {  // pointers stay on elements of the operands
        if (++idx[a] < it.shape[a]) {
          for (int o = 0; o < N; ++o) p[o] += it.st[o][a];
          break;
        }
        idx[a] = 0;
        for (int o = 0; o < N; ++o) p[o] -= it.st[o][a] * (it.shape[a] - 1);
      }
    }
  }
};

template <int N, class F>
inline void for_rows(const Iter<N>& it, float* const (&base)[N], ThreadPool& pool, const F& fn) {
  const Rows<N> rw(it, base);
  auto do_rows = [&](int64_t r0, int64_t r1) { rw.each(r0, r1, fn); };
  const int64_t rows = rw.rows, total = rows * rw.len;
  if (pool.num_threads() == 1 || total < kParallelElements || rows == 1) {
    do_rows(0, rows);
    return;
  }
  const int64_t chunks = std::min<int64_t>(rows, 8 * pool.num_threads());
  pool.parallel_for(chunks, [&](size_t c) {
    do_rows(rows * c / chunks, rows * (c + 1) / chunks);
  });
}

// Floats per task of for_pieces on several threads: ~4 microseconds of a transcendental
// kernel, long enough to hide the task hand-out.
constexpr int64_t kTaskElements = 8192;

// for_rows for costly per-element kernels: when the rows are fewer than the tasks the pool
// wants (one contiguous tensor is a single row), each row is cut into pieces of about
// kTaskElements.
template <int N, class F>
void for_pieces(const Iter<N>& it, float* const (&base)[N], ThreadPool& pool, const F& fn) {
  const Rows<N> rw(it, base);
  const int64_t rows = rw.rows, len = rw.len;
  const int64_t total = rows * len;
  const int threads = pool.num_threads();
  if (threads == 1 || total < kParallelElements) {
    rw.each(0, rows, fn);
    return;
  }
  const int64_t target = std::max<int64_t>(kTaskElements, total / (16 * threads));
  if (len > target) {  // pieces of rows
    const int64_t pieces = (len + target - 1) / target;
    pool.parallel_for(rows * pieces, [&](size_t t) {
      const int64_t row = t / pieces, k = t % pieces;
      const int64_t c0 = len * k / pieces, c1 = len * (k + 1) / pieces;
      float* p[N];
      rw.at(row, p);
      for (int o = 0; o < N; ++o) p[o] += c0 * rw.inner[o];
      fn(p, c1 - c0, rw.inner);
    });
    return;
  }
  const int64_t per = std::max<int64_t>(1, target / len);
  pool.parallel_for((rows + per - 1) / per, [&](size_t t) {
    const int64_t r0 = t * per, r1 = std::min(rows, r0 + per);
    rw.each(r0, r1, fn);
  });
}

// Strided rows through a buffer of this many floats (gather, kernel, scatter).
constexpr int64_t kGatherTile = 256;

// A row of a unary iteration (p[0] the output, p[1] the input, strides s) through a buffer:
// kernel(tile, m) applies f in place to gathered tiles of m <= kGatherTile floats.
template <class K>
inline void through_tile(float* const* p, const int64_t* s, int64_t n, const K& kernel) {
  alignas(64) float tmp[kGatherTile];
  for (int64_t i0 = 0; i0 < n; i0 += kGatherTile) {
    const int64_t m = std::min(kGatherTile, n - i0);
    for (int64_t i = 0; i < m; ++i) tmp[i] = p[1][(i0 + i) * s[1]];
    kernel(tmp, m);
    for (int64_t i = 0; i < m; ++i) p[0][(i0 + i) * s[0]] = tmp[i];
  }
}

// body(t) for t < n: inline when `serial`, else on the pool.
template <class F>
inline void run_tasks(ThreadPool& pool, bool serial, int64_t n, const F& body) {
  if (serial) {
    for (int64_t t = 0; t < n; ++t) body(t);
  } else {
    pool.parallel_for(n, body);
  }
}

// fn(x, y) for every 1-D slice along `axis` of x and y (one shape), given the slices' first
// elements (along a slice x moves by x.strides[axis], y by y.strides[axis]); the slices run in
// parallel when there are enough elements.
template <class F>
inline void for_slices(int axis, const TRef& x, const float* xb, const TRef& y, float* yb,
                       ThreadPool& pool, const F& fn) {
  TRef xo = x;
  xo.shape[axis] = 1;
  const int64_t outer = xo.numel();
  run_tasks(pool, outer * x.shape[axis] < kParallelElements, outer, [&](size_t i) {
    int64_t rem = i, xoff = 0, yoff = 0;
    for (int a = x.rank - 1; a >= 0; --a) {
      const int64_t k = rem % xo.shape[a];
      rem /= xo.shape[a];
      xoff += k * x.strides[a];
      yoff += k * y.strides[a];
    }
    fn(xb + xoff, yb + yoff);
  });
}

inline void require_same_shape(const TRef& a, const TRef& out, const char* what) {
  if (a.rank != out.rank || !std::equal(a.shape, a.shape + a.rank, out.shape))
    throw std::invalid_argument(std::string("plan: ") + what + " shape differs from the output: " +
                                a.describe() + " vs " + out.describe());
}

// ---------------------------------------------------------------------------------------------
// Element-wise steps on any strides, the inputs viewed with the output's shape: the unary and
// binary steps of the op families derive from these and pick f in run().

// out = f(x)
class StridedUnaryStep : public Step {
 protected:
  StridedUnaryStep(const TRef& x, const TRef& out, const char* what = "unary input")
      : x_(x), out_(out) {
    require_same_shape(x, out, what);
    reads = {x};
    writes = {out};
    algorithm = "strided";
  }

  // fn(p, n, s) on every row: p[0], s[0] the output's, p[1], s[1] the input's.
  template <class F>
  void for_each_row(const RunBuffers& rb, ThreadPool& pool, const F& fn) const {
    const TRef* ops[2] = {&out_, &x_};
    const Iter<2> it = make_iter<2>(out_.shape, out_.rank, ops);
    float* const base[2] = {rb.at(out_), rb.at(x_)};
    for_rows<2>(it, base, pool, fn);
  }

  // kernel(x, y, n) on contiguous rows (y may be x); other rows through a tile, in place.
  template <class K>
  void map_rows(const RunBuffers& rb, ThreadPool& pool, const K& kernel) const {
    for_each_row(rb, pool, [&](float* const* p, int64_t n, const int64_t* s) {
      if (s[0] == 1 && s[1] == 1) {
        kernel(p[1], p[0], n);
        return;
      }
      through_tile(p, s, n, [&](float* t, int64_t m) { kernel(t, t, m); });
    });
  }

  TRef x_, out_;
};

// out = f(a, b)

class StridedBinaryStep : public Step {
 protected:
  StridedBinaryStep(const TRef& a, const TRef& b, const TRef& out) : a_(a), b_(b), out_(out) {
    require_same_shape(a, out, "binary operand a");
    require_same_shape(b, out, "binary operand b");
    reads = {a, b};
    writes = {out};
    algorithm = "strided";
  }

  // Contiguous rows, and rows where one operand is a broadcast value, take plain loops the
  // compiler vectorises.
  template <class F>
  void map_elements(const RunBuffers& rb, ThreadPool& pool, const F& f) const {
    const TRef* ops[3] = {&out_, &a_, &b_};
    const Iter<3> it = make_iter<3>(out_.shape, out_.rank, ops);
    float* const base[3] = {rb.at(out_), rb.at(a_), rb.at(b_)};
    for_rows<3>(it, base, pool, [&](float* const* p, int64_t n, const int64_t* s) {
      float* o = p[0];
      const float* x = p[1];
      const float* y = p[2];
      if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
        for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
      } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
        const float v = *y;
        for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], v);
      } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
        const float v = *x;
        for (int64_t i = 0; i < n; ++i) o[i] = f(v, y[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(x[i * s[1]], y[i * s[2]]);
      }
    });
  }

  TRef a_, b_, out_;
};

// ---------------------------------------------------------------------------------------------
// One-input, one-output engine operator on channels-last views.
template <class Op>
class ViewStep final : public Step {
 public:
  ViewStep(std::unique_ptr<Op> op, const TRef& in, const TRef& out, const char* algo, double fl)
      : op_(std::move(op)), in_(in), out_(out) {
    require_cl(in, "input");
    require_cl(out, "output");
    reads.push_back(in);
    writes.push_back(out);
    algorithm = algo;
    flops = fl;
  }
  void run(const RunBuffers& b, ThreadPool& pool) const override {
    op_->forward(channels_last_view(in_, b.base[in_.buf]), channels_last_view(out_, b.base[out_.buf]),
                 pool);
  }

 private:
  std::unique_ptr<Op> op_;
  TRef in_, out_;
};

}  // namespace ce
