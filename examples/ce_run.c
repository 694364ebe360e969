/* ce_run: run a compiled convengine model (.cem) from the command line.
 *
 *   ce_run MODEL.cem                      print the model's inputs and outputs
 *   ce_run MODEL.cem [-t THREADS] [-n REPEATS] INPUT... [-o OUTPUT...]
 *
 * One INPUT per model input, in order: a .npy file (float32, C order, the input's shape) or raw
 * little-endian float32 holding exactly the input's element count. One OUTPUT per model output,
 * written as .npy when its name ends in .npy and as raw float32 otherwise (no -o: nothing is
 * written). -n runs the model REPEATS times and prints the median latency.
 * Exit status: 0 success, 1 error, 2 bad command line.
 *
 * This is the example of the C API: it uses nothing of convengine but include/convengine.h.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <convengine.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int rank;
  int64_t dims[CE_MAX_RANK];
  size_t count; /* elements */
} Shape;

static int error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ce_run: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

static int usage(FILE* f, int rc) {
  fputs("usage: ce_run MODEL.cem [-t THREADS] [-n REPEATS] INPUT... [-o OUTPUT...]\n"
        "       ce_run MODEL.cem   (prints the model's inputs and outputs)\n"
        "inputs: .npy (float32, C order) or raw little-endian float32; outputs: .npy if the\n"
        "name ends in .npy, raw float32 otherwise\n",
        f);
  return rc;
}

static int ends_with(const char* s, const char* tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && strcmp(s + n - m, tail) == 0;
}

/* "1x3x224x224" */
static const char* shape_str(const Shape* s, char* buf, size_t size) {
  size_t n = 0;
  int i;
  buf[0] = '\0';
  for (i = 0; i < s->rank && n < size; ++i)
    n += (size_t)snprintf(buf + n, size - n, i ? "x%lld" : "%lld", (long long)s->dims[i]);
  if (s->rank == 0) snprintf(buf, size, "scalar");
  return buf;
}

static int model_shape(const ce_model* m, int output, int i, Shape* s) {
  int k;
  s->rank = output ? ce_model_output_shape(m, i, s->dims) : ce_model_input_shape(m, i, s->dims);
  if (s->rank < 0 || s->rank > CE_MAX_RANK) return 0;
  s->count = 1;
  for (k = 0; k < s->rank; ++k) {
    if (s->dims[k] < 0 || (s->dims[k] && s->count > (size_t)-1 / sizeof(float) / (size_t)s->dims[k]))
      return 0;
    s->count *= (size_t)s->dims[k];
  }
  return 1;
}

/* The whole file in a malloc'ed buffer, or NULL after printing why. */
static unsigned char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  unsigned char* data = NULL;
  long n = 0;
  if (!f) {
    error("cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    error("cannot read %s", path);
  } else if (!(data = malloc(n ? (size_t)n : 1))) {
    error("out of memory reading %s (%ld bytes)", path, n);
  } else if (fread(data, 1, (size_t)n, f) != (size_t)n) {
    error("cannot read %s", path);
    free(data);
    data = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return data;
}

/* The value after 'key': in a .npy header dict, or NULL. */
static const char* npy_field(const char* header, const char* key) {
  const char* p = strstr(header, key);
  if (!p) return NULL;
  p += strlen(key);
  while (*p == ' ' || *p == ':') ++p;
  return p;
}

/* A .npy file: "\x93NUMPY", version, header length, then a dict such as
   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8), }, then the data. */
static int read_npy(const char* path, const unsigned char* p, size_t n, const Shape* want,
                    const char* name, float* dst) {
  size_t start, hlen;
  char header[4096], buf[2][128];
  const char* v;
  Shape got;
  got.rank = 0;
  got.count = 1;
  if (n < 10 || memcmp(p, "\x93NUMPY", 6) != 0) return error("%s is not a .npy file", path);
  if (p[6] == 1) {
    start = 10;
    hlen = p[8] | (size_t)p[9] << 8;
  } else if ((p[6] == 2 || p[6] == 3) && n >= 12) {
    start = 12;
    hlen = p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
  } else {
    return error("%s: unsupported .npy version %d", path, p[6]);
  }
  if (hlen >= sizeof header || hlen > n - start) return error("%s: bad .npy header", path);
  memcpy(header, p + start, hlen);
  header[hlen] = '\0';
  if (!(v = npy_field(header, "'descr'")) || strncmp(v, "'<f4'", 5) != 0)
    return error("%s: the array must be float32 (dtype '<f4')", path);
  if (!(v = npy_field(header, "'fortran_order'")) || strncmp(v, "False", 5) != 0)
    return error("%s: the array must be in C order", path);
  if (!(v = npy_field(header, "'shape'")) || *v++ != '(') return error("%s: bad .npy shape", path);
  for (;;) {
    char* end;
    long long d;
    while (*v == ' ' || *v == ',') ++v;
    if (*v == ')') break;
    errno = 0;
    d = strtoll(v, &end, 10);
    if (end == v || errno || d < 0 || got.rank == CE_MAX_RANK) return error("%s: bad .npy shape", path);
    got.dims[got.rank++] = d;
    v = end;
  }
  if (got.rank != want->rank || memcmp(got.dims, want->dims, sizeof(int64_t) * (size_t)got.rank) != 0)
    return error("%s: shape %s, input '%s' has shape %s", path, shape_str(&got, buf[0], sizeof buf[0]),
                 name, shape_str(want, buf[1], sizeof buf[1]));
  if (n - start - hlen != want->count * sizeof(float))
    return error("%s: %zu data bytes, shape %s needs %zu", path, n - start - hlen,
                 shape_str(want, buf[0], sizeof buf[0]), want->count * sizeof(float));
  memcpy(dst, p + start + hlen, want->count * sizeof(float));
  return 0;
}

static int read_input(const char* path, const char* name, const Shape* want, float* dst) {
  size_t n;
  char buf[128];
  int rc = 0;
  unsigned char* data = read_file(path, &n);
  if (!data) return 1;
  if (ends_with(path, ".npy"))
    rc = read_npy(path, data, n, want, name, dst);
  else if (n != want->count * sizeof(float))
    rc = error("%s: %zu bytes, input '%s' (%s float32) needs %zu", path, n, name,
               shape_str(want, buf, sizeof buf), want->count * sizeof(float));
  else
    memcpy(dst, data, n);
  free(data);
  return rc;
}

static int write_output(const char* path, const Shape* s, const float* data) {
  FILE* f = fopen(path, "wb");
  int ok;
  if (!f) return error("cannot create %s: %s", path, strerror(errno));
  if (ends_with(path, ".npy")) {
    char h[512] = "\x93NUMPY\x01"; /* version 1.0; bytes 8-9: the header length */
    int i, n = 10 + snprintf(h + 10, sizeof h - 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (i = 0; i < s->rank; ++i) n += snprintf(h + n, sizeof h - (size_t)n, "%lld, ", (long long)s->dims[i]);
    n += snprintf(h + n, sizeof h - (size_t)n, "), }");
    while ((n + 1) % 64) h[n++] = ' '; /* the data starts on a 64-byte boundary */
    h[n++] = '\n';
    h[8] = (char)((n - 10) & 0xff);
    h[9] = (char)((n - 10) >> 8);
    fwrite(h, 1, (size_t)n, f);
  }
  ok = fwrite(data, sizeof(float), s->count, f) == s->count;
  ok = (fclose(f) == 0) && ok;
  return ok ? 0 : error("cannot write %s", path);
}

static int print_model(const ce_model* m) {
  int k, i;
  char buf[128];
  for (k = 0; k < 2; ++k)
    for (i = 0; i < (k ? ce_model_output_count(m) : ce_model_input_count(m)); ++i) {
      Shape s;
      if (!model_shape(m, k, i, &s)) return error("model %s %d has no valid shape", k ? "output" : "input", i);
      printf("%s %d: %s %s float32\n", k ? "output" : "input", i,
             k ? ce_model_output_name(m, i) : ce_model_input_name(m, i), shape_str(&s, buf, sizeof buf));
    }
  return 0;
}

static int positive(const char* arg, const char* opt, long max, int* value) {
  char* end;
  long v;
  errno = 0;
  v = arg ? strtol(arg, &end, 10) : 0;
  if (!arg || *end || errno || v < 1 || v > max) {
    error("%s needs an integer from 1 to %ld, got '%s'", opt, max, arg ? arg : "");
    return 0;
  }
  *value = (int)v;
  return 1;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  const char *model_path = NULL, **in_paths = NULL, **out_paths = NULL;
  int n_in = 0, n_out = 0, threads = 0, repeats = 0, after_o = 0, rc = 1, i, ni = 0, no = 0;
  ce_model* model = NULL;
  ce_status* st;
  float **ins = NULL, **outs = NULL;
  Shape* out_shapes = NULL;
  double* ms = NULL;

  in_paths = malloc(sizeof(char*) * (size_t)argc);
  out_paths = malloc(sizeof(char*) * (size_t)argc);
  if (!in_paths || !out_paths) return error("out of memory");
  for (i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      rc = usage(stdout, 0);
      goto done;
    } else if (!strcmp(a, "-t") || !strcmp(a, "-n")) {
      const int t = a[1] == 't';
      if (!positive(i + 1 < argc ? argv[++i] : NULL, a, t ? 1024 : 1000000, t ? &threads : &repeats)) {
        rc = 2;
        goto done;
      }
    } else if (!strcmp(a, "-o")) {
      after_o = 1;
    } else if (a[0] == '-' && a[1]) {
      error("unknown option %s", a);
      rc = usage(stderr, 2);
      goto done;
    } else if (!model_path) {
      model_path = a;
    } else if (after_o) {
      out_paths[n_out++] = a;
    } else {
      in_paths[n_in++] = a;
    }
  }
  if (!model_path) {
    rc = usage(stderr, 2);
    goto done;
  }

  if ((st = ce_model_load(model_path, &model)) != NULL) {
    error("%s: %s", model_path, ce_status_message(st));
    ce_status_free(st);
    goto done;
  }
  if (n_in == 0 && !after_o && !repeats && !threads) {
    rc = print_model(model);
    goto done;
  }
  ni = ce_model_input_count(model);
  no = ce_model_output_count(model);
  if (n_in != ni) {
    error("the model has %d input%s, %d given", ni, ni == 1 ? "" : "s", n_in);
    rc = 2;
    goto done;
  }
  if (after_o && n_out != no) {
    error("the model has %d output%s, %d given after -o", no, no == 1 ? "" : "s", n_out);
    rc = 2;
    goto done;
  }
  if (threads) ce_set_num_threads(threads);

  ins = calloc((size_t)ni + 1, sizeof(float*));
  outs = calloc((size_t)no + 1, sizeof(float*));
  out_shapes = calloc((size_t)no + 1, sizeof(Shape));
  if (!ins || !outs || !out_shapes) {
    error("out of memory");
    goto done;
  }
  for (i = 0; i < ni; ++i) {
    Shape s;
    const char* name = ce_model_input_name(model, i);
    if (!model_shape(model, 0, i, &s)) {
      error("input '%s' is too large", name);
      goto done;
    }
    if (!(ins[i] = malloc(s.count ? s.count * sizeof(float) : 1))) {
      error("out of memory for input '%s'", name);
      goto done;
    }
    if (read_input(in_paths[i], name, &s, ins[i])) goto done;
  }
  for (i = 0; i < no; ++i) {
    if (!model_shape(model, 1, i, &out_shapes[i]) ||
        !(outs[i] = malloc(out_shapes[i].count ? out_shapes[i].count * sizeof(float) : 1))) {
      error("out of memory for output '%s'", ce_model_output_name(model, i));
      goto done;
    }
  }

  if (!repeats) repeats = 1;
  if (!(ms = malloc(sizeof(double) * (size_t)repeats))) {
    error("out of memory");
    goto done;
  }
  for (i = 0; i < repeats; ++i) {
    double t0 = now_ms();
    if ((st = ce_model_run(model, (const float* const*)ins, outs)) != NULL) {
      error("run failed: %s", ce_status_message(st));
      ce_status_free(st);
      goto done;
    }
    ms[i] = now_ms() - t0;
  }
  if (repeats > 1) {
    qsort(ms, (size_t)repeats, sizeof(double), by_value);
    printf("median %.3f ms over %d runs (min %.3f ms), %d thread%s\n", ms[repeats / 2], repeats, ms[0],
           ce_get_num_threads(), ce_get_num_threads() == 1 ? "" : "s");
  }
  for (i = 0; i < n_out; ++i)
    if (write_output(out_paths[i], &out_shapes[i], outs[i])) goto done;
  rc = 0;

done:
  for (i = 0; ins && i < ni; ++i) free(ins[i]);
  for (i = 0; outs && i < no; ++i) free(outs[i]);
  free(ins);
  free(outs);
  free(out_shapes);
  free(ms);
  free(in_paths);
  free(out_paths);
  ce_model_free(model);
  return rc;
}
