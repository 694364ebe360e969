#include "engine/matmul.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

#include "engine/arith.h"
#include "engine/buffer.h"
#include "engine/dispatch.h"
#include "engine/packing.h"

namespace ce {

namespace {

// K per packed block of B: longer reductions run as blocks that accumulate into C.
constexpr size_t kMaxKc = 2048;
// Bytes of B packed per task's column chunk (kc x nc), within half a Zen 3 L2.
constexpr size_t kChunkBytes = 256 * 1024;

class MatMulStep final : public Step {
 public:
  MatMulStep(const TRef& a, const TRef& b, const TRef& out) : a_(a), b_(b), out_(out) {
    const int r = out.rank;
    if (r < 2 || a.rank != r || b.rank != r)
      throw std::invalid_argument("matmul: operands must have the output's rank (>= 2)");
    for (int i = 0; i < r - 2; ++i)
      if (a.shape[i] != out.shape[i] || b.shape[i] != out.shape[i])
        throw std::invalid_argument("matmul: batch shapes differ from the output");
    if (a.shape[r - 2] != out.shape[r - 2] || b.shape[r - 1] != out.shape[r - 1] ||
        a.shape[r - 1] != b.shape[r - 2])
      throw std::invalid_argument("matmul: inner dimensions do not match");
    reads = {a, b};
    writes = {out};
    // The GEMM microkernels read rows of A and write rows of C with unit stride; B, an
    // activation, is packed into their panels per task. Other strides take the plain loop.
    const int64_t M = out.shape[r - 2], N = out.shape[r - 1];
    const int64_t K = a.shape[r - 1];
    gemm_ = (a.strides[r - 1] == 1 || K == 1) && (out.strides[r - 1] == 1 || N == 1) && K > 0 &&
            a.strides[r - 2] >= 0 && (M <= 1 || out.strides[r - 2] >= N);
    if (gemm_) k_ = gemm_kernel(static_cast<size_t>(out.shape[r - 1]));
    algorithm = gemm_ ? "gemm" : "strided";
    flops = 2.0 * out.numel() * a.shape[r - 1];
  }

  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    if (out_.numel() == 0) return;
    if (gemm_) return run_gemm(rb, pool);
    const int r = out_.rank;
    const int64_t M = out_.shape[r - 2], N = out_.shape[r - 1], K = a_.shape[r - 1];
    const float* A = rb.at(a_);
    const float* Bm = rb.at(b_);
    float* O = rb.at(out_);
    pool.parallel_for_2d(batch(), M, [&](size_t bi, size_t m) {
      int64_t ao, bo, oo;
      offsets(bi, ao, bo, oo);
      std::vector<double> acc(N, 0.0);
      const float* arow = A + ao + m * a_.strides[r - 2];
      for (int64_t k = 0; k < K; ++k) {
        const double av = arow[k * a_.strides[r - 1]];
        const float* brow = Bm + bo + k * b_.strides[r - 2];
        for (int64_t n = 0; n < N; ++n) acc[n] += av * brow[n * b_.strides[r - 1]];
      }
      float* orow = O + oo + m * out_.strides[r - 2];
      for (int64_t n = 0; n < N; ++n) orow[n * out_.strides[r - 1]] = static_cast<float>(acc[n]);
    });
  }

 private:
  size_t batch() const {
    size_t b = 1;
    for (int i = 0; i < out_.rank - 2; ++i) b *= static_cast<size_t>(out_.shape[i]);
    return b;
  }
  // Element offsets of batch item bi in a, b and out.
  void offsets(size_t bi, int64_t& ao, int64_t& bo, int64_t& oo) const {
    int64_t rem = static_cast<int64_t>(bi);
    ao = bo = oo = 0;
    for (int i = out_.rank - 3; i >= 0; --i) {
      const int64_t k = rem % out_.shape[i];
      rem /= out_.shape[i];
      ao += k * a_.strides[i], bo += k * b_.strides[i], oo += k * out_.strides[i];
    }
  }

  // Tasks over (batch item, column chunk, row chunk); each packs its kc x nc block of B, K block
  // by K block, and runs the row tiles of its chunk over it.
  void run_gemm(const RunBuffers& rb, ThreadPool& pool) const {
    const int r = out_.rank;
    const size_t M = out_.shape[r - 2], N = out_.shape[r - 1], K = a_.shape[r - 1];
    const size_t MR = k_.mr, NR = k_.nr;
    const size_t nkb = ceil_div(K, kMaxKc), kc_max = ceil_div(K, nkb);
    const size_t npanels = ceil_div(N, NR);
    const size_t chunk_panels =
        std::clamp<size_t>(kChunkBytes / (kc_max * NR * sizeof(float)), 1, npanels);
    const size_t n_chunks = ceil_div(npanels, chunk_panels);
    const size_t mtiles = ceil_div(M, MR), B = batch();
    const size_t threads = pool.num_threads();
    // Rows are split only while batch items x column chunks are too few tasks for the threads.
    const size_t m_chunks =
        threads == 1 ? 1 : std::clamp<size_t>(ceil_div(4 * threads, B * n_chunks), 1, mtiles);
    const size_t per_chunk = ceil_div(mtiles, m_chunks);
    const float* A = rb.at(a_);
    const float* Bm = rb.at(b_);
    float* O = rb.at(out_);
    const int64_t a_rs = a_.strides[r - 2], o_rs = out_.strides[r - 2];
    const int64_t b_ks = b_.strides[r - 2], b_ns = b_.strides[r - 1];
    const native::ClampParams none{-std::numeric_limits<float>::infinity(),
                                   std::numeric_limits<float>::infinity()};
    const size_t row_chunks = ceil_div(mtiles, per_chunk);
    pool.parallel_for_3d(B, n_chunks, row_chunks, [&](size_t bi, size_t nch, size_t mc) {
      int64_t ao, bo, oo;
      offsets(bi, ao, bo, oo);
      const size_t n0 = nch * chunk_panels * NR, nc = std::min(chunk_panels * NR, N - n0);
      const size_t t_end = std::min(mtiles, (mc + 1) * per_chunk);
      thread_local Buffer packed;
      for (size_t kb = 0, k0 = 0; kb < nkb; ++kb) {
        const size_t kc = (K - k0) / (nkb - kb);
        const PanelLayout L{NR, k_.kr, 1, kc};
        if (packed.size() < L.floats(nc)) packed.resize(L.floats(nc));
        const float* bk = Bm + bo + int64_t(k0) * b_ks + int64_t(n0) * b_ns;
        pack_panels(packed.data(), L, nc, nullptr, [&](size_t n, size_t, size_t k) {
          return bk[int64_t(k) * b_ks + int64_t(n) * b_ns];
        });
        for (size_t t = mc * per_chunk; t < t_end; ++t) {
          const size_t m0 = t * MR, mr = std::min(MR, M - m0);
          const native::GemmFn fn = mr == 1 ? k_.row : k_.fn;
          fn(mr, nc, kc, A + ao + int64_t(m0) * a_rs + k0, a_rs, packed.data(),
             O + oo + int64_t(m0) * o_rs + n0, o_rs, NR, kb > 0, &none, nullptr, 0);
        }
        k0 += kc;
      }
    });
  }

  TRef a_, b_, out_;
  bool gemm_ = false;
  GemmKernel k_{};
};

}  // namespace

std::unique_ptr<Step> make_matmul_step(const TRef& a, const TRef& b, const TRef& out) {
  return std::make_unique<MatMulStep>(a, b, out);
}

}  // namespace ce
