/* convengine C API: load a compiled model (.cem, written by `convengine compile` or
 * InferenceSession.save_compiled) and run it, with no Python.
 *
 * C99. No C++ type and no exception crosses this interface: every fallible call returns a
 * ce_status*, NULL on success; a non-NULL status carries a code and a message and is owned by
 * the caller (release it with ce_status_free).
 *
 * Ownership: ce_model_load* returns a model owned by the caller (ce_model_free). A model is
 * immutable after load: ce_model_run may be called from several threads at once on one model
 * (each run has its own activation memory). Strings returned by the model (names) live as long
 * as the model. The input buffers of ce_model_load_from_memory may be freed when it returns.
 *
 * Threads: one engine-wide pool (ce_set_num_threads). Concurrent runs share it: a run that finds
 * it busy works on its calling thread.
 */
#ifndef CONVENGINE_H_
#define CONVENGINE_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define CE_API __declspec(dllexport)
#else
#define CE_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define CE_MAX_RANK 8

typedef struct ce_model ce_model;   /* immutable after load; shareable across threads */
typedef struct ce_status ce_status; /* NULL means success */

/* status codes */
enum {
  CE_OK = 0,
  CE_INVALID_ARGUMENT = 1, /* a NULL pointer, an index out of range, a bad thread count */
  CE_INVALID_FILE = 2,     /* truncated, corrupted or inconsistent compiled model */
  CE_UNSUPPORTED = 3,      /* a format version or step this build does not know */
  CE_IO_ERROR = 4,         /* the file cannot be opened or read */
  CE_OUT_OF_MEMORY = 5,
  CE_RUNTIME_ERROR = 6     /* a failure while running */
};

/* The library's version, "MAJOR.MINOR.PATCH (format N)". */
CE_API const char* ce_version(void);

CE_API ce_status* ce_model_load(const char* path, ce_model** out);
CE_API ce_status* ce_model_load_from_memory(const void* data, size_t size, ce_model** out);

CE_API int ce_model_input_count(const ce_model* m);
CE_API int ce_model_output_count(const ce_model* m);
/* NULL when i is out of range. */
CE_API const char* ce_model_input_name(const ce_model* m, int i);
CE_API const char* ce_model_output_name(const ce_model* m, int i);
/* rank of input/output i; dims written to `dims` (at most CE_MAX_RANK); -1 when i is out of
   range or m is NULL. */
CE_API int ce_model_input_shape(const ce_model* m, int i, int64_t* dims);
CE_API int ce_model_output_shape(const ce_model* m, int i, int64_t* dims);

/* inputs[i] / outputs[j]: contiguous float32 arrays in the model's (NCHW) shapes;
   safe to call from several threads at once on one model. */
CE_API ce_status* ce_model_run(const ce_model* m, const float* const* inputs,
                               float* const* outputs);
CE_API void ce_model_free(ce_model* m); /* NULL-safe */

/* Threads of the engine's pool (default: the CPUs the process may use, at most CE_MAX_THREADS).
   n < 1 or n > CE_MAX_THREADS is ignored; when the system cannot start the threads the pool
   keeps the ones it had (ce_get_num_threads tells). */
#define CE_MAX_THREADS 1024
CE_API void ce_set_num_threads(int n);
CE_API int ce_get_num_threads(void);

CE_API int ce_status_code(const ce_status* s);            /* CE_OK for NULL */
CE_API const char* ce_status_message(const ce_status* s); /* "" for NULL */
CE_API void ce_status_free(ce_status* s);                 /* NULL-safe */

#ifdef __cplusplus
}
#endif

#endif /* CONVENGINE_H_ */
