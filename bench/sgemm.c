/*
 * sgemm: the machine's matrix-multiply rate for a search shape.  Times
 * queries (m x k) times an index of n rows (n x k) transposed, through
 * mat_gemm_abt with the given threads, in calls of at most 100,000 index
 * rows (a 1,000 x 1,000,000 block of scores would not fit in memory), and
 * prints the median GFLOP/s over the runs, by the clock and by processor
 * time (all threads; on a busy machine the second is the steadier).
 *   sgemm M N K THREADS RUNS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mat.h"
#include "util.h"

#define CHUNK	100000

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char *argv[])
{
	const char	*e1, *e2, *e3, *e4, *e5;
	size_t		 m, n, k, cn, i, done;
	int		 threads, runs, r;
	float		*a, *b, *c;
	double		*rate, *cpu_rate, t0;
	clock_t		 c0;

	if (argc != 6) {
		fprintf(stderr, "usage: sgemm M N K THREADS RUNS\n");
		return 64;
	}
	m = num_parse(argv[1], 1, 1 << 20, &e1);
	n = num_parse(argv[2], 1, 1LL << 32, &e2);
	k = num_parse(argv[3], 1, 1 << 20, &e3);
	threads = num_parse(argv[4], 1, 256, &e4);
	runs = num_parse(argv[5], 1, 100, &e5);
	if (e1 || e2 || e3 || e4 || e5) {
		fprintf(stderr, "sgemm: bad argument\n");
		return 64;
	}
	cn = n < CHUNK ? n : CHUNK;
	a = xreallocarray(NULL, m * k, sizeof(*a));
	b = xreallocarray(NULL, cn * k, sizeof(*b));
	c = xreallocarray(NULL, m * cn, sizeof(*c));
	srand(1);
	for (i = 0; i < m * k; i++)
		a[i] = (float)rand() / RAND_MAX - 0.5f;
	for (i = 0; i < cn * k; i++)
		b[i] = (float)rand() / RAND_MAX - 0.5f;
	mat_set_threads(threads);
	/* One call first, so that BLAS's threads and buffers are set up. */
	mat_gemm_abt(a, m, b, cn, k, 1, 0, c, cn);
	rate = xreallocarray(NULL, runs, sizeof(*rate));
	cpu_rate = xreallocarray(NULL, runs, sizeof(*cpu_rate));
	for (r = 0; r < runs; r++) {
		t0 = now();
		c0 = clock();
		for (done = 0; done < n; done += cn)
			mat_gemm_abt(a, m, b, n - done < cn ? n - done : cn, k,
			    1, 0, c, cn);
		rate[r] = 2.0 * m * n * k / (now() - t0) / 1e9;
		cpu_rate[r] = 2.0 * m * n * k / ((double)(clock() - c0) /
		    CLOCKS_PER_SEC) / 1e9;
	}
	qsort(rate, runs, sizeof(*rate), cmp);
	qsort(cpu_rate, runs, sizeof(*cpu_rate), cmp);
	printf("%.1f %.1f\n", rate[runs / 2], cpu_rate[runs / 2]);
	free(a);
	free(b);
	free(c);
	free(rate);
	free(cpu_rate);
	return 0;
}
