// The C API (include/convengine.h) over CompiledModel: every entry point catches everything, so
// no exception crosses the boundary.
#include "include/convengine.h"

#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "engine/plan_builder.h"
#include "engine/thread_pool.h"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

struct ce_status {
  int code;
  std::string message;
};

struct ce_model {
  std::unique_ptr<ce::CompiledModel> m;
};

namespace {

// Returned when there is no memory for a status of its own; ce_status_free leaves it alone.
ce_status g_no_memory{CE_OUT_OF_MEMORY, "out of memory"};

ce_status* status(int code, const std::string& msg) noexcept {
  try {
    return new ce_status{code, msg};
  } catch (...) {
    return &g_no_memory;
  }
}

template <class F>
ce_status* guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const ce::ModelFileError& e) {
    return status(static_cast<int>(e.code()), e.what());
  } catch (const ce::OutOfMemory& e) {  // names what was asked for and its size
    return status(CE_OUT_OF_MEMORY, e.what());
  } catch (const std::bad_alloc&) {
    return status(CE_OUT_OF_MEMORY, "out of memory");
  } catch (const std::invalid_argument& e) {
    return status(CE_INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    return status(CE_RUNTIME_ERROR, e.what());
  } catch (...) {
    return status(CE_RUNTIME_ERROR, "unknown error");
  }
}

ce_status* load(const void* data, size_t size, ce_model** out) {
  auto cm = ce::load_compiled_model(data, size);
  *out = new ce_model{std::move(cm)};
  return nullptr;
}

int shape_of(const std::vector<ce::TensorDesc>& ts, int i, int64_t* dims) {
  if (i < 0 || static_cast<size_t>(i) >= ts.size()) return -1;
  const auto& s = ts[i].shape;
  if (dims)
    for (size_t k = 0; k < s.size() && k < CE_MAX_RANK; ++k) dims[k] = s[k];
  return static_cast<int>(s.size());
}

}  // namespace

extern "C" {

const char* ce_version(void) { return "0.1.0 (format 1)"; }

ce_status* ce_model_load_from_memory(const void* data, size_t size, ce_model** out) {
  if (!out) return status(CE_INVALID_ARGUMENT, "ce_model_load_from_memory: out is NULL");
  *out = nullptr;
  if (!data) return status(CE_INVALID_ARGUMENT, "ce_model_load_from_memory: data is NULL");
  return guarded([&] { return load(data, size, out); });
}

ce_status* ce_model_load(const char* path, ce_model** out) {
  if (!out) return status(CE_INVALID_ARGUMENT, "ce_model_load: out is NULL");
  *out = nullptr;
  if (!path) return status(CE_INVALID_ARGUMENT, "ce_model_load: path is NULL");
  return guarded([&]() -> ce_status* {
#if defined(__unix__) || defined(__APPLE__)
    // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer (forever); the
    // S_ISREG check below then refuses it. Reads of a regular file ignore the flag.
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return status(CE_IO_ERROR, std::string("cannot open ") + path + ": " + std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      return status(CE_IO_ERROR, std::string(path) + " is not a regular file");
    }
    const size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) {
      close(fd);
      return status(CE_INVALID_FILE, std::string("compiled model: ") + path + " is empty");
    }
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return status(CE_IO_ERROR, std::string("cannot map ") + path + ": " + std::strerror(errno));
    struct Unmap {
      void* p;
      size_t n;
      ~Unmap() { munmap(p, n); }
    } unmap{p, size};
    return load(p, size, out);
#else
    std::FILE* f = std::fopen(path, "rb");
    if (!f) return status(CE_IO_ERROR, std::string("cannot open ") + path);
    std::vector<char> bytes;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
    std::fclose(f);
    return load(bytes.data(), bytes.size(), out);
#endif
  });
}

int ce_model_input_count(const ce_model* m) { return m ? static_cast<int>(m->m->inputs.size()) : -1; }
int ce_model_output_count(const ce_model* m) { return m ? static_cast<int>(m->m->outputs.size()) : -1; }

const char* ce_model_input_name(const ce_model* m, int i) {
  if (!m || i < 0 || static_cast<size_t>(i) >= m->m->inputs.size()) return nullptr;
  return m->m->inputs[i].name.c_str();
}

const char* ce_model_output_name(const ce_model* m, int i) {
  if (!m || i < 0 || static_cast<size_t>(i) >= m->m->outputs.size()) return nullptr;
  return m->m->outputs[i].name.c_str();
}

int ce_model_input_shape(const ce_model* m, int i, int64_t* dims) {
  return m ? shape_of(m->m->inputs, i, dims) : -1;
}

int ce_model_output_shape(const ce_model* m, int i, int64_t* dims) {
  return m ? shape_of(m->m->outputs, i, dims) : -1;
}

ce_status* ce_model_run(const ce_model* m, const float* const* inputs, float* const* outputs) {
  if (!m) return status(CE_INVALID_ARGUMENT, "ce_model_run: model is NULL");
  const size_t ni = m->m->inputs.size(), no = m->m->outputs.size();
  if ((ni && !inputs) || (no && !outputs))
    return status(CE_INVALID_ARGUMENT, "ce_model_run: inputs or outputs is NULL");
  for (size_t i = 0; i < ni; ++i)
    if (!inputs[i]) return status(CE_INVALID_ARGUMENT, "ce_model_run: input " + std::to_string(i) + " is NULL");
  for (size_t j = 0; j < no; ++j)
    if (!outputs[j]) return status(CE_INVALID_ARGUMENT, "ce_model_run: output " + std::to_string(j) + " is NULL");
  return guarded([&]() -> ce_status* {
    std::vector<const float*> in(inputs, inputs + ni);
    std::vector<float*> out(outputs, outputs + no);
    m->m->plan->run(in, out, ce::ThreadPool::global());
    return nullptr;
  });
}

void ce_model_free(ce_model* m) { delete m; }

static_assert(CE_MAX_THREADS == ce::ThreadPool::kMaxThreads, "include/convengine.h's bound");

void ce_set_num_threads(int n) {
  if (n < 1 || n > CE_MAX_THREADS) return;
  try {
    ce::ThreadPool::global().set_num_threads(n);
  } catch (...) {
  }
}

int ce_get_num_threads(void) { return ce::ThreadPool::global().num_threads(); }

int ce_status_code(const ce_status* s) { return s ? s->code : CE_OK; }
const char* ce_status_message(const ce_status* s) { return s ? s->message.c_str() : ""; }

void ce_status_free(ce_status* s) {
  if (s != &g_no_memory) delete s;
}

}  // extern "C"
