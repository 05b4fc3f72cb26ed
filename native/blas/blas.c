/*
 * alol-blas: single-precision matrix products for TensorFlow.js's wasm backend, computed by a BLAS
 * found at run time (dlopen, so building needs only a C compiler and Node's headers, and running
 * without a BLAS just reports why). The operands live in the wasm heap: JavaScript passes the heap
 * (its Uint8Array view, or the ArrayBuffer) and byte offsets, and every access is bounds-checked
 * here before the BLAS sees a pointer.
 *
 *   open(["libopenblas.so.0", ...], acceptUnknown = false) -> { library, vendor, config, threadControl }
 *       the first name that loads, exports cblas_sgemm and is a known fast BLAS; throws with every
 *       name's failure otherwise. Later calls return the same library.
 *   sgemm(heap, batch, transA, transB, M, N, K, aOff, aStride, bOff, bStride, cOff, cStride, threads = 0)
 *       C[i] = op(A[i]) @ op(B[i]) for i < batch, row-major, offsets in bytes, strides in floats
 *       (a stride of 0 repeats one matrix across the batch), on `threads` BLAS threads (0: this
 *       thread's setThreads count, or the library's own).
 *   setThreads(n)   BLAS threads for calls made from this thread (OpenBLAS's count is process-wide,
 *                   so it is set again before a call whenever another thread changed it).
 *   getThreads()    the library's current count, or 0 without thread control.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#define ALOL_NO_DLOPEN 1
#else
#include <dlfcn.h>
#include <pthread.h>
#endif

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

typedef void (*sgemm_fn)(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_config_fn)(void);

static sgemm_fn sgemm_ptr = NULL;
static set_threads_fn set_threads_ptr = NULL;
static get_threads_fn get_threads_ptr = NULL;
static char library_name[256] = "";
static char vendor_name[32] = "";
static char config_text[512] = "";
#ifndef ALOL_NO_DLOPEN
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
#endif
/* The thread count this thread asked for; 0 = never asked (leave the library's own). */
static _Thread_local int wanted_threads = 0;

#define CHECK(call)                                                                    \
  do {                                                                                 \
    if ((call) != napi_ok) {                                                           \
      napi_throw_error(env, NULL, "alol-blas: N-API call failed: " #call);            \
      return NULL;                                                                     \
    }                                                                                  \
  } while (0)

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value make_string(napi_env env, const char *s) {
  napi_value v;
  if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) != napi_ok) return NULL;
  return v;
}

static napi_value info_object(napi_env env) {
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_set_named_property(env, out, "library", make_string(env, library_name)));
  CHECK(napi_set_named_property(env, out, "vendor", make_string(env, vendor_name)));
  CHECK(napi_set_named_property(env, out, "config", make_string(env, config_text)));
  CHECK(napi_get_boolean(env, set_threads_ptr != NULL && get_threads_ptr != NULL, &v));
  CHECK(napi_set_named_property(env, out, "threadControl", v));
  return out;
}

#ifndef ALOL_NO_DLOPEN
/* Which BLAS a handle is, by a symbol only that library exports; the reference BLAS has none. */
static void identify(void *handle) {
  get_config_fn openblas_config = (get_config_fn)dlsym(handle, "openblas_get_config");
  if (openblas_config) {
    snprintf(vendor_name, sizeof vendor_name, "OpenBLAS");
    const char *c = openblas_config();
    snprintf(config_text, sizeof config_text, "%s", c ? c : "");
    set_threads_ptr = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    get_threads_ptr = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
  } else if (dlsym(handle, "bli_info_get_version_str")) {
    snprintf(vendor_name, sizeof vendor_name, "BLIS");
    get_config_fn version = (get_config_fn)dlsym(handle, "bli_info_get_version_str");
    snprintf(config_text, sizeof config_text, "%s", version());
    set_threads_ptr = (set_threads_fn)dlsym(handle, "bli_thread_set_num_threads");
    get_threads_ptr = (get_threads_fn)dlsym(handle, "bli_thread_get_num_threads");
  } else if (dlsym(handle, "MKL_Get_Max_Threads")) {
    snprintf(vendor_name, sizeof vendor_name, "MKL");
    set_threads_ptr = (set_threads_fn)dlsym(handle, "MKL_Set_Num_Threads");
    get_threads_ptr = (get_threads_fn)dlsym(handle, "MKL_Get_Max_Threads");
  } else if (dlsym(handle, "vDSP_mmul")) {
    snprintf(vendor_name, sizeof vendor_name, "Accelerate");
  } else {
    snprintf(vendor_name, sizeof vendor_name, "unknown");
  }
}
#endif

static napi_value Open(napi_env env, napi_callback_info info) {
#ifdef ALOL_NO_DLOPEN
  return throw_error(env, "alol-blas: loading a BLAS at run time is not implemented on this platform");
#else
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool accept_unknown = false;
  if (argc >= 2 && napi_get_value_bool(env, argv[1], &accept_unknown) != napi_ok) accept_unknown = false;
  pthread_mutex_lock(&open_lock);
  if (sgemm_ptr) {
    pthread_mutex_unlock(&open_lock);
    return info_object(env);
  }
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    pthread_mutex_unlock(&open_lock);
    return throw_error(env, "alol-blas: open() takes an array of library names");
  }
  uint32_t count = 0;
  napi_get_array_length(env, argv[0], &count);
  char errors[2048] = "";
  size_t used = 0;
  for (uint32_t i = 0; i < count && !sgemm_ptr; i++) {
    napi_value item;
    char name[256];
    size_t len = 0;
    if (napi_get_element(env, argv[0], i, &item) != napi_ok ||
        napi_get_value_string_utf8(env, item, name, sizeof name, &len) != napi_ok) {
      continue;
    }
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    const char *why = NULL;
    char buffer[400];
    if (!handle) {
      why = dlerror();
    } else {
      sgemm_fn f = (sgemm_fn)dlsym(handle, "cblas_sgemm");
      if (!f) {
        why = "no cblas_sgemm";
        dlclose(handle);
      } else {
        set_threads_ptr = NULL;
        get_threads_ptr = NULL;
        config_text[0] = 0;
        identify(handle);
        if (!accept_unknown && strcmp(vendor_name, "unknown") == 0) {
          why = "not OpenBLAS, BLIS, MKL or Accelerate (the reference BLAS is slower than wasm)";
          dlclose(handle);
        } else {
          sgemm_ptr = f;
          snprintf(library_name, sizeof library_name, "%s", name);
        }
      }
    }
    if (why) {
      snprintf(buffer, sizeof buffer, "%s%s: %s", used ? "; " : "", name, why);
      size_t n = strlen(buffer);
      if (used + n < sizeof errors) {
        memcpy(errors + used, buffer, n + 1);
        used += n;
      }
    }
  }
  pthread_mutex_unlock(&open_lock);
  if (!sgemm_ptr) {
    char message[2200];
    snprintf(message, sizeof message, "no usable BLAS library (%s)", used ? errors : "no names given");
    return throw_error(env, message);
  }
  return info_object(env);
#endif
}

static bool get_i64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

/* Bytes [off, off + 4 * extent) of matrix i of the batch, for every i, must lie in the heap. */
static bool in_bounds(int64_t off, int64_t stride, int64_t batch, int64_t extent, size_t heap_bytes) {
  const int64_t floats = (int64_t)(heap_bytes / 4);
  if (off < 0 || stride < 0 || extent <= 0 || (off & 3) != 0 || stride > floats || extent > floats) return false;
  int64_t last = off + 4 * (stride * (batch - 1) + extent);
  return last >= off && (uint64_t)last <= (uint64_t)heap_bytes;
}

static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 13) return throw_error(env, "alol-blas: sgemm takes 13 or 14 arguments");
  if (!sgemm_ptr) return throw_error(env, "alol-blas: sgemm before open()");

  void *data = NULL;
  size_t bytes = 0;
  bool is_typed = false, is_buffer = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (is_typed) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset));
    if (type != napi_uint8_array) return throw_error(env, "alol-blas: the heap must be a Uint8Array or an ArrayBuffer");
    bytes = length;
  } else {
    napi_is_arraybuffer(env, argv[0], &is_buffer);
    if (!is_buffer) return throw_error(env, "alol-blas: the heap must be a Uint8Array or an ArrayBuffer");
    CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &bytes));
  }

  int64_t batch, M, N, K, aOff, aStride, bOff, bStride, cOff, cStride;
  bool ta = false, tb = false;
  if (!get_i64(env, argv[1], &batch) || napi_get_value_bool(env, argv[2], &ta) != napi_ok ||
      napi_get_value_bool(env, argv[3], &tb) != napi_ok || !get_i64(env, argv[4], &M) || !get_i64(env, argv[5], &N) ||
      !get_i64(env, argv[6], &K) || !get_i64(env, argv[7], &aOff) || !get_i64(env, argv[8], &aStride) ||
      !get_i64(env, argv[9], &bOff) || !get_i64(env, argv[10], &bStride) || !get_i64(env, argv[11], &cOff) ||
      !get_i64(env, argv[12], &cStride)) {
    return throw_error(env, "alol-blas: sgemm(heap, batch, transA, transB, M, N, K, aOff, aStride, bOff, bStride, cOff, cStride): bad argument types");
  }
  int64_t threads = 0;
  if (argc >= 14 && !get_i64(env, argv[13], &threads)) return throw_error(env, "alol-blas: sgemm: threads must be a number");
  if (threads <= 0) threads = wanted_threads;
  const int64_t LIMIT = 1 << 30;
  if (batch < 1 || M < 1 || N < 1 || K < 1 || batch > LIMIT || M > LIMIT || N > LIMIT || K > LIMIT) {
    return throw_error(env, "alol-blas: sgemm sizes must be positive");
  }
  if (!in_bounds(aOff, aStride, batch, M * K, bytes) || !in_bounds(bOff, bStride, batch, K * N, bytes) ||
      !in_bounds(cOff, cStride, batch, M * N, bytes) || cStride < M * N) {
    return throw_error(env, "alol-blas: sgemm operands outside the heap, misaligned, or overlapping outputs");
  }
  if (threads > 0 && threads <= 1024 && set_threads_ptr && get_threads_ptr && get_threads_ptr() != threads) {
    set_threads_ptr((int)threads);
  }
  char *heap = (char *)data;
  const int lda = ta ? (int)M : (int)K, ldb = tb ? (int)K : (int)N;
  for (int64_t i = 0; i < batch; i++) {
    const float *A = (const float *)(heap + aOff) + i * aStride;
    const float *B = (const float *)(heap + bOff) + i * bStride;
    float *C = (float *)(heap + cOff) + i * cStride;
    sgemm_ptr(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, (int)M, (int)N, (int)K, 1.0f, A, lda, B, ldb, 0.0f, C, (int)N);
  }
  return NULL;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) return throw_error(env, "alol-blas: setThreads(n >= 1)");
  wanted_threads = n;
  if (set_threads_ptr) set_threads_ptr(n);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  CHECK(napi_create_int32(env, get_threads_ptr ? get_threads_ptr() : 0, &v));
  return v;
}

NAPI_MODULE_INIT() {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"open", Open}, {"sgemm", Sgemm}, {"setThreads", SetThreads}, {"getThreads", GetThreads}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, f) != napi_ok) return NULL;
  }
  return exports;
}
