/*
 * kmeans: Lloyd's and spherical k-means with greedy k-means++ seeding.
 *
 * The distance step is one GEMM per block of rows: for a row x and a
 * centroid c, |x - c|^2 = |x|^2 - 2 x.c + |c|^2, and the argmin over c
 * needs only the last two terms.  Blocks are grouped in slabs whose count
 * depends only on n and k; each slab sums its rows per cluster in double,
 * and the slabs are added in order, so that no result depends on how
 * many threads ran or which thread ran which slab.
 */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kmeans.h"
#include "mat.h"
#include "util.h"

/* Rows of the sample greedy k-means++ works on, at least. */
#define PP_SAMPLE_MIN	4096
/* ... and per cluster. */
#define PP_SAMPLE_PER_K	32
/* Rows per GEMM while seeding. */
#define PP_TILE		512
/* The most slabs: more adds memory and reduction work, not speed. */
#define MAX_SLABS	32

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64. */
struct rng {
	uint64_t	s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	 z;

	z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	int	 i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t	*s = r->s, result, t;

	result = rotl(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n > 0 and well below 2^53. */
static size_t
rng_below(struct rng *r, size_t n)
{
	return (size_t)(rng_unit(r) * (double)n) % n;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t	 x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * m distinct row indexes out of n, ascending: the first m of a partial
 * Fisher-Yates shuffle.
 */
static size_t *
sample_rows(struct rng *r, size_t n, size_t m)
{
	size_t	*perm, *out, i, j, t;

	perm = xreallocarray(NULL, n, sizeof(*perm));
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = 0; i < m; i++) {
		j = i + rng_below(r, n - i);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	out = xreallocarray(NULL, m, sizeof(*out));
	memcpy(out, perm, m * sizeof(*out));
	free(perm);
	qsort(out, m, sizeof(*out), cmp_size);
	return out;
}

static int
default_threads(int threads)
{
	long	 n;

	if (threads > 0)
		return threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > 64 ? 64 : (int)n;
}

/* Run fn(arg, t) for t in [0, nthreads), t = 0 on the calling thread. */
struct par_arg {
	void	(*fn)(void *, int);
	void	*arg;
	int	 t;
};

static void *
par_start(void *p)
{
	struct par_arg	*a = p;

	a->fn(a->arg, a->t);
	return NULL;
}

static void
parallel(int nthreads, void (*fn)(void *, int), void *arg)
{
	pthread_t	*tid;
	struct par_arg	*pa;
	int		 t, started;

	if (nthreads <= 1) {
		fn(arg, 0);
		return;
	}
	tid = xreallocarray(NULL, nthreads, sizeof(*tid));
	pa = xreallocarray(NULL, nthreads, sizeof(*pa));
	started = 1;
	for (t = 1; t < nthreads; t++) {
		pa[t].fn = fn;
		pa[t].arg = arg;
		pa[t].t = t;
		if (pthread_create(&tid[t], NULL, par_start, &pa[t]) != 0)
			break;
		started++;
	}
	/* Threads that could not start leave their share to this one. */
	for (t = started; t < nthreads; t++)
		fn(arg, t);
	fn(arg, 0);
	for (t = 1; t < started; t++)
		pthread_join(tid[t], NULL);
	free(tid);
	free(pa);
}

/*
 * Rows per GEMM block: about 256 KiB of x, so a block stays in cache, but
 * at least 256 rows: a GEMM of fewer rows than that against ~100
 * centroids runs well below the machine's rate (at d = 1,024, 64-row
 * blocks cost a sixth more time per iteration than 256-row ones).
 */
static size_t
block_rows(size_t dim)
{
	size_t	 b;

	b = (256 * 1024 / sizeof(float)) / (dim ? dim : 1);
	if (b < 256)
		b = 256;
	if (b > 1024)
		b = 1024;
	return b;
}

/*
 * One assignment pass over all rows, and optionally the per-cluster sums
 * of the rows, slab by slab.
 */
struct pass {
	const float	*x, *xnorm;
	size_t		 n, dim;
	const float	*c, *cnorm;
	size_t		 k;
	size_t		 block, slab_rows, nslab;
	double		*sums;		/* nslab x k x dim, or NULL */
	uint64_t	*counts;	/* nslab x k */
	double		*obj;		/* nslab */
	size_t		*changed;	/* nslab */
	uint32_t	*assign;	/* n */
	float		*dist2;		/* n */
	float		*dbuf;		/* nthreads x block x k */
	int		 nthreads;
};

/*
 * s += x, dim values, x widened to double.  Eight at a time with a fixed
 * count, so that the compiler vectorises it even at -O2; each element is
 * still one addition, so the sums are those of the plain loop.
 */
static void
add_row(double *s, const float *x, size_t dim)
{
	size_t	 r, l;

	for (r = 0; r + 8 <= dim; r += 8)
		for (l = 0; l < 8; l++)
			s[r + l] += x[r + l];
	for (; r < dim; r++)
		s[r] += x[r];
}

static void
pass_slab(struct pass *p, size_t s, float *dbuf)
{
	size_t		 i0, i1, b0, b1, i, j, best, changed, k, dim;
	const float	*dr;
	float		 bestv, v, d2;
	double		*sums, obj;
	uint64_t	*counts;

	k = p->k;
	dim = p->dim;
	i0 = s * p->slab_rows;
	i1 = i0 + p->slab_rows < p->n ? i0 + p->slab_rows : p->n;
	sums = p->sums ? p->sums + s * k * dim : NULL;
	counts = p->counts + s * k;
	if (sums)
		memset(sums, 0, k * dim * sizeof(*sums));
	memset(counts, 0, k * sizeof(*counts));
	obj = 0;
	changed = 0;
	for (b0 = i0; b0 < i1; b0 = b1) {
		b1 = b0 + p->block < i1 ? b0 + p->block : i1;
		mat_gemm_abt(p->x + b0 * dim, b1 - b0, p->c, k, dim, 1, 0,
		    dbuf, k);
		for (i = b0; i < b1; i++) {
			dr = dbuf + (i - b0) * k;
			best = 0;
			bestv = p->cnorm[0] - 2 * dr[0];
			for (j = 1; j < k; j++) {
				v = p->cnorm[j] - 2 * dr[j];
				if (v < bestv) {
					bestv = v;
					best = j;
				}
			}
			d2 = p->xnorm[i] + bestv;
			if (d2 < 0)
				d2 = 0;
			if (p->assign[i] != best)
				changed++;
			p->assign[i] = (uint32_t)best;
			p->dist2[i] = d2;
			obj += d2;
			counts[best]++;
			if (sums)
				add_row(sums + best * dim, p->x + i * dim, dim);
		}
	}
	p->obj[s] = obj;
	p->changed[s] = changed;
}

static void
pass_worker(void *arg, int t)
{
	struct pass	*p = arg;
	size_t		 s;

	for (s = (size_t)t; s < p->nslab; s += (size_t)p->nthreads)
		pass_slab(p, s, p->dbuf + (size_t)t * p->block * p->k);
}

static void
pass_init(struct pass *p, const float *x, const float *xnorm, size_t n,
    size_t dim, size_t k, int nthreads, int with_sums)
{
	size_t	 nblocks, nslab, per;

	memset(p, 0, sizeof(*p));
	p->x = x;
	p->xnorm = xnorm;
	p->n = n;
	p->dim = dim;
	p->k = k;
	p->block = block_rows(dim);
	nblocks = (n + p->block - 1) / p->block;
	/* Slab sums cost 8 k dim bytes each: keep them to 1/8 of x. */
	nslab = n / (16 * k);
	if (nslab > MAX_SLABS)
		nslab = MAX_SLABS;
	if (nslab > nblocks)
		nslab = nblocks;
	if (nslab < 1)
		nslab = 1;
	per = (nblocks + nslab - 1) / nslab;
	p->slab_rows = per * p->block;
	p->nslab = (n + p->slab_rows - 1) / p->slab_rows;
	if (p->nslab < 1)
		p->nslab = 1;
	p->nthreads = nthreads < (int)p->nslab ? nthreads : (int)p->nslab;
	if (with_sums)
		p->sums = xreallocarray(NULL, p->nslab * k,
		    dim * sizeof(double));
	p->counts = xreallocarray(NULL, p->nslab * k, sizeof(uint64_t));
	p->obj = xreallocarray(NULL, p->nslab, sizeof(double));
	p->changed = xreallocarray(NULL, p->nslab, sizeof(size_t));
	p->dbuf = xreallocarray(NULL, (size_t)p->nthreads * p->block,
	    k * sizeof(float));
}

static void
pass_free(struct pass *p)
{
	free(p->sums);
	free(p->counts);
	free(p->obj);
	free(p->changed);
	free(p->dbuf);
}

/* Run the pass against centroids c (cnorm: their squared norms). */
static void
pass_run(struct pass *p, const float *c, const float *cnorm,
    uint32_t *assign, float *dist2)
{
	p->c = c;
	p->cnorm = cnorm;
	p->assign = assign;
	p->dist2 = dist2;
	parallel(p->nthreads, pass_worker, p);
}

/* Add the slabs' sums, counts and objectives, in slab order. */
static void
pass_total(const struct pass *p, double *sums, uint64_t *counts,
    double *obj, size_t *changed)
{
	size_t	 s, j, kd;

	kd = p->k * p->dim;
	for (s = 0; s < p->nslab; s++) {
		if (sums)
			for (j = 0; j < kd; j++)
				sums[j] += p->sums[s * kd + j];
		for (j = 0; j < p->k; j++)
			counts[j] += p->counts[s * p->k + j];
		*obj += p->obj[s];
		if (changed)
			*changed += p->changed[s];
	}
}

/*
 * Squared norm of a row: eight float partial sums, which the compiler can
 * keep in one vector register, added in double at the end.
 */
static float
sqnorm(const float *v, size_t dim)
{
	float	 part[8] = { 0 };
	double	 s;
	size_t	 r, l;

	for (r = 0; r + 8 <= dim; r += 8)
		for (l = 0; l < 8; l++)
			part[l] += v[r + l] * v[r + l];
	s = 0;
	for (; r < dim; r++)
		s += (double)v[r] * v[r];
	for (l = 0; l < 8; l++)
		s += part[l];
	return (float)s;
}

/* Squared norms of rows, in parallel blocks. */
struct norms {
	const float	*x;
	size_t		 n, dim, chunk;
	float		*out;
	int		 nthreads;
};

static void
norms_worker(void *arg, int t)
{
	struct norms	*a = arg;
	size_t		 i0, i1;

	i0 = (size_t)t * a->chunk;
	if (i0 >= a->n)
		return;
	i1 = i0 + a->chunk < a->n ? i0 + a->chunk : a->n;
	for (; i0 < i1; i0++)
		a->out[i0] = sqnorm(a->x + i0 * a->dim, a->dim);
}

static void
row_norms(const float *x, size_t n, size_t dim, float *out, int nthreads)
{
	struct norms	 a;

	a.x = x;
	a.n = n;
	a.dim = dim;
	a.out = out;
	a.nthreads = nthreads;
	a.chunk = (n + (size_t)nthreads - 1) / (size_t)nthreads;
	parallel(nthreads, norms_worker, &a);
}

/* The trials of one greedy k-means++ step against the sample, by tiles. */
struct pp {
	const float	*x, *xnorm;
	size_t		 dim, m, ntile, ntrial, tn, j;
	const size_t	*rows;		/* sample rows, or NULL: all rows */
	const float	*cv, *cvnorm;	/* tn trials */
	float		*tile;		/* nthreads x PP_TILE x dim */
	float		*dd;		/* m x ntrial: new squared distance */
	const float	*d2;		/* m: squared distance so far */
	double		*tpot;		/* ntile x ntrial */
	int		 nthreads;
};

static void
pp_worker(void *arg, int t)
{
	struct pp	*a = arg;
	size_t		 s, t0, t1, i, l, dim = a->dim, nt = a->ntrial;
	float		*tile, v;
	const float	*tp;
	double		*pot;

	tile = a->tile + (size_t)t * PP_TILE * dim;
	for (s = (size_t)t; s < a->ntile; s += (size_t)a->nthreads) {
		t0 = s * PP_TILE;
		t1 = t0 + PP_TILE < a->m ? t0 + PP_TILE : a->m;
		if (a->rows) {
			for (i = t0; i < t1; i++)
				memcpy(tile + (i - t0) * dim,
				    a->x + a->rows[i] * dim,
				    dim * sizeof(float));
			tp = tile;
		} else
			tp = a->x + t0 * dim;
		mat_gemm_abt(tp, t1 - t0, a->cv, a->tn, dim, -2, 0,
		    a->dd + t0 * nt, nt);
		pot = a->tpot + s * nt;
		for (l = 0; l < a->tn; l++)
			pot[l] = 0;
		for (i = t0; i < t1; i++) {
			float	 xn;

			xn = a->xnorm[a->rows ? a->rows[i] : i];
			for (l = 0; l < a->tn; l++) {
				v = a->dd[i * nt + l] + xn + a->cvnorm[l];
				if (v < 0)
					v = 0;
				if (a->j > 0 && a->d2[i] < v)
					v = a->d2[i];
				a->dd[i * nt + l] = v;
				pot[l] += v;
			}
		}
	}
}

/*
 * Greedy k-means++ (Arthur and Vassilvitskii, 2007, with the several
 * trials per step of their section 6): each new centroid is the best of
 * 4 + 2 ln k rows drawn with probability proportional to their squared
 * distance from the centroids so far, "best" meaning the one that lowers
 * the total most.  It runs on a random sample of rows, which costs a
 * small fraction of one Lloyd iteration on large inputs.  Reading the
 * sample costs more than the trials, so this takes twice the trials of
 * scikit-learn's 2 + ln k: on well separated clusters fewer are missed.
 */
static void
seed_pp(const float *x, const float *xnorm, size_t n, size_t dim, size_t k,
    struct rng *r, int nthreads, float *c)
{
	struct pp	 a;
	size_t		 m, i, j, l, s, best, *rows, *cand;
	float		*cv, *cvnorm, *dd, *d2, *sample, *snorm;
	double		*cum, pot[64], total, u, bestpot;
	size_t		 lo, hi, mid;

	m = PP_SAMPLE_MIN > PP_SAMPLE_PER_K * k ? PP_SAMPLE_MIN :
	    PP_SAMPLE_PER_K * k;
	if (m > n)
		m = n;
	rows = m < n ? sample_rows(r, n, m) : NULL;
	memset(&a, 0, sizeof(a));
	sample = NULL;
	snorm = NULL;
	if (rows != NULL && m <= n / 8) {
		/* Small enough to copy once rather than gather every step. */
		sample = xreallocarray(NULL, m, dim * sizeof(float));
		snorm = xreallocarray(NULL, m, sizeof(float));
		for (i = 0; i < m; i++) {
			memcpy(sample + i * dim, x + rows[i] * dim,
			    dim * sizeof(float));
			snorm[i] = xnorm[rows[i]];
		}
		x = sample;
		xnorm = snorm;
		free(rows);
		rows = NULL;
	}
	a.ntrial = 4 + 2 * (size_t)log((double)k);
	if (a.ntrial > 64)
		a.ntrial = 64;
	a.ntile = (m + PP_TILE - 1) / PP_TILE;
	a.nthreads = nthreads < (int)a.ntile ? nthreads : (int)a.ntile;
	a.x = x;
	a.xnorm = xnorm;
	a.dim = dim;
	a.m = m;
	a.rows = rows;
	a.tile = rows ? xreallocarray(NULL, (size_t)a.nthreads * PP_TILE,
	    dim * sizeof(float)) : NULL;
	a.tpot = xreallocarray(NULL, a.ntile, a.ntrial * sizeof(double));
	cv = xreallocarray(NULL, a.ntrial, dim * sizeof(float));
	cvnorm = xreallocarray(NULL, a.ntrial, sizeof(float));
	cand = xreallocarray(NULL, a.ntrial, sizeof(size_t));
	dd = xreallocarray(NULL, m, a.ntrial * sizeof(float));
	d2 = xreallocarray(NULL, m, sizeof(float));
	cum = xreallocarray(NULL, m, sizeof(double));
	a.cv = cv;
	a.cvnorm = cvnorm;
	a.dd = dd;
	a.d2 = d2;

	for (j = 0; j < k; j++) {
		/* Draw the trials: the first centroid is one uniform row. */
		if (j == 0) {
			a.tn = 1;
			cand[0] = rng_below(r, m);
		} else {
			total = 0;
			for (i = 0; i < m; i++) {
				total += d2[i];
				cum[i] = total;
			}
			a.tn = a.ntrial;
			for (l = 0; l < a.tn; l++) {
				if (total <= 0) {
					/* Every row sits on a centroid. */
					cand[l] = rng_below(r, m);
					continue;
				}
				u = rng_unit(r) * total;
				lo = 0;
				hi = m - 1;
				while (lo < hi) {
					mid = lo + (hi - lo) / 2;
					if (cum[mid] > u)
						hi = mid;
					else
						lo = mid + 1;
				}
				cand[l] = lo;
			}
		}
		for (l = 0; l < a.tn; l++) {
			i = rows ? rows[cand[l]] : cand[l];
			memcpy(cv + l * dim, x + i * dim, dim * sizeof(float));
			cvnorm[l] = xnorm[i];
		}
		a.j = j;
		parallel(a.nthreads, pp_worker, &a);
		/* Tile by tile, in order: the same sums for any thread count. */
		for (l = 0; l < a.tn; l++)
			pot[l] = 0;
		for (s = 0; s < a.ntile; s++)
			for (l = 0; l < a.tn; l++)
				pot[l] += a.tpot[s * a.ntrial + l];
		best = 0;
		bestpot = pot[0];
		for (l = 1; l < a.tn; l++)
			if (pot[l] < bestpot) {
				bestpot = pot[l];
				best = l;
			}
		memcpy(c + j * dim, cv + best * dim, dim * sizeof(float));
		for (i = 0; i < m; i++)
			d2[i] = dd[i * a.ntrial + best];
	}
	free(rows);
	free(sample);
	free(snorm);
	free(a.tile);
	free(a.tpot);
	free(cv);
	free(cvnorm);
	free(cand);
	free(dd);
	free(d2);
	free(cum);
}

/* k distinct rows at random. */
static void
seed_random(const float *x, size_t n, size_t dim, size_t k, struct rng *r,
    float *c)
{
	size_t	*rows, j;

	rows = sample_rows(r, n, k);
	/* Shuffle back, so that centroid order does not follow row order. */
	for (j = k; j > 1; j--) {
		size_t	 i = rng_below(r, j), t;

		t = rows[j - 1];
		rows[j - 1] = rows[i];
		rows[i] = t;
	}
	for (j = 0; j < k; j++)
		memcpy(c + j * dim, x + rows[j] * dim, dim * sizeof(float));
	free(rows);
}

size_t
kmeans_centroids(const double *sums, const uint64_t *counts, size_t k,
    size_t dim, enum kmeans_metric metric, float *c)
{
	size_t	 j, r, empty;
	double	 norm;

	empty = 0;
	for (j = 0; j < k; j++) {
		if (counts[j] == 0) {
			empty++;
			continue;
		}
		norm = 0;
		for (r = 0; r < dim; r++) {
			double	 v = sums[j * dim + r] / (double)counts[j];

			norm += v * v;
		}
		if (metric == KMEANS_COS) {
			/* Rows that cancel out leave the centroid where it is. */
			if (norm <= 0)
				continue;
			norm = 1 / sqrt(norm);
		} else
			norm = 1;
		for (r = 0; r < dim; r++)
			c[j * dim + r] = (float)(sums[j * dim + r] /
			    (double)counts[j] * norm);
	}
	return empty;
}

/*
 * Move each empty cluster to the row farthest from its own centroid,
 * taking it out of its cluster's sums (as scikit-learn does), among
 * clusters that keep at least one row.  Returns how many moved.
 */
static size_t
reseed_empty(const float *x, size_t n, size_t dim, size_t k,
    uint32_t *assign, float *dist2, double *sums, uint64_t *counts)
{
	size_t	 j, i, r, far, moved;
	float	 fard;

	moved = 0;
	for (j = 0; j < k; j++) {
		if (counts[j] > 0)
			continue;
		far = n;
		fard = 0;
		for (i = 0; i < n; i++)
			if (dist2[i] > fard && counts[assign[i]] > 1) {
				fard = dist2[i];
				far = i;
			}
		if (far == n)
			continue;
		counts[assign[far]]--;
		for (r = 0; r < dim; r++) {
			sums[assign[far] * dim + r] -= x[far * dim + r];
			sums[j * dim + r] = x[far * dim + r];
		}
		counts[j] = 1;
		assign[far] = (uint32_t)j;
		dist2[far] = 0;
		moved++;
	}
	return moved;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One complete run from one seed into km (arrays already allocated). */
static void
run_once(const float *x, const float *xnorm, size_t n, size_t dim,
    const struct kmeans_opts *o, uint64_t seed, double tol_abs,
    int nthreads, struct kmeans *km)
{
	struct rng	 r;
	struct pass	 p;
	float		*cnorm, *old;
	double		*sums, obj, shift, dlt, t0, t1;
	uint64_t	*counts;
	size_t		 k = o->k, j, changed;
	int		 it;

	t0 = now();
	rng_seed(&r, seed);
	if (o->init == KMEANS_INIT_GIVEN)
		memcpy(km->centroids, o->init_centroids,
		    k * dim * sizeof(float));
	else if (o->init == KMEANS_INIT_RANDOM)
		seed_random(x, n, dim, k, &r, km->centroids);
	else
		seed_pp(x, xnorm, n, dim, k, &r, nthreads, km->centroids);

	cnorm = xreallocarray(NULL, k, sizeof(float));
	old = xreallocarray(NULL, k, dim * sizeof(float));
	sums = xreallocarray(NULL, k, dim * sizeof(double));
	counts = xreallocarray(NULL, k, sizeof(uint64_t));
	t1 = now();
	km->seed_seconds = t1 - t0;
	pass_init(&p, x, xnorm, n, dim, k, nthreads, 1);
	/* No row has a cluster yet: k is never a cluster number. */
	for (j = 0; j < n; j++)
		km->assign[j] = (uint32_t)k;

	km->reseeded = 0;
	km->converged = 0;
	for (it = 1; it <= o->max_iter; it++) {
		mat_row_norms2(km->centroids, k, dim, cnorm);
		pass_run(&p, km->centroids, cnorm, km->assign, km->score);
		memset(sums, 0, k * dim * sizeof(double));
		memset(counts, 0, k * sizeof(uint64_t));
		obj = 0;
		changed = 0;
		pass_total(&p, sums, counts, &obj, &changed);
		km->iterations = it;
		if (changed == 0) {
			/* The centroids are the means of their rows already. */
			km->converged = 1;
			goto done;
		}
		km->reseeded += reseed_empty(x, n, dim, k, km->assign,
		    km->score, sums, counts);
		memcpy(old, km->centroids, k * dim * sizeof(float));
		kmeans_centroids(sums, counts, k, dim, o->metric,
		    km->centroids);
		shift = 0;
		for (j = 0; j < k * dim; j++) {
			dlt = (double)km->centroids[j] - old[j];
			shift += dlt * dlt;
		}
		if (shift <= tol_abs) {
			km->converged = it < o->max_iter;
			break;
		}
	}
	/* Label the rows by the centroids returned. */
	mat_row_norms2(km->centroids, k, dim, cnorm);
	pass_run(&p, km->centroids, cnorm, km->assign, km->score);
	memset(counts, 0, k * sizeof(uint64_t));
	obj = 0;
	pass_total(&p, NULL, counts, &obj, NULL);
done:
	km->iter_seconds = now() - t1;
	km->objective = obj;
	km->empty = 0;
	for (j = 0; j < k; j++) {
		km->sizes[j] = counts[j];
		if (counts[j] == 0)
			km->empty++;
	}
	pass_free(&p);
	free(cnorm);
	free(old);
	free(sums);
	free(counts);
}

/* Turn squared distances into what struct kmeans reports. */
static void
finish_scores(struct kmeans *km, enum kmeans_metric metric)
{
	size_t	 i;

	for (i = 0; i < km->n; i++) {
		if (metric == KMEANS_COS)
			km->score[i] = 1 - km->score[i] / 2;
		else
			km->score[i] = sqrtf(km->score[i]);
	}
	if (metric == KMEANS_COS)
		km->objective /= 2;
}

static void
km_alloc(struct kmeans *km, size_t n, size_t k, size_t dim)
{
	memset(km, 0, sizeof(*km));
	km->n = n;
	km->k = k;
	km->dim = dim;
	km->centroids = xreallocarray(NULL, k, dim * sizeof(float));
	km->assign = xreallocarray(NULL, n ? n : 1, sizeof(uint32_t));
	km->score = xreallocarray(NULL, n ? n : 1, sizeof(float));
	km->sizes = xreallocarray(NULL, k, sizeof(size_t));
}

/* The mean column variance of x: the scale of tol, as in scikit-learn. */
static double
mean_variance(const float *x, const float *xnorm, size_t n, size_t dim)
{
	double	*colsum, var, mean;
	size_t	 i, r;

	var = 0;
	for (i = 0; i < n; i++)
		var += xnorm[i];
	var /= (double)n;
	colsum = xcalloc(dim ? dim : 1, sizeof(double));
	for (i = 0; i < n; i++)
		for (r = 0; r < dim; r++)
			colsum[r] += x[i * dim + r];
	mean = 0;
	for (r = 0; r < dim; r++)
		mean += (colsum[r] / (double)n) * (colsum[r] / (double)n);
	free(colsum);
	var = (var - mean) / (double)(dim ? dim : 1);
	return var < 0 ? 0 : var;
}

int
kmeans_run(const float *x, size_t n, size_t dim,
    const struct kmeans_opts *o, struct kmeans *km, const char **errstr)
{
	struct kmeans	 trial, tmp;
	float		*xnorm;
	double		 var;
	int		 nthreads, run;

	if (o->k == 0) {
		*errstr = "k must be at least 1";
		return -1;
	}
	if (o->k > n) {
		*errstr = "k is larger than the number of records";
		return -1;
	}
	nthreads = default_threads(o->threads);
	/* Each thread runs its own GEMMs: BLAS must not spawn more. */
	mat_set_threads(1);

	xnorm = xreallocarray(NULL, n, sizeof(float));
	row_norms(x, n, dim, xnorm, nthreads);
	/* Only a positive tol needs its scale. */
	var = o->tol > 0 ? mean_variance(x, xnorm, n, dim) : 0;

	km_alloc(km, n, o->k, dim);
	for (run = 0; run < (o->restarts > 0 ? o->restarts : 1); run++) {
		if (run == 0) {
			run_once(x, xnorm, n, dim, o, o->seed, o->tol * var,
			    nthreads, km);
			km->best_restart = 0;
			continue;
		}
		km_alloc(&trial, n, o->k, dim);
		run_once(x, xnorm, n, dim, o,
		    o->seed + (uint64_t)run * 0x9e3779b97f4a7c15ULL,
		    o->tol * var, nthreads, &trial);
		if (trial.objective < km->objective) {
			trial.best_restart = run;
			tmp = *km;
			*km = trial;
			trial = tmp;
		}
		kmeans_free(&trial);
	}
	finish_scores(km, o->metric);
	free(xnorm);
	mat_set_threads(nthreads);
	return 0;
}

void
kmeans_free(struct kmeans *km)
{
	free(km->centroids);
	free(km->assign);
	free(km->score);
	free(km->sizes);
	memset(km, 0, sizeof(*km));
}

int
kmeans_normalize(float *x, size_t n, size_t dim, size_t *bad)
{
	size_t	 i, r;
	double	 s;
	float	 inv;

	for (i = 0; i < n; i++) {
		s = 0;
		for (r = 0; r < dim; r++)
			s += (double)x[i * dim + r] * x[i * dim + r];
		if (!(s > 0) || !isfinite(s)) {
			*bad = i;
			return -1;
		}
		inv = (float)(1 / sqrt(s));
		for (r = 0; r < dim; r++)
			x[i * dim + r] *= inv;
	}
	return 0;
}

void
kmeans_partial(const float *x, size_t n, size_t dim, const float *c,
    size_t k, enum kmeans_metric metric, int threads, double *sums,
    uint64_t *counts, double *objective, uint32_t *assign, float *score)
{
	struct pass	 p;
	float		*xnorm, *cnorm, *d2;
	uint32_t	*a;
	double		 obj;
	size_t		 i;
	int		 nthreads;

	if (n == 0)
		return;
	nthreads = default_threads(threads);
	mat_set_threads(1);
	xnorm = xreallocarray(NULL, n, sizeof(float));
	cnorm = xreallocarray(NULL, k, sizeof(float));
	a = assign ? assign : xreallocarray(NULL, n, sizeof(uint32_t));
	d2 = score ? score : xreallocarray(NULL, n, sizeof(float));
	row_norms(x, n, dim, xnorm, nthreads);
	mat_row_norms2(c, k, dim, cnorm);
	pass_init(&p, x, xnorm, n, dim, k, nthreads, sums != NULL);
	pass_run(&p, c, cnorm, a, d2);
	obj = 0;
	pass_total(&p, sums, counts, &obj, NULL);
	if (metric == KMEANS_COS)
		obj /= 2;
	*objective += obj;
	if (score)
		for (i = 0; i < n; i++)
			score[i] = metric == KMEANS_COS ? 1 - score[i] / 2 :
			    sqrtf(score[i]);
	pass_free(&p);
	if (a != assign)
		free(a);
	if (d2 != score)
		free(d2);
	free(xnorm);
	free(cnorm);
	mat_set_threads(nthreads);
}

int
kmeans_mb_init(struct kmeans_mb *mb, const float *x, size_t n, size_t dim,
    const float *init, const struct kmeans_opts *o, const char **errstr)
{
	struct rng	 r;
	float		*xnorm;

	memset(mb, 0, sizeof(*mb));
	if (o->k == 0) {
		*errstr = "k must be at least 1";
		return -1;
	}
	if (init == NULL && o->k > n) {
		*errstr = "k is larger than the number of records";
		return -1;
	}
	mb->k = o->k;
	mb->dim = dim;
	mb->metric = o->metric;
	mb->threads = o->threads;
	mb->centroids = xreallocarray(NULL, o->k, dim * sizeof(float));
	mb->seen = xcalloc(o->k, sizeof(uint64_t));
	if (init != NULL) {
		memcpy(mb->centroids, init, o->k * dim * sizeof(float));
		return 0;
	}
	rng_seed(&r, o->seed);
	if (o->init == KMEANS_INIT_RANDOM)
		seed_random(x, n, dim, o->k, &r, mb->centroids);
	else {
		xnorm = xreallocarray(NULL, n, sizeof(float));
		row_norms(x, n, dim, xnorm, default_threads(o->threads));
		seed_pp(x, xnorm, n, dim, o->k, &r,
		    default_threads(o->threads), mb->centroids);
		free(xnorm);
	}
	return 0;
}

void
kmeans_mb_update(struct kmeans_mb *mb, const float *x, size_t n)
{
	double		*sums, obj, total, norm, v;
	uint64_t	*counts;
	size_t		 j, r, k = mb->k, dim = mb->dim;

	if (n == 0)
		return;
	sums = xcalloc(k * dim, sizeof(double));
	counts = xcalloc(k, sizeof(uint64_t));
	obj = 0;
	kmeans_partial(x, n, dim, mb->centroids, k, mb->metric, mb->threads,
	    sums, counts, &obj, NULL, NULL);
	/*
	 * Steps of 1/count, taken row by row, make each centroid the mean of
	 * every row it has been given: that mean is taken here at once.
	 */
	for (j = 0; j < k; j++) {
		if (counts[j] == 0)
			continue;
		total = (double)(mb->seen[j] + counts[j]);
		norm = 0;
		for (r = 0; r < dim; r++) {
			v = ((double)mb->centroids[j * dim + r] *
			    (double)mb->seen[j] + sums[j * dim + r]) / total;
			mb->centroids[j * dim + r] = (float)v;
			norm += v * v;
		}
		mb->seen[j] += counts[j];
		if (mb->metric == KMEANS_COS && norm > 0) {
			norm = 1 / sqrt(norm);
			for (r = 0; r < dim; r++)
				mb->centroids[j * dim + r] *= (float)norm;
		}
	}
	free(sums);
	free(counts);
}

void
kmeans_mb_free(struct kmeans_mb *mb)
{
	free(mb->centroids);
	free(mb->seen);
	memset(mb, 0, sizeof(*mb));
}
