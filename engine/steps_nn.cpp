#include "engine/steps_nn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "engine/strided.h"

namespace ce {

namespace {

using native::ReduceOp;

// ---------------------------------------------------------------------------------------------
// Reduction geometry: the input's axes of size > 1 split into kept and reduced ones, each group
// in memory order (largest stride first) and merged where contiguous (in x and, for kept axes,
// in the output too). The reduction is "vertical" when the innermost axis in memory is a kept
// one (a vector holds neighbouring outputs: channels-last tensors reduced over their pixels),
// "horizontal" when it is reduced (a vector holds elements of one output).

struct Geom {
  int nk = 0, nr = 0;
  int64_t ks[kMaxRank], kx[kMaxRank], ko[kMaxRank];  // kept: size, x stride, out / y stride
  int64_t rs[kMaxRank], rx[kMaxRank], ry[kMaxRank];  // reduced: size, x stride, y stride
  int64_t K = 1, R = 1;
  bool vertical = false;
  // stats[a]: stride of original axis a in the kept-linear (statistics) index; 0 when reduced
  int64_t stats[kMaxRank] = {};

  // offset of kept-linear index k in x and in the second operand
  void kept_offsets(int64_t k, int64_t* xo, int64_t* oo) const {
    offsets(k, nk, ks, kx, ko, xo, oo);
  }
  // x / y offsets of reduced row r (every reduced axis but the innermost)
  void row_offsets(int64_t r, int64_t* xo, int64_t* yo) const {
    offsets(r, nr - 1, rs, rx, ry, xo, yo);
  }
  int64_t row_len() const { return rs[nr - 1]; }
  int64_t rows() const { return R / rs[nr - 1]; }

 private:
  // offsets in the two operands of linear index i over the first n axes of a group
  static void offsets(int64_t i, int n, const int64_t* size, const int64_t* s1, const int64_t* s2,
                      int64_t* o1, int64_t* o2) {
    int64_t a = 0, b = 0;
    for (int d = n - 1; d >= 0; --d) {
      const int64_t j = i % size[d];
      i /= size[d];
      a += j * s1[d];
      b += j * s2[d];
    }
    *o1 = a;
    *o2 = b;
  }
};

int64_t absl(int64_t v) { return v < 0 ? -v : v; }

// o: strides of the second operand for every axis (the output of a reduction: only its kept
// axes are used; y of a normalisation: all axes).
Geom make_geom(const TRef& x, uint32_t mask, const int64_t* o) {
  Geom g;
  int kept[kMaxRank], red[kMaxRank], nk = 0, nr = 0;
  for (int a = 0; a < x.rank; ++a) {
    if (x.shape[a] == 1) continue;
    if (mask >> a & 1) red[nr++] = a;
    else kept[nk++] = a;
  }
  auto by_stride = [&](int a, int b) { return absl(x.strides[a]) > absl(x.strides[b]); };
  std::stable_sort(kept, kept + nk, by_stride);
  std::stable_sort(red, red + nr, by_stride);
  int64_t s = 1;
  for (int i = nk - 1; i >= 0; --i) {
    g.stats[kept[i]] = s;
    s *= x.shape[kept[i]];
  }
  // appends axis a to a group (count n, sizes, x and second-operand strides, product of the
  // sizes), merged into the group's last axis when both strides continue it
  auto append = [&](int a, int& n, int64_t* size, int64_t* sx, int64_t* so, int64_t& prod) {
    if (n > 0 && sx[n - 1] == x.strides[a] * x.shape[a] && so[n - 1] == o[a] * x.shape[a]) {
      size[n - 1] *= x.shape[a];
      sx[n - 1] = x.strides[a];
      so[n - 1] = o[a];
    } else {
      size[n] = x.shape[a], sx[n] = x.strides[a], so[n] = o[a];
      ++n;
    }
    prod *= x.shape[a];
  };
  for (int i = 0; i < nk; ++i) append(kept[i], g.nk, g.ks, g.kx, g.ko, g.K);
  for (int i = 0; i < nr; ++i) append(red[i], g.nr, g.rs, g.rx, g.ry, g.R);
  if (g.nr == 0) {  // every element is its own group: one reduced axis of size 1
    g.rs[0] = 1, g.rx[0] = 1, g.ry[0] = 1;
    g.nr = 1;
  }
  if (g.nk == 0) {
    g.ks[0] = 1, g.kx[0] = 0, g.ko[0] = 0;
    g.nk = 1;
  }
  g.vertical = g.K > 1 && (g.R == 1 || absl(g.kx[g.nk - 1]) < absl(g.rx[g.nr - 1]));
  return g;
}

// Work split: `parts` pieces of the reduced rows when there are too few independent outputs
// to keep the threads busy.
int64_t split_parts(int64_t tasks, int64_t rows, int64_t elements, int threads) {
  if (threads <= 1 || tasks >= 4 * threads || elements < (int64_t{1} << 16)) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(rows, 4 * threads / std::max<int64_t>(tasks, 1)));
}

constexpr int64_t kGather = 1024;  // floats gathered per call when a row is not contiguous
constexpr int64_t kColumns = 1024;  // columns per task of a vertical pass


float identity(ReduceOp op) {
  const float inf = std::numeric_limits<float>::infinity();
  return op == ReduceOp::kMax ? -inf : op == ReduceOp::kMin ? inf : op == ReduceOp::kProd ? 1.0f : 0.0f;
}

double combine(ReduceOp op, double a, double b) {
  switch (op) {
    case ReduceOp::kMax: return a != a || b != b ? (a != a ? a : b) : std::max(a, b);
    case ReduceOp::kMin: return a != a || b != b ? (a != a ? a : b) : std::min(a, b);
    case ReduceOp::kProd: return a * b;
    default: return a + b;
  }
}

// Calls fn(x offset, count) for the reduced positions [e0, e1) of the linearised (row, i)
// space, in pieces of at most `most` along the innermost reduced axis (never across rows).
template <class F>
void segments(const Geom& g, int64_t e0, int64_t e1, int64_t most, const F& fn) {
  const int64_t L = g.row_len(), st = g.rx[g.nr - 1];
  for (int64_t e = e0; e < e1;) {
    const int64_t r = e / L, i = e % L, cnt = std::min({most, L - i, e1 - e});
    int64_t ro, ryo;
    g.row_offsets(r, &ro, &ryo);
    fn(ro + i * st, cnt);
    e += cnt;
  }
}

constexpr int64_t kShortRow = 16;  // reduced rows this short are summed inline per output

template <class F>
void short_rows_op(const Geom& g, const float* x, const float* shift, float* acc, float init,
                   ThreadPool& pool, bool serial, const F& f) {
  const int64_t L = g.row_len(), rx = g.rx[0];
  const int64_t n = g.ks[g.nk - 1], sk = g.kx[g.nk - 1], outer = g.K / n;
  const int64_t chunk = 4096, chunks = (n + chunk - 1) / chunk;
  auto body = [&](size_t t) {
    const int64_t o = t / chunks, j0 = t % chunks * chunk, j1 = std::min(n, j0 + chunk);
    int64_t xo, unused;
    g.kept_offsets(o * n, &xo, &unused);
    const float* base = x + xo;
    float* a = acc + o * n;
    for (int64_t j = j0; j < j1; ++j) {
      const float* p = base + j * sk;
      const float s = shift ? shift[o * n + j] : 0.0f;
      float v = init;
      for (int64_t i = 0; i < L; ++i) v = f(v, p[i * rx], s);
      a[j] = v;
    }
  };
  run_tasks(pool, serial, outer * chunks, body);
}

// Horizontal reductions of short rows (SK-Net / ResNeSt sum a radix axis of 2 that a channel
// concat left innermost): per output a plain loop, no kernel call.
void short_rows(ReduceOp op, const Geom& g, const float* x, const float* shift, float* acc,
                ThreadPool& pool, bool serial) {
  const float init = identity(op);
  switch (op) {
    case ReduceOp::kSum:
      return short_rows_op(g, x, shift, acc, init, pool, serial,
                           [](float a, float v, float) { return a + v; });
    case ReduceOp::kSumAbs:
      return short_rows_op(g, x, shift, acc, init, pool, serial,
                           [](float a, float v, float) { return a + std::fabs(v); });
    case ReduceOp::kSumSquare:
      return short_rows_op(g, x, shift, acc, init, pool, serial,
                           [](float a, float v, float s) { return a + (v - s) * (v - s); });
    case ReduceOp::kSumExp:
      return short_rows_op(g, x, shift, acc, init, pool, serial,
                           [](float a, float v, float s) { return a + std::exp(v - s); });
    case ReduceOp::kMax:
      return short_rows_op(g, x, shift, acc, init, pool, serial,
                           [](float a, float v, float) { return a != a || v != v ? a + v : (v > a ? v : a); });
    case ReduceOp::kMin:
      return short_rows_op(g, x, shift, acc, init, pool, serial,
                           [](float a, float v, float) { return a != a || v != v ? a + v : (v < a ? v : a); });
    case ReduceOp::kProd:
      return short_rows_op(g, x, shift, acc, init, pool, serial,
                           [](float a, float v, float) { return a * v; });
  }
}

// The vertical passes' tasks: (outer kept index, block of up to kColumns columns of the
// innermost kept axis, part p of `parts` of the reduced positions), as fn(p, x offset of the
// block, its first kept-linear output k0, its columns n). column_tasks: the tasks of one part.
int64_t column_tasks(const Geom& g) {
  const int64_t Lk = g.ks[g.nk - 1];
  return g.K / Lk * ((Lk + kColumns - 1) / kColumns);
}

template <class F>
void for_column_blocks(const Geom& g, int64_t parts, ThreadPool& pool, bool serial, const F& fn) {
  const int64_t Lk = g.ks[g.nk - 1], sk = g.kx[g.nk - 1];
  const int64_t cchunks = (Lk + kColumns - 1) / kColumns;
  run_tasks(pool, serial, column_tasks(g) * parts, [&](size_t t) {
    const int64_t p = t % parts, c = t / parts % cchunks, ko = t / parts / cchunks;
    const int64_t c0 = c * kColumns, n = std::min(kColumns, Lk - c0);
    int64_t xo, unused;
    g.kept_offsets(ko * Lk, &xo, &unused);
    fn(p, xo + c0 * sk, ko * Lk + c0, n);
  });
}

// acc[k] = the partial results part[p * K + k] of every part combined in double, for k < K.
template <class T>
void combine_parts(ReduceOp op, const T* part, int64_t parts, int64_t K, float* acc) {
  for (int64_t k = 0; k < K; ++k) {
    double a = part[k];
    for (int64_t p = 1; p < parts; ++p) a = combine(op, a, part[p * K + k]);
    acc[k] = static_cast<float>(a);
  }
}

// acc[k] = op over the reduced elements of kept-linear output k (shift[k] for kSumSquare and
// kSumExp, may be null), for every k < K. With few outputs the reduced positions are split
// into parts (partial results combined in double), so one big reduction uses every thread.
void reduce_pass(ReduceOp op, const Geom& g, const float* x, const float* shift, float* acc,
                 ThreadPool& pool, const NnKernels& kn) {
  const int threads = pool.num_threads();
  const int64_t total = g.R, st = g.rx[g.nr - 1];
  const bool serial = g.K * g.R < kParallelElements || threads == 1;
  if (!g.vertical && g.nr == 1 && g.row_len() <= kShortRow) {
    short_rows(op, g, x, shift, acc, pool, serial);
    return;
  }
  if (!g.vertical) {
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(64, (g.K + 4 * threads - 1) / (4 * threads)));
    const int64_t tasks = (g.K + chunk - 1) / chunk;
    const int64_t parts = split_parts(tasks, total / 4096 + 1, g.K * g.R, threads);
    std::vector<double> part(parts * g.K);
    auto body = [&](size_t t) {
      const int64_t p = t % parts, k0 = t / parts * chunk, k1 = std::min(g.K, k0 + chunk);
      float tmp[kGather];
      for (int64_t k = k0; k < k1; ++k) {
        int64_t xo, unused;
        g.kept_offsets(k, &xo, &unused);
        const float s = shift ? shift[k] : 0.0f;
        double a = identity(op);
        segments(g, total * p / parts, total * (p + 1) / parts, st == 1 ? total : kGather,
                 [&](int64_t off, int64_t n) {
                   const float* q = x + xo + off;
                   if (st != 1) {
                     for (int64_t i = 0; i < n; ++i) tmp[i] = q[i * st];
                     q = tmp;
                   }
                   a = combine(op, a, kn.rreduce(op, n, q, s));
                 });
        part[p * g.K + k] = a;
      }
    };
    run_tasks(pool, serial, tasks * parts, body);
    combine_parts(op, part.data(), parts, g.K, acc);
    return;
  }
  // vertical: the innermost kept axis (x stride sk) is the vector; the rows are the reduced
  // positions.
  const int64_t sk = g.kx[g.nk - 1];
  const int64_t parts = split_parts(column_tasks(g), total / 64 + 1, g.K * g.R, threads);
  std::vector<float> part(parts > 1 ? parts * g.K : 0);
  for_column_blocks(g, parts, pool, serial, [&](int64_t p, int64_t xo, int64_t k0, int64_t n) {
    float* a = parts > 1 ? part.data() + p * g.K + k0 : acc + k0;
    std::fill(a, a + n, identity(op));
    const float* sh = shift ? shift + k0 : nullptr;
    std::vector<float> tmp(sk == 1 ? 0 : n);
    segments(g, total * p / parts, total * (p + 1) / parts, total,
             [&](int64_t off, int64_t cnt) {
               const float* q = x + xo + off;
               if (sk == 1) {
                 kn.vreduce(op, cnt, n, q, st, sh, a);
                 return;
               }
               for (int64_t i = 0; i < cnt; ++i) {
                 for (int64_t j = 0; j < n; ++j) tmp[j] = q[i * st + j * sk];
                 kn.vreduce(op, 1, n, tmp.data(), 0, sh, a);
               }
             });
  });
  if (parts > 1) combine_parts(op, part.data(), parts, g.K, acc);
}

// Writes v[k] (kept-linear) to the keepdims-shaped tensor `out` (stats strides from g).
void write_kept(const Geom& g, const float* v, const TRef& out, float* base, ThreadPool& pool) {
  TRef src = out;
  for (int a = 0; a < out.rank; ++a) src.strides[a] = g.stats[a];
  const TRef* ops[2] = {&out, &src};
  const Iter<2> it = make_iter<2>(out.shape, out.rank, ops);
  float* const bases[2] = {base, const_cast<float*>(v)};
  for_rows<2>(it, bases, pool, [](float* const* p, int64_t n, const int64_t* st) {
    for (int64_t i = 0; i < n; ++i) p[0][i * st[0]] = p[1][i * st[1]];
  });
}

// ---------------------------------------------------------------------------------------------

class ReduceStep final : public Step {
 public:
  ReduceStep(ReduceKind kind, uint32_t mask, bool last, const TRef& x, const TRef& out)
      : kind_(kind), mask_(mask), last_(last), x_(x), out_(out), kn_(nn_kernels()) {
    if (out.rank != x.rank) throw std::invalid_argument("reduce: output rank differs from the input's");
    for (int a = 0; a < x.rank; ++a) {
      const int64_t want = (mask >> a & 1) ? 1 : x.shape[a];
      if (out.shape[a] != want)
        throw std::invalid_argument("reduce: output must have the input's shape with the reduced axes 1: " +
                                    x.describe() + " -> " + out.describe());
    }
    if (mask >> x.rank) throw std::invalid_argument("reduce: axis out of range");
    if ((kind == ReduceKind::kArgMax || kind == ReduceKind::kArgMin) && __builtin_popcount(mask) != 1)
      throw std::invalid_argument("reduce: ArgMax / ArgMin take one axis");
    int64_t o[kMaxRank];
    for (int a = 0; a < x.rank; ++a) o[a] = (mask >> a & 1) ? x.strides[a] : out.strides[a];
    geom_ = make_geom(x, mask, o);
    direct_ = true;
    for (int a = 0; a < x.rank; ++a)
      if (out.shape[a] > 1 && out.strides[a] != geom_.stats[a]) direct_ = false;
    reads = {x};
    writes = {out};
    algorithm = std::string(geom_.vertical ? "vertical-" : "horizontal-") + kn_.isa;
  }

  void run(const RunBuffers& b, ThreadPool& pool) const override {
    const float* x = b.at(x_);
    const int64_t K = geom_.K;
    // the output itself when it is laid out in kept-linear order, else a scratch buffer
    std::unique_ptr<float[]> scratch(direct_ ? nullptr : new float[K]);
    float* a = direct_ ? b.at(out_) : scratch.get();
    const double count = static_cast<double>(geom_.R);
    auto pass = [&](ReduceOp op, float* dst, const float* shift) {
      reduce_pass(op, geom_, x, shift, dst, pool, kn_);
    };
    switch (kind_) {
      case ReduceKind::kSum: pass(ReduceOp::kSum, a, nullptr); break;
      case ReduceKind::kMean:
        pass(ReduceOp::kSum, a, nullptr);
        for (int64_t k = 0; k < K; ++k) a[k] = static_cast<float>(a[k] / count);
        break;
      case ReduceKind::kMax: pass(ReduceOp::kMax, a, nullptr); break;
      case ReduceKind::kMin: pass(ReduceOp::kMin, a, nullptr); break;
      case ReduceKind::kArgMax:
      case ReduceKind::kArgMin: {
        std::vector<float> ext(K);
        pass(kind_ == ReduceKind::kArgMax ? ReduceOp::kMax : ReduceOp::kMin, ext.data(), nullptr);
        arg_index(x, ext.data(), a, pool);
        break;
      }
      case ReduceKind::kL1: pass(ReduceOp::kSumAbs, a, nullptr); break;
      case ReduceKind::kSumSquare: pass(ReduceOp::kSumSquare, a, nullptr); break;
      case ReduceKind::kL2:
        pass(ReduceOp::kSumSquare, a, nullptr);
        for (int64_t k = 0; k < K; ++k) a[k] = std::sqrt(a[k]);
        break;
      case ReduceKind::kProd: pass(ReduceOp::kProd, a, nullptr); break;
      case ReduceKind::kLogSum:
        pass(ReduceOp::kSum, a, nullptr);
        for (int64_t k = 0; k < K; ++k) a[k] = std::log(a[k]);
        break;
      case ReduceKind::kLogSumExp: {
        std::vector<float> mx(K);
        pass(ReduceOp::kMax, mx.data(), nullptr);
        for (float& m : mx)
          if (!std::isfinite(m)) m = m != m ? m : 0.0f;  // all -inf (or +inf): shift by 0
        pass(ReduceOp::kSumExp, a, mx.data());
        for (int64_t k = 0; k < K; ++k)
          a[k] = static_cast<float>(std::log(static_cast<double>(a[k])) + mx[k]);
        break;
      }
    }
    if (!direct_) write_kept(geom_, a, out_, b.base[out_.buf] + out_.offset, pool);
  }

 private:
  // The first (or last) index along the reduced axis where x equals the extreme (NaN: the
  // first NaN, as numpy).
  void arg_index(const float* x, const float* ext, float* res, ThreadPool& pool) const {
    int axis = 0;
    while (!(mask_ >> axis & 1)) ++axis;
    const int64_t L = x_.shape[axis], st = x_.strides[axis];
    const int64_t K = geom_.K;
    auto body = [&](size_t t) {
      const int64_t k0 = K * t / 64, k1 = K * (t + 1) / 64;
      for (int64_t k = k0; k < k1; ++k) {
        int64_t xo, unused;
        geom_.kept_offsets(k, &xo, &unused);
        const float* p = x + xo;
        const float e = ext[k];
        const bool nan = e != e;
        int64_t found = 0;
        for (int64_t i = 0; i < L; ++i) {
          const int64_t j = last_ ? L - 1 - i : i;
          const float v = p[j * st];
          if (nan ? v != v : v == e) {
            found = j;
            break;
          }
        }
        res[k] = static_cast<float>(found);
      }
    };
    run_tasks(pool, K * L < kParallelElements || pool.num_threads() == 1, 64, body);
  }

  ReduceKind kind_;
  uint32_t mask_;
  bool last_, direct_ = false;
  TRef x_, out_;
  Geom geom_;
  NnKernels kn_;
};

// ---------------------------------------------------------------------------------------------
// Moments (count, mean, M2) merged pairwise.

struct Moments {
  double n = 0, mean = 0, m2 = 0;
  void merge(double nb, double mb, double qb) {
    if (nb == 0) return;
    if (n == 0) {
      n = nb, mean = mb, m2 = qb;
      return;
    }
    const double t = n + nb, d = mb - mean;
    mean += d * nb / t;
    m2 += qb + d * d * n * nb / t;
    n = t;
  }
};

constexpr int64_t kRowBlock = 4096;   // floats of a horizontal row per two-pass block
constexpr int64_t kVBlock = 64;       // rows per two-pass block of the vertical moments

// mean[k], m2[k] (kept-linear) of the reduced elements of every output k.
void moments_pass(const Geom& g, const float* x, float* mean, float* m2, ThreadPool& pool,
                  const NnKernels& kn) {
  const int threads = pool.num_threads();
  const int64_t total = g.R, st = g.rx[g.nr - 1];
  const bool serial = g.K * g.R < kParallelElements || threads == 1;
  if (!g.vertical) {
    const int64_t parts = split_parts(g.K, total / kRowBlock + 1, g.K * g.R, threads);
    std::vector<Moments> part(parts * g.K);
    auto body = [&](size_t t) {
      const int64_t p = t % parts, k = t / parts;
      int64_t xo, unused;
      g.kept_offsets(k, &xo, &unused);
      Moments m;
      std::vector<float> tmp(st == 1 ? 0 : kRowBlock);
      segments(g, total * p / parts, total * (p + 1) / parts, kRowBlock,
               [&](int64_t off, int64_t n) {
                 const float* q = x + xo + off;
                 if (st != 1) {
                   for (int64_t i = 0; i < n; ++i) tmp[i] = q[i * st];
                   q = tmp.data();
                 }
                 const float mb = kn.rreduce(ReduceOp::kSum, n, q, 0.0f) / static_cast<float>(n);
                 m.merge(static_cast<double>(n), mb, kn.rreduce(ReduceOp::kSumSquare, n, q, mb));
               });
      part[p * g.K + k] = m;
    };
    run_tasks(pool, serial, g.K * parts, body);
    for (int64_t k = 0; k < g.K; ++k) {
      Moments m = part[k];
      for (int64_t p = 1; p < parts; ++p)
        m.merge(part[p * g.K + k].n, part[p * g.K + k].mean, part[p * g.K + k].m2);
      mean[k] = static_cast<float>(m.mean);
      m2[k] = static_cast<float>(m.m2);
    }
    return;
  }
  const int64_t sk = g.kx[g.nk - 1];
  const int64_t parts = split_parts(column_tasks(g), total / kVBlock + 1, g.K * g.R, threads);
  std::vector<float> pm(parts * g.K), pq(parts * g.K);
  for_column_blocks(g, parts, pool, serial, [&](int64_t p, int64_t xo, int64_t k0, int64_t n) {
    float* mm = pm.data() + p * g.K + k0;
    float* qq = pq.data() + p * g.K + k0;
    std::fill(mm, mm + n, 0.0f);
    std::fill(qq, qq + n, 0.0f);
    std::vector<float> tmp(sk == 1 ? 0 : kVBlock * n);
    size_t seen = 0;
    segments(g, total * p / parts, total * (p + 1) / parts, kVBlock,
             [&](int64_t off, int64_t cnt) {
               const float* q = x + xo + off;
               if (sk == 1) {
                 kn.vmoments(cnt, n, q, st, seen, mm, qq);
               } else {
                 for (int64_t j = 0; j < cnt; ++j)
                   for (int64_t i = 0; i < n; ++i) tmp[j * n + i] = q[j * st + i * sk];
                 kn.vmoments(cnt, n, tmp.data(), n, seen, mm, qq);
               }
               seen += cnt;
             });
  });
  for (int64_t k = 0; k < g.K; ++k) {
    Moments m;
    for (int64_t p = 0; p < parts; ++p)
      m.merge(static_cast<double>(total * (p + 1) / parts - total * p / parts), pm[p * g.K + k],
              pq[p * g.K + k]);
    mean[k] = static_cast<float>(m.mean);
    m2[k] = static_cast<float>(m.m2);
  }
}

const float kOne = 1.0f, kZero = 0.0f;

class NormStep final : public Step {
 public:
  NormStep(NormKind kind, uint32_t mask, float eps, const TRef& x, const TRef& y, const TRef* g,
           const TRef* b, const TRef* mean, const TRef* rstd)
      : kind_(kind), eps_(eps), x_(x), y_(y), kn_(nn_kernels()) {
    require_same_shape(x, y, "norm input");
    if (mask >> x.rank) throw std::invalid_argument("norm: axis out of range");
    for (const TRef* t : {g, b})
      if (t) require_same_shape(*t, y, "norm scale / bias");
    for (const TRef* t : {mean, rstd})
      if (t) {
        if (t->rank != x.rank) throw std::invalid_argument("norm: statistics rank differs");
        for (int a = 0; a < x.rank; ++a)
          if (t->shape[a] != ((mask >> a & 1) ? 1 : x.shape[a]))
            throw std::invalid_argument("norm: statistics must be keepdims-shaped");
      }
    has_g_ = g != nullptr, has_b_ = b != nullptr;
    has_mean_ = mean != nullptr, has_rstd_ = rstd != nullptr;
    if (g) g_ = *g;
    if (b) b_ = *b;
    if (mean) mean_ = *mean;
    if (rstd) rstd_ = *rstd;
    geom_ = make_geom(x, mask, y.strides);
    reads = {x};
    for (const TRef* t : {g, b})
      if (t) reads.push_back(*t);
    writes = {y};
    for (const TRef* t : {mean, rstd})
      if (t) writes.push_back(*t);
    fused_ = fused_rows();
    algorithm = std::string(fused_ ? "fused-rows-" : geom_.vertical ? "vertical-" : "horizontal-") + kn_.isa;
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const float* x = rb.at(x_);
    float* y = rb.at(y_);
    const float* g = has_g_ ? rb.at(g_) : nullptr;
    const float* b = has_b_ ? rb.at(b_) : nullptr;
    std::vector<float> mean(geom_.K), rs(geom_.K);
    if (fused_) {
      run_fused(x, y, g, b, mean.data(), rs.data(), pool);
    } else {
      stats(x, mean.data(), rs.data(), pool);
      apply(x, y, g, b, mean.data(), rs.data(), pool);
    }
    if (has_mean_) write_kept(geom_, mean.data(), mean_, rb.base[mean_.buf] + mean_.offset, pool);
    if (has_rstd_) write_kept(geom_, rs.data(), rstd_, rb.base[rstd_.buf] + rstd_.offset, pool);
  }

 private:
  // One contiguous row per output in x and y (LayerNormalization over the channels of a
  // channels-last tensor, or over trailing axes of a contiguous one), g and b rows laid out
  // like x's (or absent).
  bool fused_rows() const {
    if (kind_ != NormKind::kLayer || geom_.vertical || geom_.nr != 1 || geom_.rx[0] != 1 ||
        geom_.ry[0] != 1)
      return false;
    for (int k = 0; k < 2; ++k) {
      const bool has = k == 0 ? has_g_ : has_b_;
      const TRef& t = k == 0 ? g_ : b_;
      if (!has) continue;
      for (int a = 0; a < x_.rank; ++a) {
        if (x_.shape[a] == 1) continue;
        const bool red = geom_.stats[a] == 0;
        if (red ? t.strides[a] != x_.strides[a] : t.strides[a] != 0) return false;
      }
    }
    return true;
  }

  void run_fused(const float* x, float* y, const float* g, const float* b, float* mean, float* rs,
                 ThreadPool& pool) const {
    const int64_t L = geom_.rs[0], rows = geom_.ks[geom_.nk - 1];
    const int64_t sx = geom_.kx[geom_.nk - 1], sy = geom_.ko[geom_.nk - 1];
    const int64_t outer = geom_.K / rows;
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(rows, 16384 / std::max<int64_t>(L, 1)));
    const int64_t chunks = (rows + chunk - 1) / chunk;
    auto body = [&](size_t t) {
      const int64_t o = t / chunks, r0 = t % chunks * chunk, n = std::min(chunk, rows - r0);
      int64_t xo, yo;
      geom_.kept_offsets(o * rows, &xo, &yo);
      kn_.layernorm_rows(n, L, x + xo + r0 * sx, sx, y + yo + r0 * sy, sy, g, b, eps_,
                         mean + o * rows + r0, rs + o * rows + r0);
    };
    run_tasks(pool, geom_.K * L < kParallelElements || pool.num_threads() == 1, outer * chunks,
              body);
  }

  void stats(const float* x, float* mean, float* rs, ThreadPool& pool) const {
    const double count = static_cast<double>(geom_.R);
    if (kind_ == NormKind::kLp1 || kind_ == NormKind::kLp2) {
      reduce_pass(kind_ == NormKind::kLp1 ? ReduceOp::kSumAbs : ReduceOp::kSumSquare, geom_, x,
                  nullptr, rs, pool, kn_);
      for (int64_t k = 0; k < geom_.K; ++k) {
        const double nrm = kind_ == NormKind::kLp1 ? rs[k] : std::sqrt(static_cast<double>(rs[k]));
        rs[k] = nrm == 0.0 ? 0.0f : static_cast<float>(1.0 / nrm);
        mean[k] = 0.0f;
      }
      return;
    }
    moments_pass(geom_, x, mean, rs, pool, kn_);
    for (int64_t k = 0; k < geom_.K; ++k) {
      const double var = std::max(0.0, static_cast<double>(rs[k]) / count);
      rs[k] = static_cast<float>(kind_ == NormKind::kLayer ? 1.0 / std::sqrt(var + eps_)
                                                           : 1.0 / (std::sqrt(var) + eps_));
    }
  }

  // y = (x - mean) * rstd * g + b element-wise: rows of the strided iteration over (y, x, mean,
  // rstd, g, b), the statistics as virtual tensors (stride 0 along the normalised axes).
  void apply(const float* x, float* y, const float* g, const float* b, const float* mean,
             const float* rs, ThreadPool& pool) const {
    TRef ops[6] = {y_, x_, x_, x_, x_, x_};
    for (int a = 0; a < x_.rank; ++a) {
      ops[2].strides[a] = ops[3].strides[a] = geom_.stats[a];
      ops[4].strides[a] = has_g_ ? g_.strides[a] : 0;
      ops[5].strides[a] = has_b_ ? b_.strides[a] : 0;
    }
    const TRef* refs[6] = {&ops[0], &ops[1], &ops[2], &ops[3], &ops[4], &ops[5]};
    const Iter<6> it = make_iter<6>(y_.shape, y_.rank, refs);
    float* const base[6] = {y, const_cast<float*>(x), const_cast<float*>(mean), const_cast<float*>(rs),
                            const_cast<float*>(g ? g : &kOne), const_cast<float*>(b ? b : &kZero)};
    for_rows<6>(it, base, pool, [&](float* const* p, int64_t n, const int64_t* s) {
      const bool unit = s[0] == 1 && s[1] == 1 && s[2] == s[3] && s[2] <= 1 && s[2] >= 0 &&
                        s[4] >= 0 && s[4] <= 1 && s[5] >= 0 && s[5] <= 1;
      if (unit) {
        const native::NormAffine aff{p[2], p[3], p[4], p[5], s[2] == 1, s[4] == 1, s[5] == 1};
        kn_.vnorm(1, n, p[1], 0, p[0], 0, &aff);
        return;
      }
      for (int64_t i = 0; i < n; ++i)
        p[0][i * s[0]] = (p[1][i * s[1]] - p[2][i * s[2]]) * p[3][i * s[3]] * p[4][i * s[4]] + p[5][i * s[5]];
    });
  }

  NormKind kind_;
  float eps_;
  TRef x_, y_, g_, b_, mean_, rstd_;
  bool has_g_ = false, has_b_ = false, has_mean_ = false, has_rstd_ = false, fused_ = false;
  Geom geom_;
  NnKernels kn_;
};

// ---------------------------------------------------------------------------------------------

class GroupNormStep final : public Step {
 public:
  GroupNormStep(int64_t groups, float eps, const TRef& x, const TRef& y, const TRef& gamma,
                const TRef& beta)
      : groups_(groups), eps_(eps), x_(x), y_(y), gamma_(gamma), beta_(beta), kn_(nn_kernels()) {
    require_cl(x, "group norm input");
    require_cl(y, "group norm output");
    require_same_shape(x, y, "group norm input");
    const int64_t c = x.shape[1];
    if (groups < 1 || c % groups) throw std::invalid_argument("group norm: groups must divide C");
    for (const TRef* t : {&gamma, &beta})
      if (t->rank != 1 || t->shape[0] != c)
        throw std::invalid_argument("group norm: scale and bias must have shape (C,)");
    reads = {x, gamma, beta};
    writes = {y};
    algorithm = std::string("channels-last-") + kn_.isa;
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(x_, rb.base[x_.buf]);
    const TensorView ov = channels_last_view(y_, rb.base[y_.buf]);
    const float* gm = rb.at(gamma_);
    const float* bt = rb.at(beta_);
    const int64_t N = iv.n, C = iv.c, P = iv.pixels(), G = groups_, cg = C / G;
    const int threads = pool.num_threads();
    const int64_t cblk = C <= 256 ? C : 128, cblocks = (C + cblk - 1) / cblk;
    // pixel parts: enough tasks for the threads when images and channel blocks are few
    int64_t parts = 1;
    if (threads > 1 && N * cblocks < 4 * threads && P * C >= (int64_t{1} << 15))
      parts = std::min<int64_t>((P + kVBlock - 1) / kVBlock, 4 * threads);
    std::vector<float> pm(N * parts * C), pq(N * parts * C);
    auto stats = [&](size_t t) {
      const int64_t p = t % parts, cb = t / parts % cblocks, n = t / parts / cblocks;
      const int64_t c0 = cb * cblk, nc = std::min(cblk, C - c0);
      const int64_t p0 = P * p / parts, p1 = P * (p + 1) / parts;
      float* mm = pm.data() + (n * parts + p) * C + c0;
      float* qq = pq.data() + (n * parts + p) * C + c0;
      std::fill(mm, mm + nc, 0.0f);
      std::fill(qq, qq + nc, 0.0f);
      const float* img = iv.data + n * iv.image_stride() + c0;
      size_t seen = 0;
      for (int64_t q = p0; q < p1; q += kVBlock) {
        const int64_t cnt = std::min(kVBlock, p1 - q);
        kn_.vmoments(cnt, nc, img + q * iv.ps(), iv.ps(), seen, mm, qq);
        seen += cnt;
      }
    };
    const bool serial = N * P * C < kParallelElements || threads == 1;
    run_tasks(pool, serial, N * cblocks * parts, stats);
    // per (image, group): merge the pixel parts, then the group's channels (equal counts)
    std::vector<float> mc(N * C), ac(N * C), bc(N * C);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t gi = 0; gi < G; ++gi) {
        Moments m;
        for (int64_t c = gi * cg; c < (gi + 1) * cg; ++c)
          for (int64_t p = 0; p < parts; ++p) {
            const int64_t cnt = P * (p + 1) / parts - P * p / parts;
            m.merge(static_cast<double>(cnt), pm[(n * parts + p) * C + c], pq[(n * parts + p) * C + c]);
          }
        const double var = std::max(0.0, m.m2 / m.n);
        const double r = 1.0 / std::sqrt(var + eps_);
        for (int64_t c = gi * cg; c < (gi + 1) * cg; ++c) {
          mc[n * C + c] = static_cast<float>(m.mean);
          ac[n * C + c] = static_cast<float>(r * gm[c * gamma_.strides[0]]);
          bc[n * C + c] = bt[c * beta_.strides[0]];
        }
      }
    const int64_t per = std::max<int64_t>(1, 16384 / C);
    const int64_t chunks = (P + per - 1) / per;
    auto write = [&](size_t t) {
      const int64_t n = t / chunks, q0 = t % chunks * per, cnt = std::min(per, P - q0);
      const native::NormAffine aff{mc.data() + n * C, ac.data() + n * C, nullptr, bc.data() + n * C,
                                   true, false, true};
      kn_.vnorm(cnt, C, iv.data + n * iv.image_stride() + q0 * iv.ps(), iv.ps(),
                ov.data + n * ov.image_stride() + q0 * ov.ps(), ov.ps(), &aff);
    };
    run_tasks(pool, serial, N * chunks, write);
  }

 private:
  int64_t groups_;
  float eps_;
  TRef x_, y_, gamma_, beta_;
  NnKernels kn_;
};

// ---------------------------------------------------------------------------------------------

class LrnStep final : public Step {
 public:
  LrnStep(int64_t size, float alpha, float beta, float bias, const TRef& x, const TRef& y)
      : x_(x), y_(y), kn_(nn_kernels()) {
    require_cl(x, "LRN input");
    require_cl(y, "LRN output");
    require_same_shape(x, y, "LRN input");
    if (size < 1) throw std::invalid_argument("LRN: size must be >= 1");
    // a window wider than the channels reaches the same channels (the sums are the same)
    const int64_t c = x.shape[1];
    p_.lo = static_cast<size_t>(std::min<int64_t>((size - 1) / 2, c));
    p_.hi = static_cast<size_t>(std::min<int64_t>(size / 2, c));
    p_.alpha_over_size = alpha / static_cast<float>(size);
    p_.bias = bias;
    p_.beta = beta;
    reads = {x};
    writes = {y};
    algorithm = std::string("channels-last-") + kn_.isa;
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const TensorView iv = channels_last_view(x_, rb.base[x_.buf]);
    const TensorView ov = channels_last_view(y_, rb.base[y_.buf]);
    const int64_t N = iv.n, C = iv.c, P = iv.pixels();
    const int64_t per = std::max<int64_t>(1, 8192 / C), chunks = (P + per - 1) / per;
    auto body = [&](size_t t) {
      const int64_t n = t / chunks, q0 = t % chunks * per, cnt = std::min(per, P - q0);
      std::vector<float> scratch(p_.lo + C + p_.hi + 8);
      kn_.lrn(cnt, C, iv.data + n * iv.image_stride() + q0 * iv.ps(), iv.ps(),
              ov.data + n * ov.image_stride() + q0 * ov.ps(), ov.ps(), &p_, scratch.data());
    };
    run_tasks(pool, N * P * C < kParallelElements || pool.num_threads() == 1, N * chunks, body);
  }

 private:
  TRef x_, y_;
  native::LrnParams p_;
  NnKernels kn_;
};

}  // namespace

std::unique_ptr<Step> make_reduce_step(ReduceKind kind, uint32_t mask, bool select_last,
                                       const TRef& x, const TRef& out) {
  return std::make_unique<ReduceStep>(kind, mask, select_last, x, out);
}

std::unique_ptr<Step> make_norm_step(NormKind kind, uint32_t mask, float eps, const TRef& x,
                                     const TRef& y, const TRef* g, const TRef* b,
                                     const TRef* mean, const TRef* rstd) {
  return std::make_unique<NormStep>(kind, mask, eps, x, y, g, b, mean, rstd);
}

std::unique_ptr<Step> make_group_norm_step(int64_t groups, float eps, const TRef& x, const TRef& y,
                                           const TRef& gamma, const TRef& beta) {
  return std::make_unique<GroupNormStep>(groups, eps, x, y, gamma, beta);
}

std::unique_ptr<Step> make_lrn_step(int64_t size, float alpha, float beta, float bias,
                                    const TRef& x, const TRef& y) {
  return std::make_unique<LrnStep>(size, alpha, beta, bias, x, y);
}

}  // namespace ce
