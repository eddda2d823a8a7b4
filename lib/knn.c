/* knn: exact dense search as blocked matrix multiplies plus selection. */
#include <sys/mman.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "knn.h"
#include "mat.h"
#include "topk.h"
#include "util.h"

/*
 * Queries per batch and index rows per block: a block of scores is
 * QUERY_BATCH x INDEX_BLOCK floats (2 MB), small enough to stay in cache
 * between the multiply that writes it and the scan that reads it, large
 * enough for the multiply to run at full rate.
 */
#define QUERY_BATCH	1024
#define INDEX_BLOCK	512
/* Candidates kept beyond k, so that rescoring in double can reorder. */
#define EXTRA		8

int
knn_metric_parse(const char *s, enum knn_metric *m)
{
	if (strcmp(s, "cos") == 0)
		*m = KNN_COS;
	else if (strcmp(s, "dot") == 0)
		*m = KNN_DOT;
	else if (strcmp(s, "l2") == 0)
		*m = KNN_L2;
	else
		return -1;
	return 0;
}

const char *
knn_metric_name(enum knn_metric m)
{
	switch (m) {
	case KNN_COS:
		return "cos";
	case KNN_DOT:
		return "dot";
	default:
		return "l2";
	}
}

float *
knn_alloc(size_t rows, size_t dim, int populate)
{
	float	*a;
	size_t	 bytes;

	a = xreallocarray(NULL, rows, dim * sizeof(*a));
	bytes = rows * dim * sizeof(*a);
	if (populate && mlock(a, bytes) == 0)
		munlock(a, bytes);
	return a;
}

/*
 * Store the squared norm of each row in norms2 (if not NULL) and, if
 * scale is set, scale each nonzero row to unit length.  Returns the
 * largest row norm.
 */
static float
row_norms(float *a, size_t n, size_t dim, float *norms2, int scale)
{
	size_t	 i, j;
	float	*row;
	double	 s, s0, s1, s2, s3, max = 0, inv;

	for (i = 0; i < n; i++) {
		row = a + i * dim;
		/* Four sums, so that the additions do not wait on each other. */
		s0 = s1 = s2 = s3 = 0;
		for (j = 0; j + 4 <= dim; j += 4) {
			s0 += (double)row[j] * row[j];
			s1 += (double)row[j + 1] * row[j + 1];
			s2 += (double)row[j + 2] * row[j + 2];
			s3 += (double)row[j + 3] * row[j + 3];
		}
		for (; j < dim; j++)
			s0 += (double)row[j] * row[j];
		s = (s0 + s1) + (s2 + s3);
		if (norms2 != NULL)
			norms2[i] = (float)s;
		if (s > max)
			max = s;
		if (!scale || s == 0)
			continue;
		inv = 1 / sqrt(s);
		for (j = 0; j < dim; j++)
			row[j] = (float)(row[j] * inv);
	}
	return (float)sqrt(max);
}

void
knn_index_init(struct knn_index *ix, float *data, size_t n, size_t dim,
    enum knn_metric metric)
{
	ix->data = data;
	ix->n = n;
	ix->dim = dim;
	ix->metric = metric;
	ix->norms2 = NULL;
	if (metric == KNN_L2)
		ix->norms2 = xreallocarray(NULL, n, sizeof(*ix->norms2));
	ix->max_norm = row_norms(data, n, dim, ix->norms2, metric == KNN_COS);
	if (metric == KNN_COS)
		ix->max_norm = 1;
}

void
knn_index_free(struct knn_index *ix)
{
	free(ix->data);
	free(ix->norms2);
	ix->data = NULL;
	ix->norms2 = NULL;
}

void
knn_prepare_queries(float *q, size_t nq, size_t dim, enum knn_metric metric)
{
	if (metric == KNN_COS)
		row_norms(q, nq, dim, NULL, 1);
}

/* One thread's share of a batch: it takes index blocks until none is left. */
struct worker {
	const struct knn_index	*ix;
	const float		*q;
	size_t			 nq;
	const float		*gate;	/* per query: the lowest score kept */
	const uint64_t		*self;
	struct topk		*heaps;	/* nq, this thread's own */
	double			*exact;	/* nq x kk: heaps' exact scores */
	size_t			 kk;
	float			*buf;	/* QUERY_BATCH x INDEX_BLOCK */
	pthread_mutex_t		*lock;
	size_t			*next_block;
};

static size_t
take_block(struct worker *w)
{
	size_t	 b;

	pthread_mutex_lock(w->lock);
	b = (*w->next_block)++;
	pthread_mutex_unlock(w->lock);
	return b;
}

/* Scores scanned together: one test tells whether any can enter. */
#define SCAN_STEP	16

/*
 * Offer row (nb scores of index rows r...) to t.  Blocks reach a thread
 * in increasing row order, so a later row with an equal score never
 * displaces a kept one: a strict comparison keeps the tie rule.  Most
 * scores lose; testing SCAN_STEP of them at once with no branch lets the
 * compiler use vector compares for the common case.
 */
static void
scan_row(struct topk *t, const float *row, size_t nb, uint64_t r,
    float gate)
{
	size_t	 j, u, end;
	float	 g;
	int	 hit;

	g = t->n < t->k ? gate : fmaxf(t->score[0], gate);
	for (j = 0; j < nb; j += SCAN_STEP) {
		end = nb - j < SCAN_STEP ? nb : j + SCAN_STEP;
		if (end - j == SCAN_STEP) {
			hit = 0;
			for (u = 0; u < SCAN_STEP; u++)
				hit |= row[j + u] > g;
			if (!hit)
				continue;
		}
		for (u = j; u < end; u++) {
			if (row[u] > g) {
				topk_push(t, row[u], r + u);
				if (t->n == t->k)
					g = fmaxf(t->score[0], gate);
			}
		}
	}
}

/*
 * The exact score of query q against index row r, in double: the inner
 * product, or for l2 the distance.  Four sums, so that the additions do
 * not wait on each other.
 */
static double
exact_score(const struct knn_index *ix, const float *q, uint64_t r)
{
	const float	*x = ix->data + r * ix->dim;
	double		 s[4] = { 0, 0, 0, 0 }, d;
	size_t		 j, u;

	if (ix->metric == KNN_L2) {
		for (j = 0; j + 4 <= ix->dim; j += 4)
			for (u = 0; u < 4; u++) {
				d = (double)q[j + u] - x[j + u];
				s[u] += d * d;
			}
		for (; j < ix->dim; j++) {
			d = (double)q[j] - x[j];
			s[0] += d * d;
		}
		return sqrt((s[0] + s[1]) + (s[2] + s[3]));
	}
	for (j = 0; j + 4 <= ix->dim; j += 4)
		for (u = 0; u < 4; u++)
			s[u] += (double)q[j + u] * x[j + u];
	for (; j < ix->dim; j++)
		s[0] += (double)q[j] * x[j];
	return (s[0] + s[1]) + (s[2] + s[3]);
}

static void *
work(void *arg)
{
	struct worker		*w = arg;
	const struct knn_index	*ix = w->ix;
	size_t			 b, r, nb, i, j;
	float			 alpha = ix->metric == KNN_L2 ? 2 : 1;
	float			*row;
	struct topk		*t;

	while ((r = (b = take_block(w)) * INDEX_BLOCK) < ix->n) {
		nb = ix->n - r < INDEX_BLOCK ? ix->n - r : INDEX_BLOCK;
		mat_gemm_abt(w->q, w->nq, ix->data + r * ix->dim, nb, ix->dim,
		    alpha, 0, w->buf, nb);
		for (i = 0; i < w->nq; i++) {
			row = w->buf + i * nb;
			if (ix->norms2 != NULL)
				for (j = 0; j < nb; j++)
					row[j] -= ix->norms2[r + j];
			if (w->self != NULL && w->self[i] >= r &&
			    w->self[i] < r + nb)
				row[w->self[i] - r] = -INFINITY;
			scan_row(&w->heaps[i], row, nb, r, w->gate[i]);
		}
	}
	/* Each thread rescores its own candidates. */
	for (i = 0; i < w->nq; i++) {
		t = &w->heaps[i];
		for (j = 0; j < t->n; j++)
			w->exact[i * w->kk + j] = exact_score(ix,
			    w->q + i * ix->dim, t->id[j]);
	}
	return NULL;
}

struct cand {
	double		 score;	/* larger is better (l2: negated) */
	uint64_t	 id;
};

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void
search_batch(const struct knn_index *ix, const float *q, size_t nq,
    const struct knn_opts *o, const uint64_t *self, struct worker *w,
    int nthreads, pthread_t *tids, float *gate, struct cand *cands,
    uint64_t *ids, float *scores, size_t *counts)
{
	pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
	size_t		 next_block = 0, i, j, n, nc;
	double		 qn2, bound, lim, s;
	int		 t, started;
	const float	*qi;

	/*
	 * The float score of a pair may be off by about dim * 2^-24 times
	 * |q| |x|; the gate is lowered by more than that, and the exact
	 * limit is applied after rescoring.
	 */
	for (i = 0; i < nq; i++) {
		qi = q + i * ix->dim;
		qn2 = 0;
		for (j = 0; j < ix->dim; j++)
			qn2 += (double)qi[j] * qi[j];
		if (!o->has_limit) {
			gate[i] = -INFINITY;
			continue;
		}
		bound = (ix->dim + 16) * ldexp(1, -20) *
		    (ix->metric == KNN_L2 ? qn2 + (double)ix->max_norm *
		    ix->max_norm : sqrt(qn2) * ix->max_norm);
		if (ix->metric == KNN_L2)
			lim = qn2 - o->limit * o->limit;
		else
			lim = o->limit;
		gate[i] = (float)(lim - bound);
	}

	for (t = 0; t < nthreads; t++) {
		w[t].q = q;
		w[t].nq = nq;
		w[t].gate = gate;
		w[t].self = self;
		w[t].lock = &lock;
		w[t].next_block = &next_block;
		for (i = 0; i < nq; i++)
			topk_clear(&w[t].heaps[i]);
	}
	started = 0;
	for (t = 1; t < nthreads; t++)
		if (pthread_create(&tids[t], NULL, work, &w[t]) == 0)
			started = t;
		else
			break;
	work(&w[0]);
	for (t = 1; t <= started; t++)
		pthread_join(tids[t], NULL);

	for (i = 0; i < nq; i++) {
		nc = 0;
		for (t = 0; t < nthreads; t++) {
			for (n = 0; n < w[t].heaps[i].n; n++) {
				cands[nc].id = w[t].heaps[i].id[n];
				s = w[t].exact[i * w[t].kk + n];
				if (o->has_limit && (ix->metric == KNN_L2 ?
				    s > o->limit : s < o->limit))
					continue;
				cands[nc++].score = ix->metric == KNN_L2 ? -s : s;
			}
		}
		qsort(cands, nc, sizeof(*cands), cand_cmp);
		if (nc > o->k)
			nc = o->k;
		counts[i] = nc;
		for (n = 0; n < nc; n++) {
			ids[i * o->k + n] = cands[n].id;
			scores[i * o->k + n] = (float)(ix->metric == KNN_L2 ?
			    -cands[n].score : cands[n].score);
		}
	}
}

void
knn_search(const struct knn_index *ix, const float *q, size_t nq,
    const struct knn_opts *o, uint64_t *ids, float *scores, size_t *counts)
{
	struct worker	*w;
	pthread_t	*tids;
	float		*gate;
	struct cand	*cands;
	size_t		 kk = o->k + EXTRA, b, i, nblocks, qb;
	int		 nthreads, t;

	/* Fewer queries at a time when k is large: heaps stay ~50 MB. */
	qb = ((size_t)1 << 22) / kk;
	qb = qb < 1 ? 1 : qb > QUERY_BATCH ? QUERY_BATCH : qb;
	nblocks = (ix->n + INDEX_BLOCK - 1) / INDEX_BLOCK;
	nthreads = o->threads;
	if ((size_t)nthreads > nblocks)
		nthreads = nblocks > 0 ? (int)nblocks : 1;
	/* The threads below are the parallelism; BLAS runs in each. */
	mat_set_threads(1);

	w = xcalloc(nthreads, sizeof(*w));
	tids = xcalloc(nthreads, sizeof(*tids));
	gate = xreallocarray(NULL, qb, sizeof(*gate));
	cands = xreallocarray(NULL, (size_t)nthreads * kk, sizeof(*cands));
	for (t = 0; t < nthreads; t++) {
		w[t].ix = ix;
		w[t].kk = kk;
		w[t].exact = xreallocarray(NULL, qb * kk,
		    sizeof(*w[t].exact));
		w[t].buf = xreallocarray(NULL, (size_t)QUERY_BATCH *
		    INDEX_BLOCK, sizeof(float));
		w[t].heaps = xreallocarray(NULL, qb, sizeof(*w[t].heaps));
		for (i = 0; i < qb; i++)
			topk_init(&w[t].heaps[i], kk);
	}
	for (b = 0; b < nq; b += qb)
		search_batch(ix, q + b * ix->dim, nq - b < qb ? nq - b : qb,
		    o, o->self == NULL ? NULL :
		    o->self + b, w, nthreads, tids, gate, cands,
		    ids + b * o->k, scores + b * o->k, counts + b);
	for (t = 0; t < nthreads; t++) {
		for (i = 0; i < qb; i++)
			topk_free(&w[t].heaps[i]);
		free(w[t].heaps);
		free(w[t].buf);
		free(w[t].exact);
	}
	free(w);
	free(tids);
	free(gate);
	free(cands);
}
