// Tests of the C API (include/convengine.h). Self-contained: the models are written in memory
// with the engine's ModelWriter (engine/model_file.h, used only to construct them) and the
// results are checked against a naive convolution.
//
//   test_c_api                  the C API
//   test_c_api --ce-run PATH    the example runner (examples/ce_run.c) on the same models
#include <convengine.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "engine/model_file.h"

namespace fs = std::filesystem;
using ce::Arg;
using ce::ArgKind;
using ce::StepDesc;
using ce::TRef;
using Dims = std::vector<int64_t>;
using Bytes = std::vector<uint8_t>;

namespace {

int g_checks = 0, g_failures = 0;
std::string g_context;  // printed with a failure

void check(bool ok, const char* expr, int line, const std::string& detail = "") {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  std::fprintf(stderr, "FAIL line %d: %s%s%s%s%s\n", line, expr, g_context.empty() ? "" : " [",
               g_context.c_str(), g_context.empty() ? "" : "]", detail.empty() ? "" : (" " + detail).c_str());
}
#define CHECK(cond) check((cond), #cond, __LINE__)

// Consumes a status that must be an error with one of `codes` and a message.
void expect_error(ce_status* s, std::initializer_list<int> codes, const char* expr, int line) {
  const int code = ce_status_code(s);
  const std::string msg = ce_status_message(s);
  check(s != nullptr, expr, line, "succeeded, expected an error");
  if (s) {
    check(std::find(codes.begin(), codes.end(), code) != codes.end(), expr, line,
          "code " + std::to_string(code) + ": " + msg);
    check(!msg.empty(), expr, line, "empty message");
  }
  ce_status_free(s);
}
#define EXPECT_ERROR(expr, ...) expect_error((expr), {__VA_ARGS__}, #expr, __LINE__)

void expect_ok(ce_status* s, const char* expr, int line) {
  check(s == nullptr, expr, line, ce_status_message(s));
  ce_status_free(s);
}
#define EXPECT_OK(expr) expect_ok((expr), #expr, __LINE__)

// ---- model construction ---------------------------------------------------------------------

TRef tref(int buf, int64_t offset, const Dims& shape, const Dims& strides) {
  TRef r;
  r.buf = buf;
  r.offset = offset;
  r.rank = static_cast<int>(shape.size());
  std::copy(shape.begin(), shape.end(), r.shape);
  std::copy(strides.begin(), strides.end(), r.strides);
  return r;
}

int64_t numel(const Dims& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Dims contiguous(const Dims& s) {
  Dims st(s.size());
  int64_t n = 1;
  for (size_t i = s.size(); i-- > 0;) st[i] = n, n *= s[i];
  return st;
}

// (N, C, spatial...) stored channels-last: C innermost, then the spatial axes, then N.
Dims channels_last(const Dims& s) {
  Dims st(s.size());
  st[1] = 1;
  int64_t n = s[1];
  for (size_t i = s.size(); i-- > 2;) st[i] = n, n *= s[i];
  st[0] = n;
  return st;
}

Arg a_ref(const TRef& r) {
  Arg a;
  a.kind = ArgKind::kRef;
  a.refs = {r};
  return a;
}
Arg a_none() { return Arg{}; }
Arg a_int(int64_t v) {
  Arg a;
  a.kind = ArgKind::kInt;
  a.i = v;
  return a;
}
Arg a_float(double v) {
  Arg a;
  a.kind = ArgKind::kFloat;
  a.f = v;
  return a;
}
Arg a_str(const std::string& s) {
  Arg a;
  a.kind = ArgKind::kStr;
  a.s = s;
  return a;
}
Arg a_ints(const Dims& v) {
  Arg a;
  a.kind = ArgKind::kInts;
  a.ints = v;
  return a;
}

StepDesc step(const std::string& method, const std::string& name, std::vector<Arg> args) {
  StepDesc s;
  s.method = method;
  s.name = name;
  s.args = std::move(args);
  return s;
}

struct Conv {
  int64_t n, c, h, w, k, kh, kw, stride, pad, dil, groups;
  bool bias;
  std::string algorithm = "auto";
  int64_t oh() const { return (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1; }
  int64_t ow() const { return (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1; }
  Dims in_shape() const { return {n, c, h, w}; }
  Dims out_shape() const { return {n, k, oh(), ow()}; }
  Dims w_shape() const { return {k, c / groups, kh, kw}; }
  std::string describe() const {
    char b[160];
    std::snprintf(b, sizeof b, "%lldx%lldx%lldx%lld -> %lld, %lldx%lld s%lld p%lld d%lld g%lld %s",
                  (long long)n, (long long)c, (long long)h, (long long)w, (long long)k, (long long)kh,
                  (long long)kw, (long long)stride, (long long)pad, (long long)dil, (long long)groups,
                  algorithm.c_str());
    return b;
  }
};

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(gen);
  return v;
}

struct ConvModel {
  Conv conv;
  std::vector<float> weight, bias;
  std::vector<StepDesc> steps;  // input copy, conv, output copy
  int64_t arena_floats = 0;
};

// x (NCHW input 0) -> channels-last arena copy -> conv -> channels-last arena -> NCHW output 0,
// as the planner writes it (python/convengine/_graph/planner.py).
ConvModel conv_model(const Conv& c, ce::ModelWriter& w, unsigned seed = 1) {
  ConvModel m;
  m.conv = c;
  m.weight = random_floats(numel(c.w_shape()), seed);
  if (c.bias) m.bias = random_floats(c.k, seed + 1);
  const Dims xs = c.in_shape(), ys = c.out_shape();
  const int64_t y_off = (numel(xs) + 15) / 16 * 16;
  m.arena_floats = y_off + numel(ys);
  const TRef x_in = tref(2, 0, xs, contiguous(xs)), x_cl = tref(0, 0, xs, channels_last(xs));
  const TRef y_cl = tref(0, y_off, ys, channels_last(ys)), y_out = tref(3, 0, ys, contiguous(ys));
  m.steps.push_back(step("add_copy", "input/x", {a_str("Input"), a_ref(x_in), a_ref(x_cl)}));
  m.steps.push_back(step(
      "add_conv", "conv",
      {a_ref(x_cl), a_ref(y_cl), a_none(), w.array(ce::DType::kF32, m.weight.data(), c.w_shape()),
       c.bias ? w.array(ce::DType::kF32, m.bias.data(), {c.k}) : a_none(), a_int(c.groups),
       a_ints({1, c.stride, c.stride}), a_ints({1, c.dil, c.dil}), a_ints({0, c.pad, c.pad}),
       a_ints({0, c.pad, c.pad}), a_ints({0, 0, 0}), a_int(0), a_str(c.algorithm), a_str("none"),
       a_float(0), a_float(0), a_float(-INFINITY), a_float(INFINITY)}));
  m.steps.push_back(step("add_copy", "output/y", {a_str("Output"), a_ref(y_cl), a_ref(y_out)}));
  return m;
}

// `tamper` may change the steps and the writer before the file is written (and checksummed).
Bytes write_conv(const Conv& c, ConvModel* out = nullptr,
                 const std::function<void(ce::ModelWriter&, ConvModel&)>& tamper = {}) {
  ce::ModelWriter w;
  ConvModel m = conv_model(c, w);
  w.set_producer("test_c_api");
  w.add_input({"x", "float32", c.in_shape()});
  w.add_output({"y", "float32", c.out_shape()});
  w.set_arena_floats(m.arena_floats);
  if (tamper) tamper(w, m);
  for (const auto& s : m.steps) w.add_step(s);
  Bytes file = w.finish();
  if (out) *out = std::move(m);
  return file;
}

std::vector<float> naive_conv(const ConvModel& m, const std::vector<float>& x, std::vector<double>* mag) {
  const Conv& c = m.conv;
  const int64_t cg = c.c / c.groups, kg = c.k / c.groups, oh = c.oh(), ow = c.ow();
  std::vector<float> y(numel(c.out_shape()));
  mag->assign(y.size(), 0.0);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t k = 0; k < c.k; ++k)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double s = c.bias ? m.bias[k] : 0.0, a = std::fabs(s);
          const int64_t g = k / kg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < c.kh; ++ky)
              for (int64_t kx = 0; kx < c.kw; ++kx) {
                const int64_t iy = oy * c.stride - c.pad + ky * c.dil, ix = ox * c.stride - c.pad + kx * c.dil;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                const double p = double(m.weight[((k * cg + ci) * c.kh + ky) * c.kw + kx]) *
                                 x[((n * c.c + g * cg + ci) * c.h + iy) * c.w + ix];
                s += p;
                a += std::fabs(p);
              }
          const size_t o = ((n * c.k + k) * oh + oy) * ow + ox;
          y[o] = static_cast<float>(s);
          (*mag)[o] = a;
        }
  return y;
}

// Largest error relative to the sum of |products| of the element (1 when sizes differ).
double conv_error(const ConvModel& m, const std::vector<float>& x, const std::vector<float>& y) {
  std::vector<double> mag;
  const std::vector<float> want = naive_conv(m, x, &mag);
  if (y.size() != want.size()) return 1.0;
  double e = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double d = std::fabs(double(y[i]) - want[i]) / (mag[i] + 1e-30);
    e = std::max(e, std::isfinite(y[i]) ? d : 1.0);
  }
  return e;
}

ce_model* load(const Bytes& file) {
  ce_model* m = nullptr;
  ce_status* s = ce_model_load_from_memory(file.data(), file.size(), &m);
  if (s) std::fprintf(stderr, "load failed: %s\n", ce_status_message(s));
  ce_status_free(s);
  return m;
}

ce_status* run(const ce_model* m, const std::vector<float>& x, std::vector<float>* y) {
  int64_t dims[CE_MAX_RANK];
  const int rank = ce_model_output_shape(m, 0, dims);
  y->assign(numel(Dims(dims, dims + std::max(rank, 0))), NAN);
  const float* in[] = {x.data()};
  float* out[] = {y->data()};
  return ce_model_run(m, in, out);
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("ce_test_" + std::to_string(getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_bytes(const std::string& path, const void* p, size_t n) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
}

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// After editing bytes past the header, a valid checksum again (header offset 56).
void reseal(Bytes& f) {
  const uint64_t sum = ce::model_checksum(f.data() + ce::kModelHeaderBytes, f.size() - ce::kModelHeaderBytes);
  std::memcpy(f.data() + 56, &sum, 8);
}

// Offset of the first occurrence of `pattern` in `f` at or after `from`, or SIZE_MAX.
size_t find(const Bytes& f, const Bytes& pattern, size_t from = 0) {
  auto it = std::search(f.begin() + from, f.end(), pattern.begin(), pattern.end());
  return it == f.end() ? SIZE_MAX : static_cast<size_t>(it - f.begin());
}

template <class T>
Bytes le(std::initializer_list<T> vs) {
  Bytes b;
  for (T v : vs) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof v);
  }
  return b;
}

template <class T>
void poke(Bytes& f, size_t at, T v) {
  std::memcpy(f.data() + at, &v, sizeof v);
}

const std::vector<Conv> kConvs = {
    {1, 3, 9, 9, 8, 3, 3, 1, 1, 1, 1, true},          // a stem: c_in < 8
    {2, 16, 10, 10, 24, 3, 3, 1, 1, 1, 1, true},      // batch 2, 3x3
    {2, 16, 10, 10, 24, 3, 3, 1, 1, 1, 1, true, "igemm"},
    {1, 16, 11, 11, 16, 3, 3, 2, 1, 1, 16, true},     // depthwise, stride 2
    {1, 32, 7, 7, 16, 1, 1, 1, 0, 1, 1, false},       // 1x1
    {1, 8, 12, 12, 8, 3, 3, 1, 2, 2, 2, true},        // dilated, grouped
    {1, 12, 8, 9, 20, 5, 3, 2, 2, 1, 4, false},       // rectangular kernel, groups 4
    {1, 4, 5, 5, 4, 7, 7, 1, 3, 1, 1, true},          // kernel larger than the image
};

// ---- the tests ------------------------------------------------------------------------------

void test_basics() {
  g_context = "basics";
  CHECK(ce_version() && *ce_version());
  ce_status_free(nullptr);
  ce_model_free(nullptr);
  CHECK(ce_status_code(nullptr) == CE_OK);
  CHECK(ce_status_message(nullptr) && *ce_status_message(nullptr) == '\0');
  CHECK(ce_model_input_count(nullptr) == -1);
  CHECK(ce_model_output_count(nullptr) == -1);
  CHECK(ce_model_input_name(nullptr, 0) == nullptr);
  CHECK(ce_model_output_name(nullptr, 0) == nullptr);
  int64_t dims[CE_MAX_RANK];
  CHECK(ce_model_input_shape(nullptr, 0, dims) == -1);
  CHECK(ce_model_output_shape(nullptr, 0, dims) == -1);
}

void test_convolutions() {
  for (const Conv& c : kConvs) {
    g_context = c.describe();
    ConvModel m;
    const Bytes file = write_conv(c, &m);
    ce_model* model = load(file);
    CHECK(model != nullptr);
    if (!model) continue;
    const auto x = random_floats(numel(c.in_shape()), 7);
    std::vector<float> y;
    EXPECT_OK(run(model, x, &y));
    const double err = conv_error(m, x, y);
    check(err < 1e-5, "conv matches the naive convolution", __LINE__, "relative error " + std::to_string(err));
    ce_model_free(model);
  }
}

void test_queries() {
  g_context = "queries";
  const Conv c = kConvs[1];
  ce_model* m = load(write_conv(c));
  CHECK(m != nullptr);
  if (!m) return;
  CHECK(ce_model_input_count(m) == 1);
  CHECK(ce_model_output_count(m) == 1);
  CHECK(ce_model_input_name(m, 0) && std::string(ce_model_input_name(m, 0)) == "x");
  CHECK(ce_model_output_name(m, 0) && std::string(ce_model_output_name(m, 0)) == "y");
  CHECK(ce_model_input_name(m, 1) == nullptr);
  CHECK(ce_model_input_name(m, -1) == nullptr);
  CHECK(ce_model_output_name(m, 1) == nullptr);
  int64_t dims[CE_MAX_RANK] = {};
  CHECK(ce_model_input_shape(m, 0, dims) == 4);
  CHECK(Dims(dims, dims + 4) == c.in_shape());
  CHECK(ce_model_output_shape(m, 0, dims) == 4);
  CHECK(Dims(dims, dims + 4) == c.out_shape());
  CHECK(ce_model_input_shape(m, 0, nullptr) == 4);
  CHECK(ce_model_input_shape(m, 1, dims) == -1);
  CHECK(ce_model_output_shape(m, -1, dims) == -1);

  const auto x = random_floats(numel(c.in_shape()), 3);
  std::vector<float> y(numel(c.out_shape()));
  const float* in[] = {x.data()};
  const float* null_in[] = {nullptr};
  float* out[] = {y.data()};
  float* null_out[] = {nullptr};
  EXPECT_ERROR(ce_model_run(nullptr, in, out), CE_INVALID_ARGUMENT);
  EXPECT_ERROR(ce_model_run(m, nullptr, out), CE_INVALID_ARGUMENT);
  EXPECT_ERROR(ce_model_run(m, in, nullptr), CE_INVALID_ARGUMENT);
  EXPECT_ERROR(ce_model_run(m, null_in, out), CE_INVALID_ARGUMENT);
  EXPECT_ERROR(ce_model_run(m, in, null_out), CE_INVALID_ARGUMENT);
  EXPECT_OK(ce_model_run(m, in, out));
  ce_model_free(m);

  // A model with no inputs, outputs or steps is valid and runs with NULL arrays.
  ce::ModelWriter w;
  ce_model* empty = load(w.finish());
  CHECK(empty != nullptr);
  CHECK(ce_model_input_count(empty) == 0 && ce_model_output_count(empty) == 0);
  if (empty) EXPECT_OK(ce_model_run(empty, nullptr, nullptr));
  ce_model_free(empty);
}

void test_threads() {
  g_context = "threads";
  const int n0 = ce_get_num_threads();
  CHECK(n0 >= 1);
  ce_set_num_threads(3);
  CHECK(ce_get_num_threads() == 3);
  ce_set_num_threads(0);
  CHECK(ce_get_num_threads() == 3);
  ce_set_num_threads(-4);
  CHECK(ce_get_num_threads() == 3);
  ce_set_num_threads(1);
  CHECK(ce_get_num_threads() == 1);
  ce_set_num_threads(2);

  // One model run from 6 threads at once: every run equals a run made alone.
  const Conv c = {1, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, true};
  ConvModel cm;
  ce_model* m = load(write_conv(c, &cm));
  CHECK(m != nullptr);
  if (!m) return;
  const auto x = random_floats(numel(c.in_shape()), 11);
  std::vector<float> want;
  EXPECT_OK(run(m, x, &want));
  CHECK(conv_error(cm, x, want) < 1e-5);
  std::atomic<int> errors{0}, mismatches{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; ++t)
    ts.emplace_back([&] {
      std::vector<float> y;
      for (int r = 0; r < 20; ++r) {
        ce_status* s = run(m, x, &y);
        if (s) ++errors;
        ce_status_free(s);
        if (std::memcmp(y.data(), want.data(), want.size() * sizeof(float)) != 0) ++mismatches;
      }
    });
  for (auto& t : ts) t.join();
  CHECK(errors == 0);
  CHECK(mismatches == 0);
  ce_model_free(m);
  ce_set_num_threads(n0);
  CHECK(ce_get_num_threads() == n0);
}

void test_files(const TempDir& dir) {
  g_context = "files";
  ConvModel cm;
  const Bytes file = write_conv(kConvs[0], &cm);
  const std::string path = dir.file("conv.cem");
  write_bytes(path, file.data(), file.size());
  ce_model* m = nullptr;
  EXPECT_OK(ce_model_load(path.c_str(), &m));
  CHECK(m != nullptr);
  if (m) {
    const auto x = random_floats(numel(kConvs[0].in_shape()), 5);
    std::vector<float> y;
    EXPECT_OK(run(m, x, &y));
    CHECK(conv_error(cm, x, y) < 1e-5);
    ce_model_free(m);
  }

  // A buffer that is not 64-byte aligned loads as well.
  Bytes shifted(file.size() + 1);
  std::memcpy(shifted.data() + 1, file.data(), file.size());
  m = nullptr;
  EXPECT_OK(ce_model_load_from_memory(shifted.data() + 1, file.size(), &m));
  CHECK(m != nullptr);
  ce_model_free(m);

  m = reinterpret_cast<ce_model*>(&m);  // must be reset to NULL on failure
  EXPECT_ERROR(ce_model_load(nullptr, &m), CE_INVALID_ARGUMENT);
  CHECK(m == nullptr);
  EXPECT_ERROR(ce_model_load(path.c_str(), nullptr), CE_INVALID_ARGUMENT);
  EXPECT_ERROR(ce_model_load_from_memory(nullptr, 100, &m), CE_INVALID_ARGUMENT);
  EXPECT_ERROR(ce_model_load_from_memory(file.data(), file.size(), nullptr), CE_INVALID_ARGUMENT);
  EXPECT_ERROR(ce_model_load(dir.file("missing.cem").c_str(), &m), CE_IO_ERROR);
  EXPECT_ERROR(ce_model_load(dir.path.string().c_str(), &m), CE_IO_ERROR);  // a directory
  const std::string empty = dir.file("empty.cem");
  write_bytes(empty, "", 0);
  EXPECT_ERROR(ce_model_load(empty.c_str(), &m), CE_INVALID_FILE);
  const std::string text = dir.file("text.cem");
  write_bytes(text, "this is not a model, but it is at least sixty-four bytes long........", 70);
  EXPECT_ERROR(ce_model_load(text.c_str(), &m), CE_INVALID_FILE);
  CHECK(m == nullptr);

  // Every truncation, from memory (length 0: see test_empty_misaligned_buffer); a few from disk.
  int ok = 1;
  for (size_t n = 1; n < file.size(); ++n) {
    ce_status* s = ce_model_load_from_memory(file.data(), n, &m);
    ok += s && ce_status_code(s) == CE_INVALID_FILE && *ce_status_message(s) && !m;
    ce_status_free(s);
    ce_model_free(m);
  }
  check(ok == static_cast<int>(file.size()), "every truncation is CE_INVALID_FILE", __LINE__,
        std::to_string(file.size() - ok) + " of " + std::to_string(file.size()) + " were not");
  for (size_t n : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, file.size() / 2, file.size() - 1}) {
    const std::string cut = dir.file("cut.cem");
    write_bytes(cut, file.data(), n);
    EXPECT_ERROR(ce_model_load(cut.c_str(), &m), CE_INVALID_FILE);
  }
  // Trailing garbage.
  Bytes longer = file;
  longer.push_back(0);
  EXPECT_ERROR(ce_model_load_from_memory(longer.data(), longer.size(), &m), CE_INVALID_FILE);

  // Every single-byte change is caught (by the checksum past the header, by the header checks).
  ok = 0;
  for (size_t i = 0; i < file.size(); ++i) {
    Bytes bad = file;
    bad[i] ^= static_cast<uint8_t>(1u << (i % 8));
    ce_status* s = ce_model_load_from_memory(bad.data(), bad.size(), &m);
    const int code = ce_status_code(s);
    ok += s && (code == CE_INVALID_FILE || code == CE_UNSUPPORTED) && *ce_status_message(s) && !m;
    if (!s || (code != CE_INVALID_FILE && code != CE_UNSUPPORTED))
      std::fprintf(stderr, "  byte %zu changed: code %d %s\n", i, code, ce_status_message(s));
    ce_status_free(s);
    ce_model_free(m);
  }
  check(ok == static_cast<int>(file.size()), "every single-byte change is rejected", __LINE__,
        std::to_string(file.size() - ok) + " of " + std::to_string(file.size()) + " were not");
}

void test_versions() {
  g_context = "versions";
  const Bytes file = write_conv(kConvs[0]);
  ce_model* m = nullptr;
  for (uint32_t v : {0u, 2u, 1000u, 0xFFFFFFFFu}) {
    Bytes f = file;
    poke<uint32_t>(f, 8, v);
    ce_status* s = ce_model_load_from_memory(f.data(), f.size(), &m);
    const std::string msg = ce_status_message(s);
    EXPECT_ERROR(s, CE_UNSUPPORTED);
    CHECK(msg.find("version") != std::string::npos);
  }
  const Bytes unknown = write_conv(kConvs[0], nullptr, [](ce::ModelWriter&, ConvModel& cm) {
    cm.steps[1].method = "add_frobnicate";
  });
  ce_status* s = ce_model_load_from_memory(unknown.data(), unknown.size(), &m);
  const std::string msg = ce_status_message(s);
  EXPECT_ERROR(s, CE_UNSUPPORTED);
  CHECK(msg.find("add_frobnicate") != std::string::npos);
  CHECK(m == nullptr);
}

// Correctly checksummed files whose content is hostile: each must be refused with
// CE_INVALID_FILE (never crash, never load).
void test_hostile() {
  using Tamper = std::function<void(ce::ModelWriter&, ConvModel&)>;
  const Conv c = kConvs[1];
  auto conv_out = [](ConvModel& m) -> TRef& { return m.steps[1].args[1].refs[0]; };
  auto conv_in = [](ConvModel& m) -> TRef& { return m.steps[1].args[0].refs[0]; };
  const std::vector<std::pair<const char*, Tamper>> cases = {
      {"output past the arena", [&](ce::ModelWriter&, ConvModel& m) { conv_out(m).offset += 16; }},
      {"arena too small", [&](ce::ModelWriter& w, ConvModel& m) { w.set_arena_floats(m.arena_floats - 1); }},
      {"negative arena", [&](ce::ModelWriter& w, ConvModel&) { w.set_arena_floats(-1); }},
      {"buffer 7", [&](ce::ModelWriter&, ConvModel& m) { conv_in(m).buf = 7; }},
      {"buffer -1", [&](ce::ModelWriter&, ConvModel& m) { conv_in(m).buf = -1; }},
      {"negative offset", [&](ce::ModelWriter&, ConvModel& m) { conv_in(m).offset = -1; }},
      {"negative stride past the start",
       [&](ce::ModelWriter&, ConvModel& m) { conv_in(m).strides[0] = -conv_in(m).strides[0]; }},
      {"huge stride", [&](ce::ModelWriter&, ConvModel& m) { conv_in(m).strides[2] = int64_t{1} << 40; }},
      {"stride overflowing int64",
       [&](ce::ModelWriter&, ConvModel& m) { conv_in(m).strides[2] = std::numeric_limits<int64_t>::max(); }},
      {"dimensions overflowing int64",
       [&](ce::ModelWriter&, ConvModel& m) {
         TRef& r = conv_in(m);
         for (int i = 0; i < r.rank; ++i) r.shape[i] = int64_t{1} << 40, r.strides[i] = 0;
       }},
      {"negative dimension", [&](ce::ModelWriter&, ConvModel& m) { conv_in(m).shape[2] = -3; }},
      {"input dimensions overflowing int64",
       [&](ce::ModelWriter& w, ConvModel&) { w.add_input({"big", "float32", {1 << 30, 1 << 30, 1 << 30}}); }},
      {"rank 9 input", [&](ce::ModelWriter& w, ConvModel&) { w.add_input({"r9", "float32", Dims(9, 1)}); }},
      {"unknown dtype", [&](ce::ModelWriter& w, ConvModel&) { w.add_output({"z", "float16", {1}}); }},
      {"writes into the input", [&](ce::ModelWriter&, ConvModel& m) { m.steps[0].args[2] = m.steps[0].args[1]; }},
      {"missing argument", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args.pop_back(); }},
      {"extra argument", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args.push_back(a_int(0)); }},
      {"wrong argument kind", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[5] = a_str("1"); }},
      {"tensor where an int belongs",
       [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[5] = m.steps[1].args[0]; }},
      {"weight channels mismatch",
       [&](ce::ModelWriter& w, ConvModel& m) {
         m.steps[1].args[3] = w.array(ce::DType::kF32, m.weight.data(), {12, 16, 3, 3});
       }},
      {"weight rank mismatch",
       [&](ce::ModelWriter& w, ConvModel& m) {
         m.steps[1].args[3] = w.array(ce::DType::kF32, m.weight.data(), {24, 16, 9});
       }},
      {"bias length", [&](ce::ModelWriter& w, ConvModel& m) {
         m.steps[1].args[4] = w.array(ce::DType::kF32, m.bias.data(), {7});
       }},
      {"groups 0", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[5] = a_int(0); }},
      {"groups -1", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[5] = a_int(-1); }},
      {"groups 5", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[5] = a_int(5); }},
      {"stride -1", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[6] = a_ints({1, -1, -1}); }},
      {"two strides", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[6] = a_ints({1, 1}); }},
      {"dilation 0", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[7] = a_ints({1, 0, 0}); }},
      {"negative padding", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[8] = a_ints({0, -1, -1}); }},
      {"huge padding",
       [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[8] = a_ints({0, int64_t{1} << 40, 1}); }},
      {"unknown algorithm", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[12] = a_str("magic"); }},
      {"unknown activation", [&](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[13] = a_str("magic"); }},
      {"output shape differs", [&](ce::ModelWriter&, ConvModel& m) { conv_out(m).shape[3] -= 1; }},
      {"input not channels-last", [&](ce::ModelWriter&, ConvModel& m) {
         conv_in(m) = tref(0, 0, c.in_shape(), contiguous(c.in_shape()));
       }},
      {"copy shapes differ", [&](ce::ModelWriter&, ConvModel& m) { m.steps[2].args[2].refs[0].shape[1] = 1; }},
  };
  for (const auto& [what, tamper] : cases) {
    g_context = std::string("hostile: ") + what;
    const Bytes f = write_conv(c, nullptr, tamper);
    ce_model* m = nullptr;
    EXPECT_ERROR(ce_model_load_from_memory(f.data(), f.size(), &m), CE_INVALID_FILE);
    CHECK(m == nullptr);
    ce_model_free(m);
  }
}

// Counts and offsets in the description that lie, with the checksum recomputed.
void test_lying_counts() {
  const Conv c = kConvs[1];
  ConvModel cm;
  const Bytes file = write_conv(c, &cm);
  const size_t meta = ce::kModelHeaderBytes;
  const size_t producer_len = std::strlen("test_c_api");
  const size_t n_inputs = meta + 4 + producer_len;
  const Bytes stride_list = le<int64_t>({1, 1, 1});       // the conv's stride and dilation lists
  const Bytes w_dims = le<int64_t>({24, 16, 3, 3});        // the weight's shape
  const size_t ints_at = find(file, stride_list, meta) - 4, dims_at = find(file, w_dims, meta);
  CHECK(ints_at < file.size() && dims_at < file.size());
  if (ints_at >= file.size() || dims_at >= file.size()) return;
  struct Edit {
    const char* what;
    size_t at;
    std::function<void(Bytes&, size_t)> poke;
  };
  auto u32 = [](uint32_t v) { return [v](Bytes& f, size_t at) { poke<uint32_t>(f, at, v); }; };
  auto i64 = [](int64_t v) { return [v](Bytes& f, size_t at) { poke<int64_t>(f, at, v); }; };
  const std::vector<Edit> edits = {
      {"producer length 4 GB", meta, u32(0xFFFFFFFFu)},
      {"producer length past the end", meta, u32(60000)},
      {"producer length 0", meta, u32(0)},
      {"3 inputs", n_inputs, u32(3)},
      {"65536 inputs", n_inputs, u32(65536)},
      {"no inputs", n_inputs, u32(0)},
      {"int list of 1000", ints_at, u32(1000)},
      {"int list of 2^31", ints_at, u32(0x80000000u)},
      {"int list of 2", ints_at, u32(2)},
      {"weight dimension 2^40", dims_at, i64(int64_t{1} << 40)},
      {"weight dimension -1", dims_at, i64(-1)},
      {"weight larger than the data", dims_at, i64(24 * 1000)},
      {"weight rank 9", dims_at - 4, u32(9)},
      {"array offset misaligned", dims_at + 32, i64(8)},
      {"array offset past the data", dims_at + 32, i64(int64_t{1} << 40)},
  };
  for (const Edit& e : edits) {
    g_context = std::string("lying count: ") + e.what;
    Bytes f = file;
    e.poke(f, e.at);
    reseal(f);
    ce_model* m = nullptr;
    EXPECT_ERROR(ce_model_load_from_memory(f.data(), f.size(), &m), CE_INVALID_FILE);
    ce_model_free(m);
  }

  // Header fields (not under the checksum) that lie.
  const std::vector<Edit> header = {
      {"header size", 12, u32(128)},
      {"file size", 16, i64(static_cast<int64_t>(file.size()) + 64)},
      {"description offset", 24, i64(128)},
      {"description size", 32, i64(1 << 30)},
      {"data offset misaligned", 40, i64(static_cast<int64_t>(file.size()) - 8)},
      {"data offset past the end", 40, i64(static_cast<int64_t>(file.size()) + 64)},
      {"data size", 48, i64(-1)},
  };
  for (const Edit& e : header) {
    g_context = std::string("lying header: ") + e.what;
    Bytes f = file;
    e.poke(f, e.at);
    ce_model* m = nullptr;
    EXPECT_ERROR(ce_model_load_from_memory(f.data(), f.size(), &m), CE_INVALID_FILE);
    ce_model_free(m);
  }
}

// Every byte of the description set to a few values, checksum recomputed: loading either fails
// with a message or gives a model (a changed name or weight is still a valid model) whose run
// succeeds or fails with a message.
void test_mutations() {
  g_context = "mutations";
  const Conv c = {1, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, true};
  const Bytes file = write_conv(c);
  uint64_t meta_bytes;
  std::memcpy(&meta_bytes, file.data() + 32, 8);
  int loaded = 0, refused = 0, bad_status = 0, run_failed = 0;
  for (size_t i = ce::kModelHeaderBytes; i < ce::kModelHeaderBytes + meta_bytes; ++i)
    for (int v : {0x00, 0xFF, 0x80, file[i] ^ 1, file[i] + 1}) {
      Bytes f = file;
      f[i] = static_cast<uint8_t>(v);
      if (f == file) continue;
      reseal(f);
      ce_model* m = nullptr;
      ce_status* s = ce_model_load_from_memory(f.data(), f.size(), &m);
      if (s) {
        ++refused;
        const int code = ce_status_code(s);
        if (!*ce_status_message(s) || m || (code != CE_INVALID_FILE && code != CE_UNSUPPORTED &&
                                            code != CE_OUT_OF_MEMORY)) {
          ++bad_status;
          std::fprintf(stderr, "  byte %zu = %d: code %d '%s'\n", i, v, code, ce_status_message(s));
        }
        ce_status_free(s);
        continue;
      }
      ++loaded;
      std::vector<std::vector<float>> ins(ce_model_input_count(m)), outs(ce_model_output_count(m));
      std::vector<const float*> in;
      std::vector<float*> out;
      bool small = true;
      for (int k = 0; k < 2; ++k)
        for (size_t j = 0; j < (k ? outs : ins).size(); ++j) {
          int64_t dims[CE_MAX_RANK];
          const int r = k ? ce_model_output_shape(m, static_cast<int>(j), dims)
                          : ce_model_input_shape(m, static_cast<int>(j), dims);
          const int64_t n = numel(Dims(dims, dims + r));
          small = small && n < (1 << 22);
          if (small) (k ? outs : ins)[j].assign(n, 0.5f);
        }
      for (auto& v : ins) in.push_back(v.data());
      for (auto& v : outs) out.push_back(v.data());
      ce_status* rs = small ? ce_model_run(m, in.data(), out.data()) : nullptr;
      if (rs) {
        ++run_failed;
        if (!*ce_status_message(rs)) ++bad_status;
      }
      ce_status_free(rs);
      ce_model_free(m);
    }
  std::printf("mutations: %d refused, %d loaded (%d of them failed to run)\n", refused, loaded, run_failed);
  CHECK(refused > 0);
  CHECK(bad_status == 0);
}

// Convolution parameters a compiled file may hold but the engine must refuse (with an output
// shape that matches them where one exists). Before 3d711ad the first five killed the process
// (SIGFPE), the sixth was a signed overflow and the seventh loaded, taking time linear in the
// padding, and failed every run.
void test_bad_conv_parameters() {
  const Conv c = kConvs[1];
  const std::vector<std::pair<const char*, Bytes>> files = {
      {"stride 0", write_conv(c, nullptr, [](ce::ModelWriter&, ConvModel& m) {
         m.steps[1].args[6] = a_ints({1, 0, 1});
       })},
      {"stride 0 on the unused depth axis", write_conv(c, nullptr, [](ce::ModelWriter&, ConvModel& m) {
         m.steps[1].args[6] = a_ints({0, 1, 1});
       })},
      {"dilation 0", write_conv({1, 16, 10, 10, 8, 3, 3, 1, 1, 0, 1, true})},
      {"dilation -1", write_conv({1, 16, 10, 10, 8, 3, 3, 1, 1, -1, 1, true})},
      {"no channels", write_conv({1, 0, 10, 10, 0, 3, 3, 1, 1, 1, 1, false})},
      {"padding overflowing int64", write_conv(c, nullptr, [](ce::ModelWriter&, ConvModel& m) {
         m.steps[1].args[8] = m.steps[1].args[9] = a_ints({0, std::numeric_limits<int64_t>::max(), 1});
       })},
      {"padding on the unused depth axis",
       write_conv(c, nullptr, [](ce::ModelWriter&, ConvModel& m) { m.steps[1].args[8] = a_ints({1, 1, 1}); })},
      {"negative padding", write_conv({1, 16, 10, 10, 8, 3, 3, 1, -1, 1, 1, true})},
  };
  for (const auto& [what, f] : files) {
    g_context = std::string("bad conv parameters: ") + what;
    ce_model* m = nullptr;
    EXPECT_ERROR(ce_model_load_from_memory(f.data(), f.size(), &m), CE_INVALID_FILE);
    ce_model_free(m);
  }
}

// An empty buffer that is not 64-byte aligned (load_compiled_model copies misaligned buffers)
// is an invalid file like an aligned one; it once reached memcpy(nullptr, data, 0) and came
// back as CE_INVALID_ARGUMENT "no data".
void test_empty_misaligned_buffer() {
  g_context = "an empty buffer not 64-byte aligned";
  static const uint8_t bytes[2] = {0, 0};
  ce_model* m = nullptr;
  EXPECT_ERROR(ce_model_load_from_memory(reinterpret_cast<uintptr_t>(bytes) % 64 ? bytes : bytes + 1, 0, &m),
               CE_INVALID_FILE);
}

// ---- the example runner -----------------------------------------------------------------------

std::string quote(const std::string& s) { return "'" + s + "'"; }

int shell(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A float32 C-order .npy file (version 1.0).
void write_npy(const std::string& path, const std::vector<float>& v, const Dims& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int64_t d : shape) dict += std::to_string(d) + ", ";
  dict += "), }";
  while ((10 + dict.size() + 1) % 64) dict += ' ';
  dict += '\n';
  std::string h = std::string("\x93NUMPY\x01\x00", 8) + char(dict.size() & 0xff) + char(dict.size() >> 8) + dict;
  Bytes b(h.begin(), h.end());
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  b.insert(b.end(), p, p + v.size() * sizeof(float));
  write_bytes(path, b.data(), b.size());
}

// The values of a float32 .npy file and its header; empty when it is not one.
std::vector<float> read_npy(const std::string& path, std::string* header) {
  const Bytes b = read_bytes(path);
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY\x01\x00", 8) != 0) return {};
  const size_t hl = b[8] | b[9] << 8;
  if (10 + hl > b.size() || (b.size() - 10 - hl) % 4) return {};
  *header = std::string(b.begin() + 10, b.begin() + 10 + hl);
  std::vector<float> v((b.size() - 10 - hl) / 4);
  std::memcpy(v.data(), b.data() + 10 + hl, v.size() * 4);
  return v;
}

void test_ce_run(const std::string& exe) {
  TempDir dir;
  const Conv c = kConvs[1];
  ConvModel cm;
  const Bytes file = write_conv(c, &cm);
  const auto x = random_floats(numel(c.in_shape()), 9);
  const std::string model = dir.file("conv.cem"), raw = dir.file("x.raw"), npy = dir.file("x.npy"),
                    err = dir.file("stderr.txt"), out = dir.file("stdout.txt");
  write_bytes(model, file.data(), file.size());
  write_bytes(raw, x.data(), x.size() * 4);
  write_npy(npy, x, c.in_shape());
  auto ce_run = [&](const std::string& args) {
    return shell(quote(exe) + " " + args + " >" + quote(out) + " 2>" + quote(err));
  };
  auto said = [&](const std::string& file, const std::string& text) {
    const Bytes b = read_bytes(file);
    return std::string(b.begin(), b.end()).find(text) != std::string::npos;
  };

  g_context = "ce_run: model description";
  CHECK(ce_run(quote(model)) == 0);
  CHECK(said(out, "input 0: x 2x16x10x10"));
  CHECK(said(out, "output 0: y 2x24x10x10"));

  g_context = "ce_run: .npy in, .npy out";
  CHECK(ce_run(quote(model) + " " + quote(npy) + " -o " + quote(dir.file("y.npy"))) == 0);
  std::string header;
  const auto y = read_npy(dir.file("y.npy"), &header);
  CHECK(header.find("'shape': (2, 24, 10, 10, )") != std::string::npos);
  CHECK((10 + header.size()) % 64 == 0 && header.back() == '\n');
  CHECK(conv_error(cm, x, y) < 1e-5);

  g_context = "ce_run: raw in, raw out, threads, repeats";
  CHECK(ce_run("-t 2 " + quote(model) + " -n 5 " + quote(raw) + " -o " + quote(dir.file("y.raw"))) == 0);
  const Bytes yr = read_bytes(dir.file("y.raw"));
  std::vector<float> y2(yr.size() / 4);
  std::memcpy(y2.data(), yr.data(), y2.size() * 4);
  CHECK(static_cast<int64_t>(yr.size()) == numel(c.out_shape()) * 4);
  CHECK(conv_error(cm, x, y2) < 1e-5);
  CHECK(said(out, "median"));
  CHECK(ce_run(quote(model) + " " + quote(raw)) == 0);  // no -o: nothing written

  g_context = "ce_run: errors";
  auto refused = [&](const std::string& args, int want, const std::string& text) {
    const int rc = ce_run(args);
    check(rc == want, "exit status", __LINE__, args + ": " + std::to_string(rc));
    check(said(err, text), "message", __LINE__, args + ": wanted '" + text + "'");
  };
  const std::string short_raw = dir.file("short.raw"), wrong_npy = dir.file("wrong.npy"),
                    f64_npy = dir.file("f64.npy"), cut_npy = dir.file("cut.npy");
  write_bytes(short_raw, x.data(), x.size() * 4 - 4);
  write_npy(wrong_npy, x, {2, 16, 100});
  {
    Bytes b = read_bytes(npy);
    const std::string f = std::string(b.begin(), b.end());
    const size_t at = f.find("<f4");
    b[at + 2] = '8';
    write_bytes(f64_npy, b.data(), b.size());
    write_bytes(cut_npy, b.data(), 40);
  }
  refused("", 2, "usage");
  refused("-x " + quote(model), 2, "unknown option -x");
  refused(quote(model) + " -t", 2, "-t needs an integer from 1 to 1024");
  refused(quote(model) + " -n 0 " + quote(raw), 2, "-n needs an integer from 1 to 1000000");
  refused(quote(model) + " -t many " + quote(raw), 2, "-t needs an integer from 1 to 1024");
  refused(quote(dir.file("missing.cem")) + " " + quote(raw), 1, "cannot open");
  refused(quote(raw) + " " + quote(raw), 1, "bad magic");
  refused(quote(model) + " " + quote(raw) + " " + quote(raw), 2, "the model has 1 input, 2 given");
  refused(quote(model) + " " + quote(raw) + " -o a.npy b.npy", 2, "the model has 1 output, 2 given");
  refused(quote(model) + " " + quote(short_raw), 1, "needs 12800");
  refused(quote(model) + " " + quote(dir.file("none.raw")), 1, "cannot open");
  refused(quote(model) + " " + quote(wrong_npy), 1, "shape 2x16x100, input 'x' has shape 2x16x10x10");
  refused(quote(model) + " " + quote(f64_npy), 1, "float32");
  refused(quote(model) + " " + quote(cut_npy), 1, ".npy");
  refused(quote(model) + " " + quote(raw) + " -o " + quote(dir.file("no/such/dir.npy")), 1, "cannot create");
  CHECK(ce_run("-h") == 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--ce-run") {
    test_ce_run(argv[2]);
  } else if (argc == 1) {
    TempDir dir;
    test_basics();
    test_convolutions();
    test_queries();
    test_threads();
    test_files(dir);
    test_versions();
    test_hostile();
    test_bad_conv_parameters();
    test_lying_counts();
    test_mutations();
    test_empty_misaligned_buffer();
  } else {
    std::fprintf(stderr, "usage: test_c_api [--ce-run PATH]\n");
    return 2;
  }
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
