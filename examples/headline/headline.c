/* The old tool's example, jrl,ijr,ijrk,ijrl,ikmn->imn, from C11 through the C
 * API (include/einstream/einstream.h).
 *
 *   headline_c [small|full] [OUTPUT.npy]
 *
 * small (the default, for CI): i=6 j=20 r=3 k=16 l=12 m=5 n=4 on any backend.
 * full: the example's size, i=500 j=1000 r=3 k=1024 l=1024 m=9 n=9, 12.3 GB
 * of float32 input in (pageable) host memory, streamed to the GPU at the
 * default memory limit.
 *
 * Inputs are a deterministic hash of each element's C-order position, which
 * examples/headline/check.py regenerates with numpy to compare the written
 * OUTPUT.npy with numpy.einsum. The program itself checks the result for
 * three values of i against a factorized loop in double precision, and exits
 * nonzero when the error is above 1e-5 (relative to the largest element). */
#include <einstream/einstream.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kJrl, kIjr, kIjrk, kIjrl, kIkmn, kOperands };

typedef struct {
  int64_t i, j, r, k, l, m, n;
} Extents;

/* Element p of operand t: ((p * 2654435761 + 40503 t) mod 2^32 mod 2001 -
 * 1000) / 1000, in [-1, 1]. */
static float value_at(int t, uint64_t p) {
  const uint64_t hash = (p * UINT64_C(2654435761) + UINT64_C(40503) * (uint64_t)t) & UINT64_C(0xffffffff);
  return (float)((int64_t)(hash % 2001) - 1000) / 1000.0f;
}

static float* filled(int t, int64_t count) {
  float* data = malloc((size_t)count * sizeof(float));
  if (data == NULL) {
    fprintf(stderr, "headline_c: cannot allocate %lld floats\n", (long long)count);
    exit(2);
  }
  for (int64_t p = 0; p < count; ++p) data[p] = value_at(t, (uint64_t)p);
  return data;
}

static double seconds_now(void) {
  struct timespec now;
  timespec_get(&now, TIME_UTC);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/* out[i, :, :] by the factorization sum_k ikmn[i,k,m,n] T[k], T[k] =
 * sum_{j,r} ijr ijrk S[j,r], S[j,r] = sum_l jrl ijrl; the largest error of
 * `out` there, and the largest reference magnitude. */
static void check_row(const Extents* e, float* const* in, const float* out, int64_t i,
                      double* largest_error, double* largest_value) {
  double* t_of_k = calloc((size_t)e->k, sizeof(double));
  for (int64_t j = 0; j < e->j; ++j) {
    for (int64_t r = 0; r < e->r; ++r) {
      const int64_t ijr = (i * e->j + j) * e->r + r;
      double s = 0;
      for (int64_t l = 0; l < e->l; ++l) {
        s += (double)in[kJrl][(j * e->r + r) * e->l + l] * (double)in[kIjrl][ijr * e->l + l];
      }
      const double factor = s * (double)in[kIjr][ijr];
      for (int64_t k = 0; k < e->k; ++k) t_of_k[k] += factor * (double)in[kIjrk][ijr * e->k + k];
    }
  }
  for (int64_t m = 0; m < e->m; ++m) {
    for (int64_t n = 0; n < e->n; ++n) {
      double want = 0;
      for (int64_t k = 0; k < e->k; ++k) {
        want += t_of_k[k] * (double)in[kIkmn][((i * e->k + k) * e->m + m) * e->n + n];
      }
      const double got = out[(i * e->m + m) * e->n + n];
      if (fabs(got - want) > *largest_error) *largest_error = fabs(got - want);
      if (fabs(want) > *largest_value) *largest_value = fabs(want);
    }
  }
  free(t_of_k);
}

static int fail(const char* what) {
  fprintf(stderr, "headline_c: %s: %s\n", what, einstream_last_error());
  return 1;
}

int main(int argc, char** argv) {
  const int full = argc > 1 && strcmp(argv[1], "full") == 0;
  if (argc > 1 && !full && strcmp(argv[1], "small") != 0) {
    fprintf(stderr, "usage: headline_c [small|full] [OUTPUT.npy]\n");
    return 2;
  }
  const Extents e = full ? (Extents){500, 1000, 3, 1024, 1024, 9, 9} : (Extents){6, 20, 3, 16, 12, 5, 4};
  const int64_t shapes[kOperands][4] = {{e.j, e.r, e.l}, {e.i, e.j, e.r}, {e.i, e.j, e.r, e.k},
                                        {e.i, e.j, e.r, e.l}, {e.i, e.k, e.m, e.n}};
  const int32_t ranks[kOperands] = {3, 3, 4, 4, 4};
  einstream_tensor_desc descs[kOperands];
  float* inputs[kOperands];
  double input_bytes = 0;
  for (int t = 0; t < kOperands; ++t) {
    int64_t count = 1;
    for (int axis = 0; axis < ranks[t]; ++axis) count *= shapes[t][axis];
    descs[t] = (einstream_tensor_desc){EINSTREAM_F32, ranks[t], shapes[t], NULL};
    inputs[t] = filled(t, count);
    input_bytes += 4.0 * (double)count;
  }
  const int64_t output_count = e.i * e.m * e.n;
  float* output = malloc((size_t)output_count * sizeof(float));

  einstream_plan* plan = NULL;
  if (einstream_plan_create("jrl,ijr,ijrk,ijrl,ikmn->imn", kOperands, descs, NULL, NULL, &plan) !=
      EINSTREAM_OK) {
    return fail("planning");
  }
  const double start = seconds_now();
  if (einstream_plan_execute(plan, (const void* const*)inputs, output, 1, 0, 0, 0, NULL) !=
      EINSTREAM_OK) {
    return fail("execution");
  }
  const double elapsed = seconds_now() - start;
  printf("headline_c (%s): %.3g GB of input in %.3f s (%.3g GB/s)\n", full ? "full" : "small",
         input_bytes * 1e-9, elapsed, input_bytes * 1e-9 / elapsed);

  double largest_error = 0, largest_value = 0;
  const int64_t rows[3] = {0, e.i / 2, e.i - 1};
  for (int row = 0; row < 3; ++row) check_row(&e, inputs, output, rows[row], &largest_error, &largest_value);
  const double error = largest_value > 0 ? largest_error / largest_value : largest_error;
  printf("headline_c: error %.2e against a factorized double-precision loop (rows i = 0, %lld, %lld)\n",
         error, (long long)rows[1], (long long)rows[2]);

  if (argc > 2) {
    const int64_t extents[3] = {e.i, e.m, e.n};
    const einstream_tensor_desc out_desc = {EINSTREAM_F32, 3, extents, NULL};
    if (einstream_write_npy(argv[2], &out_desc, output) != EINSTREAM_OK) return fail("writing the output");
  }
  einstream_plan_destroy(plan);
  for (int t = 0; t < kOperands; ++t) free(inputs[t]);
  free(output);
  return error <= 1e-5 ? 0 : 1;
}
