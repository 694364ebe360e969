#include "engine/matmul.h"

#include <stdexcept>
#include <vector>

namespace ce {

namespace {

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
    algorithm = "strided";
    flops = 2.0 * out.numel() * a.shape[r - 1];
  }
  void run(const RunBuffers& rb, ThreadPool& pool) const override {
    const int r = out_.rank;
    const int64_t M = out_.shape[r - 2], N = out_.shape[r - 1], K = a_.shape[r - 1];
    int64_t batch = 1;
    for (int i = 0; i < r - 2; ++i) batch *= out_.shape[i];
    const float* A = rb.at(a_);
    const float* Bm = rb.at(b_);
    float* O = rb.at(out_);
    pool.parallel_for_2d(batch, M, [&](size_t bi, size_t m) {
      int64_t rem = bi, ao = 0, bo = 0, oo = 0;
      for (int i = r - 3; i >= 0; --i) {
        const int64_t k = rem % out_.shape[i];
        rem /= out_.shape[i];
        ao += k * a_.strides[i], bo += k * b_.strides[i], oo += k * out_.strides[i];
      }
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
  TRef a_, b_, out_;
};

}  // namespace

std::unique_ptr<Step> make_matmul_step(const TRef& a, const TRef& b, const TRef& out) {
  return std::make_unique<MatMulStep>(a, b, out);
}

}  // namespace ce
