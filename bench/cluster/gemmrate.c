/*
 * gemmrate: the machine's cblas_sgemm rate for the k-means distance
 * shape (n x d rows against k x d centroids), beside the rate of
 * ds-cluster's assignment step (kmeans_partial: norms, GEMM blocks and
 * argmin) on the same shape.  Prints median seconds and GFLOP/s of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kmeans.h"
#include "mat.h"
#include "util.h"

#define RUNS 5

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	size_t		 n, d, k, i;
	int		 threads, r;
	float		*x, *c, *out, *score;
	uint32_t	*assign;
	uint64_t	*counts;
	double		 t[RUNS], obj, flop, gemm, step;

	if (argc != 5) {
		fprintf(stderr, "usage: gemmrate n d k threads\n");
		return 64;
	}
	n = strtoul(argv[1], NULL, 10);
	d = strtoul(argv[2], NULL, 10);
	k = strtoul(argv[3], NULL, 10);
	threads = atoi(argv[4]);
	x = xreallocarray(NULL, n, d * sizeof(float));
	c = xreallocarray(NULL, k, d * sizeof(float));
	out = xreallocarray(NULL, n, k * sizeof(float));
	score = xreallocarray(NULL, n, sizeof(float));
	assign = xreallocarray(NULL, n, sizeof(uint32_t));
	counts = xcalloc(k, sizeof(uint64_t));
	srand(1);
	for (i = 0; i < n * d; i++)
		x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
	for (i = 0; i < k * d; i++)
		c[i] = (float)rand() / (float)RAND_MAX - 0.5f;
	flop = 2.0 * (double)n * (double)k * (double)d;

	mat_set_threads(threads);
	mat_gemm_abt(x, n, c, k, d, 1, 0, out, k);	/* warm up */
	for (r = 0; r < RUNS; r++) {
		t[r] = now();
		mat_gemm_abt(x, n, c, k, d, 1, 0, out, k);
		t[r] = now() - t[r];
	}
	qsort(t, RUNS, sizeof(double), cmp_double);
	gemm = t[RUNS / 2];

	obj = 0;
	kmeans_partial(x, n, d, c, k, KMEANS_L2, threads, NULL, counts, &obj,
	    assign, score);
	for (r = 0; r < RUNS; r++) {
		t[r] = now();
		kmeans_partial(x, n, d, c, k, KMEANS_L2, threads, NULL, counts,
		    &obj, assign, score);
		t[r] = now() - t[r];
	}
	qsort(t, RUNS, sizeof(double), cmp_double);
	step = t[RUNS / 2];
	printf("sgemm %.4f s %.1f GFLOP/s; assignment step %.4f s %.1f "
	    "GFLOP/s; ratio %.2f\n", gemm, flop / gemm / 1e9, step,
	    flop / step / 1e9, gemm / step);
	free(x);
	free(c);
	free(out);
	free(score);
	free(assign);
	free(counts);
	return 0;
}
