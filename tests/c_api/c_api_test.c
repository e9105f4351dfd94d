/* The C API from plain C99: a matrix product and its explain() text checked
 * against hand-computed values, and the status codes and messages of the
 * failures a C caller can make. Prints one line per failed check and exits
 * nonzero if any failed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "einstream/einstream.h"

static int failures = 0;

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                   \
    }                                                                               \
  } while (0)

/* The status is `expected` and the last error contains `fragment`. */
#define CHECK_ERROR(call, expected, fragment)                                                   \
  do {                                                                                          \
    einstream_status status_ = (call);                                                          \
    if (status_ != (expected) || strstr(einstream_last_error(), (fragment)) == NULL) {          \
      fprintf(stderr, "%s:%d: %s gave status %d, message \"%s\"; expected %d and \"%s\"\n",     \
              __FILE__, __LINE__, #call, (int)status_, einstream_last_error(), (int)(expected), \
              (fragment));                                                                      \
      ++failures;                                                                               \
    }                                                                                           \
  } while (0)

static einstream_options host_options(void) {
  einstream_options options;
  einstream_options_init(&options);
  options.backend = EINSTREAM_BACKEND_HOST;
  return options;
}

/* C = A B for A 2x3, B 3x2 in C order, then C = 2 A B + C, then the same
 * product with A given in Fortran order (column-major strides). */
static void test_matrix_product(void) {
  const int64_t a_extents[2] = {2, 3}, b_extents[2] = {3, 2};
  const float a[6] = {1, 2, 3, 4, 5, 6};    /* [[1 2 3] [4 5 6]] */
  const float b[6] = {7, 8, 9, 10, 11, 12}; /* [[7 8] [9 10] [11 12]] */
  const float expected[4] = {58, 64, 139, 154};
  einstream_tensor_desc inputs[2];
  einstream_options options = host_options();
  einstream_plan* plan = NULL;
  float c[4] = {0, 0, 0, 0};
  const void* pointers[2];
  int32_t rank = -1;
  int64_t extents[2] = {0, 0};
  einstream_dtype dtype = EINSTREAM_C128;
  uint64_t workspace = 12345;
  int i;

  inputs[0].dtype = EINSTREAM_F32;
  inputs[0].rank = 2;
  inputs[0].extents = a_extents;
  inputs[0].strides = NULL;
  inputs[1] = inputs[0];
  inputs[1].extents = b_extents;
  CHECK(einstream_plan_create("ij,jk->ik", 2, inputs, NULL, &options, &plan) == EINSTREAM_OK);
  CHECK(plan != NULL);
  if (plan == NULL) return;

  CHECK(einstream_plan_output_rank(plan, &rank) == EINSTREAM_OK && rank == 2);
  CHECK(einstream_plan_output_extents(plan, extents, 2) == EINSTREAM_OK);
  CHECK(extents[0] == 2 && extents[1] == 2);
  CHECK(einstream_plan_output_dtype(plan, &dtype) == EINSTREAM_OK && dtype == EINSTREAM_F32);
  CHECK(einstream_plan_workspace_bytes(plan, &workspace) == EINSTREAM_OK);
  CHECK(workspace < 1024); /* a 2x2 product needs at most a few small intermediates */

  pointers[0] = a;
  pointers[1] = b;
  CHECK(einstream_plan_execute(plan, pointers, c, 1.0, 0.0, 0.0, 0.0, NULL) == EINSTREAM_OK);
  for (i = 0; i < 4; ++i) CHECK(c[i] == expected[i]);
  CHECK(einstream_plan_execute(plan, pointers, c, 2.0, 0.0, 1.0, 0.0, NULL) == EINSTREAM_OK);
  for (i = 0; i < 4; ++i) CHECK(c[i] == 3 * expected[i]);
  CHECK(einstream_plan_destroy(plan) == EINSTREAM_OK);

  {
    /* A as a Fortran array: the same matrix stored column by column. */
    const float a_fortran[6] = {1, 4, 2, 5, 3, 6};
    const int64_t a_strides[2] = {1, 2};
    const int64_t c_strides[2] = {1, 2};
    einstream_tensor_desc output;
    inputs[0].strides = a_strides;
    output.dtype = EINSTREAM_F32;
    output.rank = 2;
    output.extents = extents;
    output.strides = c_strides;
    plan = NULL;
    CHECK(einstream_plan_create("ij,jk->ik", 2, inputs, &output, &options, &plan) == EINSTREAM_OK);
    if (plan == NULL) return;
    pointers[0] = a_fortran;
    CHECK(einstream_plan_execute(plan, pointers, c, 1.0, 0.0, 0.0, 0.0, NULL) == EINSTREAM_OK);
    /* c is column-major now: c(1,1) c(2,1) c(1,2) c(2,2) */
    CHECK(c[0] == 58 && c[1] == 139 && c[2] == 64 && c[3] == 154);
    einstream_plan_destroy(plan);
  }
}

/* Complex double: z = sum_i x_i y_i with alpha = i. */
static void test_complex_dot(void) {
  const int64_t extent = 2;
  const double x[4] = {1, 2, 3, 4}; /* 1+2i, 3+4i */
  const double y[4] = {5, 6, 7, 8}; /* 5+6i, 7+8i */
  double z[2] = {0, 0};
  const void* pointers[2];
  einstream_tensor_desc inputs[2];
  einstream_options options = host_options();
  einstream_plan* plan = NULL;

  inputs[0].dtype = EINSTREAM_C128;
  inputs[0].rank = 1;
  inputs[0].extents = &extent;
  inputs[0].strides = NULL;
  inputs[1] = inputs[0];
  CHECK(einstream_plan_create("i,i->", 2, inputs, NULL, &options, &plan) == EINSTREAM_OK);
  if (plan == NULL) return;
  pointers[0] = x;
  pointers[1] = y;
  /* (1+2i)(5+6i) + (3+4i)(7+8i) = (-7+16i) + (-11+52i) = -18+68i; times i: -68-18i */
  CHECK(einstream_plan_execute(plan, pointers, z, 0.0, 1.0, 0.0, 0.0, NULL) == EINSTREAM_OK);
  CHECK(fabs(z[0] + 68) < 1e-12 && fabs(z[1] + 18) < 1e-12);
  einstream_plan_destroy(plan);
}

/* Half precision as raw bits (C99 has no half type): the sum of 1, 2 and
 * 0.5 is 3.5 in both f16 and bf16, and the plan reports the dtype. */
static void test_half_precision_sum(void) {
  const int64_t extent = 3;
  const uint16_t f16_terms[3] = {0x3c00, 0x4000, 0x3800};  /* 1, 2, 0.5 */
  const uint16_t bf16_terms[3] = {0x3f80, 0x4000, 0x3f00}; /* 1, 2, 0.5 */
  const einstream_dtype dtypes[2] = {EINSTREAM_F16, EINSTREAM_BF16};
  const uint16_t* terms[2] = {f16_terms, bf16_terms};
  const uint16_t sums[2] = {0x4300, 0x4060}; /* 3.5 */
  einstream_options options = host_options();
  int k;
  for (k = 0; k < 2; ++k) {
    einstream_tensor_desc input;
    einstream_plan* plan = NULL;
    einstream_dtype dtype = EINSTREAM_F32;
    uint16_t sum = 0;
    const void* pointer = terms[k];
    input.dtype = dtypes[k];
    input.rank = 1;
    input.extents = &extent;
    input.strides = NULL;
    CHECK(einstream_plan_create("i->", 1, &input, NULL, &options, &plan) == EINSTREAM_OK);
    if (plan == NULL) continue;
    CHECK(einstream_plan_output_dtype(plan, &dtype) == EINSTREAM_OK && dtype == dtypes[k]);
    CHECK(einstream_plan_execute(plan, &pointer, &sum, 1.0, 0.0, 0.0, 0.0, NULL) == EINSTREAM_OK);
    CHECK(sum == sums[k]);
    einstream_plan_destroy(plan);
  }
}

/* explain(): the size query, a full copy equal to what the size promised,
 * and truncation that keeps a terminator. */
static void test_explain(void) {
  const int64_t extents[2] = {4, 5};
  einstream_tensor_desc inputs[2];
  einstream_options options = host_options();
  einstream_plan* plan = NULL;
  size_t needed = 0, needed_again = 0;
  char small[8];
  char* text;

  inputs[0].dtype = EINSTREAM_F64;
  inputs[0].rank = 2;
  inputs[0].extents = extents;
  inputs[0].strides = NULL;
  inputs[1] = inputs[0];
  CHECK(einstream_plan_create("ij,ij->i", 2, inputs, NULL, &options, &plan) == EINSTREAM_OK);
  if (plan == NULL) return;

  CHECK(einstream_plan_explain(plan, NULL, 0, &needed) == EINSTREAM_OK);
  CHECK(needed > 1);
  text = (char*)malloc(needed);
  CHECK(text != NULL);
  if (text != NULL) {
    memset(text, 'x', needed);
    CHECK(einstream_plan_explain(plan, text, needed, &needed_again) == EINSTREAM_OK);
    CHECK(needed_again == needed);
    CHECK(strlen(text) == needed - 1);
    CHECK(strstr(text, "ij,ij->i") != NULL);
    CHECK(strstr(text, "host") != NULL);

    memset(small, 'x', sizeof small);
    CHECK(einstream_plan_explain(plan, small, sizeof small, NULL) == EINSTREAM_OK);
    CHECK(small[sizeof small - 1] == '\0');
    CHECK(strncmp(small, text, sizeof small - 1) == 0);
    free(text);
  }
  CHECK(einstream_plan_destroy(plan) == EINSTREAM_OK);
}

static void test_errors(void) {
  const int64_t extents[2] = {2, 3}, other_extents[2] = {4, 5};
  einstream_tensor_desc inputs[2];
  einstream_options options = host_options();
  einstream_plan* plan = (einstream_plan*)&options; /* must be overwritten with NULL */
  float data[6] = {0};
  const void* pointers[2];
  size_t needed = 0;
  int32_t rank = 0;
  int64_t extent_buffer[1];

  inputs[0].dtype = EINSTREAM_F32;
  inputs[0].rank = 2;
  inputs[0].extents = extents;
  inputs[0].strides = NULL;
  inputs[1] = inputs[0];
  inputs[1].extents = other_extents;

  CHECK_ERROR(einstream_plan_create("ij,jk->i!k", 2, inputs, NULL, &options, &plan),
              EINSTREAM_PARSE_ERROR, "einstream_plan_create: ");
  CHECK(plan == NULL);
  CHECK(strstr(einstream_last_error(), "!") != NULL);
  /* j is 3 in the first operand and 4 in the second. */
  CHECK_ERROR(einstream_plan_create("ij,jk->ik", 2, inputs, NULL, &options, &plan),
              EINSTREAM_SHAPE_ERROR, "einstream_plan_create: ");
  CHECK(plan == NULL);

  CHECK_ERROR(einstream_plan_create(NULL, 2, inputs, NULL, &options, &plan),
              EINSTREAM_INVALID_ARGUMENT, "expression is NULL");
  CHECK_ERROR(einstream_plan_create("ij,jk->ik", 2, NULL, NULL, &options, &plan),
              EINSTREAM_INVALID_ARGUMENT, "inputs");
  CHECK_ERROR(einstream_plan_create("ij,jk->ik", 2, inputs, NULL, &options, NULL),
              EINSTREAM_INVALID_ARGUMENT, "plan");
  CHECK_ERROR(einstream_plan_create("ij,jk->ik", -1, inputs, NULL, &options, &plan),
              EINSTREAM_INVALID_ARGUMENT, "n_inputs is -1");
  inputs[1].rank = -3;
  CHECK_ERROR(einstream_plan_create("ij,jk->ik", 2, inputs, NULL, &options, &plan),
              EINSTREAM_INVALID_ARGUMENT, "inputs[1] has rank -3");
  inputs[1].rank = 2;
  inputs[1].extents = NULL;
  CHECK_ERROR(einstream_plan_create("ij,jk->ik", 2, inputs, NULL, &options, &plan),
              EINSTREAM_INVALID_ARGUMENT, "inputs[1] has rank 2 but its extents are NULL");
  inputs[1].extents = other_extents;
  inputs[1].dtype = (einstream_dtype)17;
  CHECK_ERROR(einstream_plan_create("ij,jk->ik", 2, inputs, NULL, &options, &plan),
              EINSTREAM_INVALID_ARGUMENT, "inputs[1] has dtype 17");
  inputs[1].dtype = EINSTREAM_F32;
  options.memory_limit_fraction = 1.5;
  CHECK_ERROR(einstream_plan_create("ij,kl->ijkl", 2, inputs, NULL, &options, &plan),
              EINSTREAM_INVALID_ARGUMENT, "memory_limit_fraction");
  options = host_options();
  options.backend = (einstream_backend)9;
  CHECK_ERROR(einstream_plan_create("ij,kl->ijkl", 2, inputs, NULL, &options, &plan),
              EINSTREAM_INVALID_ARGUMENT, "options->backend is 9");
  CHECK(plan == NULL);
  CHECK_ERROR(einstream_options_init(NULL), EINSTREAM_INVALID_ARGUMENT, "options is NULL");

  CHECK_ERROR(einstream_plan_execute(NULL, pointers, data, 1, 0, 0, 0, NULL),
              EINSTREAM_INVALID_ARGUMENT, "plan is NULL");
  CHECK_ERROR(einstream_plan_explain(NULL, NULL, 0, &needed), EINSTREAM_INVALID_ARGUMENT,
              "plan is NULL");
  CHECK_ERROR(einstream_plan_output_rank(NULL, &rank), EINSTREAM_INVALID_ARGUMENT, "plan is NULL");
  CHECK_ERROR(einstream_plan_workspace_bytes(NULL, NULL), EINSTREAM_INVALID_ARGUMENT,
              "plan is NULL");
  CHECK(einstream_plan_destroy(NULL) == EINSTREAM_OK);

  /* A valid plan, then calls on it with bad arguments. */
  options = host_options();
  inputs[1].extents = extents;
  CHECK(einstream_plan_create("ij,ij->ij", 2, inputs, NULL, &options, &plan) == EINSTREAM_OK);
  if (plan == NULL) return;
  pointers[0] = data;
  pointers[1] = NULL;
  CHECK_ERROR(einstream_plan_execute(plan, pointers, data + 0, 1, 0, 0, 0, NULL),
              EINSTREAM_INVALID_ARGUMENT, "inputs[1] is NULL");
  pointers[1] = data;
  CHECK_ERROR(einstream_plan_execute(plan, NULL, data, 1, 0, 0, 0, NULL),
              EINSTREAM_INVALID_ARGUMENT, "inputs");
  CHECK_ERROR(einstream_plan_execute(plan, pointers, NULL, 1, 0, 0, 0, NULL),
              EINSTREAM_INVALID_ARGUMENT, "output is NULL");
  CHECK_ERROR(einstream_plan_execute(plan, pointers, data, 1, 0, 0, 0, (void*)data),
              EINSTREAM_INVALID_ARGUMENT, "stream is not NULL");
  CHECK_ERROR(einstream_plan_explain(plan, NULL, 10, &needed), EINSTREAM_INVALID_ARGUMENT,
              "buffer");
  CHECK_ERROR(einstream_plan_output_rank(plan, NULL), EINSTREAM_INVALID_ARGUMENT, "rank is NULL");
  CHECK_ERROR(einstream_plan_output_extents(plan, extent_buffer, 1), EINSTREAM_INVALID_ARGUMENT,
              "capacity is 1 but the output has rank 2");
  {
    /* alpha with an imaginary part on a real dtype: the C++ API's own check. */
    float out[6];
    CHECK(einstream_plan_execute(plan, pointers, out, 1, 0.5, 0, 0, NULL) != EINSTREAM_OK);
    CHECK(strstr(einstream_last_error(), "einstream_plan_execute: ") == einstream_last_error());
  }
  einstream_plan_destroy(plan);
}

int main(void) {
  CHECK(strcmp(einstream_last_error(), "") == 0);
  CHECK(strlen(einstream_version()) > 0);
  test_matrix_product();
  test_complex_dot();
  test_half_precision_sum();
  test_explain();
  test_errors();
  if (failures != 0) {
    fprintf(stderr, "c_api_test: %d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  printf("c_api_test: all checks passed (einstream %s)\n", einstream_version());
  return EXIT_SUCCESS;
}
