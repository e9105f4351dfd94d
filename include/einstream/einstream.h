/* einstream C API: Einstein summation from C, Fortran or any FFI.
 *
 * C99, no C++ or CUDA types. It runs over the C++ API (einstream.hpp): a plan
 * is an einstream::Plan, and the semantics (notation, dtypes, strides, memory
 * limits, streaming) are that API's, documented in README.md.
 *
 *   int64_t a_ext[2] = {64, 32}, b_ext[2] = {32, 16};
 *   einstream_tensor_desc in[2] = {{EINSTREAM_F32, 2, a_ext, NULL},
 *                                  {EINSTREAM_F32, 2, b_ext, NULL}};
 *   einstream_plan* plan = NULL;
 *   if (einstream_plan_create("ij,jk->ik", 2, in, NULL, NULL, &plan) != EINSTREAM_OK ||
 *       einstream_plan_execute(plan, (const void* const[]){a, b}, c, 1, 0, 0, 0, NULL) !=
 *           EINSTREAM_OK)
 *     fprintf(stderr, "einstream: %s\n", einstream_last_error());
 *   einstream_plan_destroy(plan);
 *
 * Errors. Every function but einstream_last_error() and einstream_version()
 * returns an einstream_status; on failure it leaves its outputs unchanged
 * (a failed create stores NULL in *plan) and records a message for the
 * calling thread. No C++ exception ever crosses this boundary.
 *
 * Threads. Each thread has its own last-error message. A plan is used by one
 * thread at a time (execute() keeps per-execution state); distinct plans may
 * be used from different threads at once.
 */
#ifndef EINSTREAM_EINSTREAM_H
#define EINSTREAM_EINSTREAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum einstream_status {
  EINSTREAM_OK = 0,
  EINSTREAM_PARSE_ERROR = 1,      /* malformed expression */
  EINSTREAM_SHAPE_ERROR = 2,      /* shapes, strides or dtypes that do not fit it */
  EINSTREAM_MEMORY_ERROR = 3,     /* the work does not fit the memory available */
  EINSTREAM_CUDA_ERROR = 4,       /* a CUDA runtime or cuBLAS call failed */
  EINSTREAM_INVALID_ARGUMENT = 5, /* NULL pointer, bad rank, bad option value */
  EINSTREAM_INTERNAL_ERROR = 6    /* anything else (a bug: please report it) */
} einstream_status;

/* Element types. The values are part of the ABI. */
typedef enum einstream_dtype {
  EINSTREAM_F32 = 0,  /* float */
  EINSTREAM_F64 = 1,  /* double */
  EINSTREAM_C64 = 2,  /* float _Complex: interleaved real, imaginary floats */
  EINSTREAM_C128 = 3, /* double _Complex */
  EINSTREAM_F16 = 4,  /* IEEE 754 binary16: the bits of CUDA's __half, _Float16 */
  EINSTREAM_BF16 = 5  /* bfloat16: the bits of CUDA's __nv_bfloat16, __bf16 */
} einstream_dtype;

/* A tensor's element type and layout; the data pointer is passed at
 * execution. `extents` and `strides` point to `rank` values each and are read
 * only during the call they are passed to. Strides are in elements and may be
 * zero or negative; NULL strides mean C order (row-major, contiguous). A
 * Fortran array is described by its extents and its column-major strides
 * (1, n1, n1*n2, ...) as they are. rank 0 is a scalar (extents may be NULL).
 */
typedef struct einstream_tensor_desc {
  einstream_dtype dtype;
  int32_t rank; /* 0 to EINSTREAM_MAX_RANK */
  const int64_t* extents;
  const int64_t* strides;
} einstream_tensor_desc;

#define EINSTREAM_MAX_RANK 64

typedef enum einstream_backend {
  EINSTREAM_BACKEND_AUTO = 0, /* CUDA when built and a GPU is present, else host */
  EINSTREAM_BACKEND_HOST = 1,
  EINSTREAM_BACKEND_CUDA = 2
} einstream_backend;

typedef enum einstream_path_algorithm {
  EINSTREAM_PATH_AUTO = 0,
  EINSTREAM_PATH_NAIVE = 1,
  EINSTREAM_PATH_GREEDY = 2,
  EINSTREAM_PATH_OPTIMAL = 3,
  EINSTREAM_PATH_DP = 4,
  EINSTREAM_PATH_RANDOM_GREEDY = 5,
  /* hyper-optimizer: greedy and partitioning trials, then reconfiguration */
  EINSTREAM_PATH_HYPER = 6
} einstream_path_algorithm;

typedef enum einstream_memory_limit_kind {
  EINSTREAM_MEMORY_LIMIT_FRACTION = 0, /* memory_limit_fraction of the device, in (0, 1] */
  EINSTREAM_MEMORY_LIMIT_BYTES = 1     /* memory_limit_bytes, at least 1 */
} einstream_memory_limit_kind;

/* Log levels; each includes the ones before it. info: each execution's
 * start, progress (about once a second) and end; debug: also the plan (path,
 * slicing, residency, workspace) and each execution's transfers. */
typedef enum einstream_log_level {
  EINSTREAM_LOG_ERROR = 0,
  EINSTREAM_LOG_WARN = 1,
  EINSTREAM_LOG_INFO = 2,
  EINSTREAM_LOG_DEBUG = 3
} einstream_log_level;

/* Receives one log message, NUL-terminated and valid during the call only,
 * with the user_data given with it. Called on the thread that creates or
 * executes the plan, while that call runs. */
typedef void (*einstream_log_callback)(einstream_log_level level, const char* message,
                                       void* user_data);

/* Planning and execution options: fill with einstream_options_init(), then
 * change what you need. Fields mirror einstream::Options. */
typedef struct einstream_options {
  int32_t device; /* CUDA device index */
  einstream_memory_limit_kind memory_limit_kind;
  uint64_t memory_limit_bytes;
  double memory_limit_fraction;
  einstream_path_algorithm path;
  einstream_backend backend;
  int32_t register_host_memory; /* nonzero: page-lock host operands at the first execute */
  int32_t allow_tf32;           /* nonzero: f32 GEMMs may use TF32 tensor cores */
  double path_seconds;          /* path search time budget; 0 = no limit */
  int32_t path_trials;          /* random-greedy trials, at least 1 */
  uint64_t path_seed;
  uint64_t max_intermediate_bytes; /* largest intermediate the path may create; 0 = no cap */
  einstream_log_callback log;      /* NULL: no log (einstream_options_set_log sets these) */
  void* log_user_data;             /* passed to `log` with each message */
  einstream_log_level log_level;   /* messages at this level and below reach `log` */
  /* CUDA backend: several devices of this host for one execution (ordinals;
   * one may repeat), as einstream::Options::devices: n_devices entries at
   * `devices` (read when the plan is created, not kept), the first the
   * plan's device; 0 and NULL (the defaults) mean `device` alone. */
  const int32_t* devices;
  int32_t n_devices;
  /* A contraction path to run instead of searching one, as
   * einstream::Options::given_path, in pairs: n_given_path_steps steps at
   * `given_path`, two int32_t each, the 0-based positions among the operands
   * not yet contracted (each step's result goes last; the second is -1 for a
   * step of one operand). Read when the plan is created, not kept. 0 and NULL
   * (the defaults): `path` searches. */
  const int32_t* given_path;
  int32_t n_given_path_steps;
} einstream_options;

/* An opaque planned expression. */
typedef struct einstream_plan einstream_plan;

/* The message of the calling thread's most recent failed call ("" if none
 * failed yet; successful calls leave it as it was). Valid until the thread's
 * next failing einstream call. Never NULL. */
const char* einstream_last_error(void);

/* "0.1.0". Never NULL. */
const char* einstream_version(void);

/* Fills *options with the defaults (device 0, 90% of device memory,
 * automatic path and backend, 1 s path budget, 128 trials, TF32 and
 * registration off). */
einstream_status einstream_options_init(einstream_options* options);

/* Sends the log messages of plans created with *options, at `level` and
 * below, to `callback` (NULL: none) with `user_data`. */
einstream_status einstream_options_set_log(einstream_options* options,
                                           einstream_log_callback callback, void* user_data,
                                           einstream_log_level level);

/* Parses and plans `expression` (numpy einsum notation, e.g. "ij,jk->ik")
 * for `n_inputs` inputs described by `inputs`. `output` gives the result's
 * layout (its dtype and extents must be the expression's result) or is NULL
 * for a C-order result of the inputs' dtype. `options` NULL means defaults.
 * On success *plan owns a plan to free with einstream_plan_destroy(). */
einstream_status einstream_plan_create(const char* expression, int32_t n_inputs,
                                       const einstream_tensor_desc* inputs,
                                       const einstream_tensor_desc* output,
                                       const einstream_options* options, einstream_plan** plan);

/* output = alpha * einsum(inputs) + beta * output, where alpha and beta are
 * given as real and imaginary parts (real dtypes need zero imaginary parts).
 * `inputs` holds the plan's n_inputs data pointers (host memory, or device
 * memory with the CUDA backend); with beta == 0 the output is not read.
 * Returns when the output is written.
 *
 * `stream` is reserved and must be NULL: the C++ API runs on its own CUDA
 * streams and takes none from the caller, so a caller's stream cannot be
 * honoured yet, and a non-NULL one is refused with EINSTREAM_INVALID_ARGUMENT
 * rather than silently ignored. With device operands, synchronize the stream
 * that wrote them before calling. */
einstream_status einstream_plan_execute(einstream_plan* plan, const void* const* inputs,
                                        void* output, double alpha_real, double alpha_imag,
                                        double beta_real, double beta_imag, void* stream);

/* Writes the plan's explain() text (path, FLOPs, sizes, slicing, backend)
 * into buffer[0..size), always NUL-terminated when size > 0 and truncated to
 * size - 1 characters if longer. *needed (if not NULL) receives the size the
 * whole text needs, terminator included, so a caller may call once with
 * buffer NULL and size 0, allocate *needed bytes and call again. Truncation
 * is not an error. */
einstream_status einstream_plan_explain(const einstream_plan* plan, char* buffer, size_t size,
                                        size_t* needed);

/* The output descriptor: its rank, its extents (written to extents[0..rank),
 * `capacity` entries available; fewer than the rank is an invalid argument)
 * and its dtype. */
einstream_status einstream_plan_output_rank(const einstream_plan* plan, int32_t* rank);
einstream_status einstream_plan_output_extents(const einstream_plan* plan, int64_t* extents,
                                               int32_t capacity);
einstream_status einstream_plan_output_dtype(const einstream_plan* plan, einstream_dtype* dtype);

/* The plan's contraction path in the pairs of einstream_options.given_path
 * (the second of a pair -1 for a step of one operand): *n_steps (not NULL)
 * receives its number of steps, and the first min(capacity, *n_steps) steps
 * are written to pairs[0 .. 2 * capacity), so a caller may call once with
 * pairs NULL and capacity 0, allocate 2 * *n_steps int32_t and call again.
 * Given back as options.given_path, it plans the same path without a search. */
einstream_status einstream_plan_path(const einstream_plan* plan, int32_t* pairs, int32_t capacity,
                                     int32_t* n_steps);

/* Exact memory one execution allocates, in bytes (einstream::Plan::
 * workspace_bytes()). */
einstream_status einstream_plan_workspace_bytes(const einstream_plan* plan, uint64_t* bytes);

/* Frees a plan; NULL is accepted and does nothing. */
einstream_status einstream_plan_destroy(einstream_plan* plan);

/* A NumPy .npy file read into memory (einstream::read_npy). `strides` (in
 * elements) are C order, or column-major for a Fortran-order file, so
 * {dtype, rank, extents, strides} is the einstream_tensor_desc of `data`. */
typedef struct einstream_npy_array {
  einstream_dtype dtype;
  int32_t rank;
  int64_t extents[EINSTREAM_MAX_RANK];
  int64_t strides[EINSTREAM_MAX_RANK];
  void* data; /* `bytes` bytes of elements as stored, suitably aligned */
  uint64_t bytes;
  void* owner; /* internal: what einstream_npy_array_free releases */
} einstream_npy_array;

/* Reads `path` (little-endian float32, float64, complex64 or complex128, C or
 * Fortran order, format 1.0 to 3.0) into *array, to be released with
 * einstream_npy_array_free(). A file of rank over EINSTREAM_MAX_RANK is an
 * invalid argument. */
einstream_status einstream_read_npy(const char* path, einstream_npy_array* array);

/* Releases what einstream_read_npy() stored in *array and zeroes it; an
 * array zeroed or already freed is accepted. */
einstream_status einstream_npy_array_free(einstream_npy_array* array);

/* Writes the tensor `desc` describes at `data` (any strides) as a C-order
 * .npy file, through a temporary file renamed over `path`, so a failure
 * leaves `path` untouched. */
einstream_status einstream_write_npy(const char* path, const einstream_tensor_desc* desc,
                                     const void* data);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EINSTREAM_EINSTREAM_H */
