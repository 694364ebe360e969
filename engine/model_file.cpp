#include "engine/model_file.h"

#include <cstring>
#include <limits>

namespace ce {

namespace {

constexpr char kMagic[8] = {'C', 'E', 'M', 'O', 'D', 'E', 'L', '\0'};
// Limits that keep a hostile file from asking for absurd work before anything is checked
// against the buffers: names, list lengths and dimensions.
constexpr uint32_t kMaxString = 1u << 16;
constexpr uint32_t kMaxList = 1u << 26;
constexpr int64_t kMaxDim = int64_t{1} << 40;
constexpr int64_t kMaxFloats = int64_t{1} << 40;

// Header layout (little-endian, 64 bytes).
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;
  uint64_t file_bytes;
  uint64_t meta_offset, meta_bytes;
  uint64_t data_offset, data_bytes;
  uint64_t checksum;  // model_checksum of bytes [header_bytes, file_bytes)
};
static_assert(sizeof(Header) == kModelHeaderBytes, "header layout");

uint64_t align_up(uint64_t n) { return (n + kModelAlign - 1) / kModelAlign * kModelAlign; }

[[noreturn]] void bad(const std::string& msg) {
  throw ModelFileError(ErrorCode::kInvalidFile, "compiled model: " + msg);
}

// Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF):
// names reach Python and C callers as text, and a name that is not text must not get that far.
bool is_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

class Out {
 public:
  template <class T>
  void put(T v) {
    const size_t n = buf.size();
    buf.resize(n + sizeof(T));
    std::memcpy(buf.data() + n, &v, sizeof(T));
  }
  void str(const std::string& s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    buf.insert(buf.end(), s.begin(), s.end());
  }
  void dims(const int64_t* d, int n) {
    put<uint32_t>(static_cast<uint32_t>(n));
    for (int i = 0; i < n; ++i) put<int64_t>(d[i]);
  }
  void ref(const TRef& r) {
    put<int32_t>(r.buf);
    put<int64_t>(r.offset);
    put<uint32_t>(static_cast<uint32_t>(r.rank));
    for (int i = 0; i < r.rank; ++i) put<int64_t>(r.shape[i]);
    for (int i = 0; i < r.rank; ++i) put<int64_t>(r.strides[i]);
  }
  std::vector<uint8_t> buf;
};

class In {
 public:
  In(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  template <class T>
  T get(const char* what) {
    if (n_ - pos_ < sizeof(T)) bad(std::string("the description ends inside ") + what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  uint32_t count(const char* what, uint32_t limit = kMaxList) {
    const uint32_t n = get<uint32_t>(what);
    if (n > limit) bad(std::string(what) + ": length " + std::to_string(n) + " is too large");
    // every element takes at least one byte: a count beyond the bytes left is a lie
    if (n > n_ - pos_) bad(std::string(what) + ": length " + std::to_string(n) + " runs past the end");
    return n;
  }
  std::string str(const char* what) {
    const uint32_t n = count(what, kMaxString);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    if (!is_utf8(s)) bad(std::string(what) + ": a string of " + std::to_string(n) + " bytes at byte " +
                         std::to_string(pos_) + " of the description is not UTF-8");
    pos_ += n;
    return s;
  }
  std::vector<int64_t> shape(const char* what) {
    const uint32_t r = count(what, kMaxRank);
    std::vector<int64_t> d(r);
    for (auto& v : d) {
      v = get<int64_t>(what);
      if (v < 0 || v > kMaxDim) bad(std::string(what) + ": dimension " + std::to_string(v) + " out of range");
    }
    return d;
  }
  TRef ref(const std::string& where) {
    TRef r;
    r.buf = get<int32_t>("a tensor reference");
    r.offset = get<int64_t>("a tensor reference");
    const uint32_t rank = get<uint32_t>("a tensor reference");
    if (rank > static_cast<uint32_t>(kMaxRank)) bad(where + ": tensor rank " + std::to_string(rank) + " > 8");
    r.rank = static_cast<int>(rank);
    for (int i = 0; i < r.rank; ++i) r.shape[i] = get<int64_t>("a tensor reference");
    for (int i = 0; i < r.rank; ++i) r.strides[i] = get<int64_t>("a tensor reference");
    for (int i = 0; i < r.rank; ++i)
      if (r.shape[i] < 0 || r.shape[i] > kMaxDim || r.strides[i] < -kMaxFloats || r.strides[i] > kMaxFloats)
        bad(where + ": tensor reference out of range: " + r.describe());
    if (r.offset < 0 || r.offset > kMaxFloats) bad(where + ": tensor offset out of range: " + r.describe());
    return r;
  }
  bool done() const { return pos_ == n_; }

 private:
  const uint8_t* p_;
  size_t n_, pos_ = 0;
};

void put_tensors(Out& o, const std::vector<TensorDesc>& ts) {
  o.put<uint32_t>(static_cast<uint32_t>(ts.size()));
  for (const auto& t : ts) {
    o.str(t.name);
    o.str(t.dtype);
    o.dims(t.shape.data(), static_cast<int>(t.shape.size()));
  }
}

std::vector<TensorDesc> get_tensors(In& in, const char* what) {
  std::vector<TensorDesc> ts(in.count(what, 1u << 16));
  for (auto& t : ts) {
    t.name = in.str(what);
    t.dtype = in.str(what);
    if (t.dtype != "float32" && t.dtype != "int64")
      bad(std::string(what) + " " + t.name + ": unknown dtype '" + t.dtype + "'");
    t.shape = in.shape(what);
    int64_t n = 1;
    for (int64_t d : t.shape)
      if (d && n > kMaxFloats / d) bad(std::string(what) + " " + t.name + ": too many elements");
      else n *= d;
  }
  return ts;
}

}  // namespace

const char* arg_kind_name(ArgKind k) {
  switch (k) {
    case ArgKind::kNone: return "none";
    case ArgKind::kInt: return "int";
    case ArgKind::kFloat: return "float";
    case ArgKind::kStr: return "string";
    case ArgKind::kInts: return "int list";
    case ArgKind::kFloats: return "float list";
    case ArgKind::kRef: return "tensor";
    case ArgKind::kRefs: return "tensor list";
    case ArgKind::kArray: return "array";
  }
  return "?";
}

int64_t ArrayArg::count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

uint64_t model_checksum(const uint8_t* p, size_t n) {
  // Four independent multiply-rotate lanes over 8-byte words (a few GB/s), then the tail.
  constexpr uint64_t k1 = 0x9E3779B185EBCA87ull, k2 = 0xC2B2AE3D27D4EB4Full;
  auto rotl = [](uint64_t x, int r) { return (x << r) | (x >> (64 - r)); };
  uint64_t h[4] = {k1 + k2, k2, 0, 0 - k1};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * k, 8);
      h[k] = rotl(h[k] + w * k2, 31) * k1;
    }
  uint64_t acc = rotl(h[0], 1) + rotl(h[1], 7) + rotl(h[2], 12) + rotl(h[3], 18) + n;
  for (; i < n; ++i) acc = rotl(acc ^ (p[i] * k1), 11) * k2;
  acc ^= acc >> 33;
  acc *= k2;
  acc ^= acc >> 29;
  return acc;
}

int64_t ModelWriter::add_pool_constant(const float* data, int64_t count) {
  const int64_t off = static_cast<int64_t>(pool_.size());
  pool_.resize(off + (count + 15) / 16 * 16, 0.0f);
  if (count) std::memcpy(pool_.data() + off, data, count * sizeof(float));
  return off;
}

Arg ModelWriter::array(DType dtype, const void* data, std::vector<int64_t> shape) {
  Arg a;
  a.kind = ArgKind::kArray;
  a.array.dtype = dtype;
  a.array.shape = std::move(shape);
  const size_t bytes = static_cast<size_t>(a.array.count()) * (dtype == DType::kF32 ? 4 : 8);
  a.array_offset = data_.size();
  data_.resize(align_up(data_.size() + bytes), 0);
  if (bytes) std::memcpy(data_.data() + a.array_offset, data, bytes);
  return a;
}

std::vector<uint8_t> ModelWriter::finish() {
  const auto f = finish_aligned();
  return std::vector<uint8_t>(f.begin(), f.end());
}

std::vector<uint8_t, AlignedAllocator<uint8_t>> ModelWriter::finish_aligned() {
  const uint64_t pool_bytes = align_up(pool_.size() * sizeof(float));
  Out m;
  m.str(desc_.producer);
  put_tensors(m, desc_.inputs);
  put_tensors(m, desc_.outputs);
  m.put<int64_t>(desc_.arena_floats);
  m.put<uint64_t>(0);  // the pool's byte offset in the data section
  m.put<int64_t>(static_cast<int64_t>(pool_.size()));
  m.put<uint32_t>(static_cast<uint32_t>(desc_.steps.size()));
  for (const StepDesc& s : desc_.steps) {
    m.str(s.method);
    m.str(s.name);
    m.str(s.op);
    m.put<uint32_t>(static_cast<uint32_t>(s.args.size()));
    for (const Arg& a : s.args) {
      m.put<uint8_t>(static_cast<uint8_t>(a.kind));
      switch (a.kind) {
        case ArgKind::kNone: break;
        case ArgKind::kInt: m.put<int64_t>(a.i); break;
        case ArgKind::kFloat: m.put<double>(a.f); break;
        case ArgKind::kStr: m.str(a.s); break;
        case ArgKind::kInts:
          m.put<uint32_t>(static_cast<uint32_t>(a.ints.size()));
          for (int64_t v : a.ints) m.put<int64_t>(v);
          break;
        case ArgKind::kFloats:
          m.put<uint32_t>(static_cast<uint32_t>(a.floats.size()));
          for (double v : a.floats) m.put<double>(v);
          break;
        case ArgKind::kRef: m.ref(a.refs.at(0)); break;
        case ArgKind::kRefs:
          m.put<uint32_t>(static_cast<uint32_t>(a.refs.size()));
          for (const TRef& r : a.refs) m.ref(r);
          break;
        case ArgKind::kArray:
          m.put<uint8_t>(static_cast<uint8_t>(a.array.dtype));
          m.dims(a.array.shape.data(), static_cast<int>(a.array.shape.size()));
          m.put<uint64_t>(pool_bytes + a.array_offset);
          break;
      }
    }
  }
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kModelFileVersion;
  h.header_bytes = kModelHeaderBytes;
  h.meta_offset = kModelHeaderBytes;
  h.meta_bytes = m.buf.size();
  h.data_offset = align_up(h.meta_offset + h.meta_bytes);
  h.data_bytes = pool_bytes + data_.size();
  h.file_bytes = h.data_offset + h.data_bytes;
  std::vector<uint8_t, AlignedAllocator<uint8_t>> file(h.file_bytes);  // not zero-filled
  std::memset(file.data(), 0, h.data_offset);
  std::memcpy(file.data() + h.meta_offset, m.buf.data(), m.buf.size());
  if (!pool_.empty()) std::memcpy(file.data() + h.data_offset, pool_.data(), pool_.size() * sizeof(float));
  std::memset(file.data() + h.data_offset + pool_.size() * sizeof(float), 0,
              pool_bytes - pool_.size() * sizeof(float));
  if (!data_.empty()) std::memcpy(file.data() + h.data_offset + pool_bytes, data_.data(), data_.size());
  h.checksum = model_checksum(file.data() + kModelHeaderBytes, file.size() - kModelHeaderBytes);
  std::memcpy(file.data(), &h, sizeof h);
  return file;
}

ModelDesc parse_model_file(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (!p) throw ModelFileError(ErrorCode::kInvalidArgument, "compiled model: no data");
  if (size < kModelHeaderBytes) bad("the file has " + std::to_string(size) + " bytes, less than its header");
  Header h;
  std::memcpy(&h, p, sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0) bad("not a convengine compiled model (bad magic)");
  if (h.version != kModelFileVersion)
    throw ModelFileError(ErrorCode::kUnsupported,
                         "compiled model: format version " + std::to_string(h.version) +
                             ", this build reads version " + std::to_string(kModelFileVersion));
  if (h.header_bytes != kModelHeaderBytes) bad("header size " + std::to_string(h.header_bytes));
  if (h.file_bytes != size)
    bad("the header says " + std::to_string(h.file_bytes) + " bytes, the file has " +
        std::to_string(size) + " (truncated or padded)");
  if (h.meta_offset != kModelHeaderBytes || h.meta_bytes > size - h.meta_offset)
    bad("the description section lies outside the file");
  if (h.data_offset % kModelAlign || h.data_offset < h.meta_offset + h.meta_bytes ||
      h.data_offset > size || h.data_bytes != size - h.data_offset)
    bad("the data section lies outside the file or is misaligned");
  if (model_checksum(p + kModelHeaderBytes, size - kModelHeaderBytes) != h.checksum)
    bad("checksum mismatch (the file is corrupted)");
  const uint8_t* dsec = p + h.data_offset;
  const uint64_t dbytes = h.data_bytes;

  In in(p + h.meta_offset, h.meta_bytes);
  ModelDesc d;
  d.producer = in.str("the producer");
  d.inputs = get_tensors(in, "input");
  d.outputs = get_tensors(in, "output");
  d.arena_floats = in.get<int64_t>("the arena size");
  if (d.arena_floats < 0 || d.arena_floats > kMaxFloats) bad("arena size " + std::to_string(d.arena_floats));
  const uint64_t pool_off = in.get<uint64_t>("the constant pool");
  d.pool_floats = in.get<int64_t>("the constant pool");
  if (d.pool_floats < 0 || pool_off % kModelAlign || pool_off > dbytes ||
      static_cast<uint64_t>(d.pool_floats) > (dbytes - pool_off) / 4)
    bad("the constant pool lies outside the data section");
  d.pool = reinterpret_cast<const float*>(dsec + pool_off);
  d.steps.resize(in.count("the step list"));
  for (size_t si = 0; si < d.steps.size(); ++si) {
    StepDesc& s = d.steps[si];
    s.method = in.str("a step");
    s.name = in.str("a step");
    s.op = in.str("a step");
    const std::string where = "step " + std::to_string(si) + " (" + s.name + ", " + s.method + ")";
    s.args.resize(in.count("a step's arguments", 256));
    for (size_t ai = 0; ai < s.args.size(); ++ai) {
      Arg& a = s.args[ai];
      const uint8_t k = in.get<uint8_t>("an argument");
      if (k > static_cast<uint8_t>(ArgKind::kArray))
        bad(where + ": argument " + std::to_string(ai) + " has unknown kind " + std::to_string(k));
      a.kind = static_cast<ArgKind>(k);
      switch (a.kind) {
        case ArgKind::kNone: break;
        case ArgKind::kInt: a.i = in.get<int64_t>("an argument"); break;
        case ArgKind::kFloat: a.f = in.get<double>("an argument"); break;
        case ArgKind::kStr: a.s = in.str("an argument"); break;
        case ArgKind::kInts:
          a.ints.resize(in.count("an int list"));
          for (auto& v : a.ints) v = in.get<int64_t>("an int list");
          break;
        case ArgKind::kFloats:
          a.floats.resize(in.count("a float list"));
          for (auto& v : a.floats) v = in.get<double>("a float list");
          break;
        case ArgKind::kRef: a.refs.push_back(in.ref(where)); break;
        case ArgKind::kRefs:
          a.refs.resize(in.count("a tensor list", 1u << 16));
          for (auto& r : a.refs) r = in.ref(where);
          break;
        case ArgKind::kArray: {
          const uint8_t dt = in.get<uint8_t>("an array");
          if (dt > 1) bad(where + ": array of unknown dtype " + std::to_string(dt));
          a.array.dtype = static_cast<DType>(dt);
          a.array.shape = in.shape("an array");
          const uint64_t off = in.get<uint64_t>("an array");
          int64_t n = 1;
          for (int64_t v : a.array.shape)
            if (v && n > kMaxFloats / v) bad(where + ": array too large");
            else n *= v;
          const uint64_t bytes = static_cast<uint64_t>(n) * (dt ? 8 : 4);
          if (off % kModelAlign || off > dbytes || bytes > dbytes - off)
            bad(where + ": argument " + std::to_string(ai) + " (an array of " + std::to_string(n) +
                " elements at byte " + std::to_string(off) + ") lies outside the data section");
          a.array.data = dsec + off;
          break;
        }
      }
    }
  }
  if (!in.done()) bad("bytes left over after the last step");
  return d;
}

}  // namespace ce
