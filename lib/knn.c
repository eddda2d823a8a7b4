/* knn: exact dense search as blocked matrix multiplies plus selection. */
#include <sys/mman.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
/*
 * A file-backed index is rescored while each block is in memory: after
 * a block, the candidates it brought that are still kept get their
 * exact score.  Usually that is a few times k per query; when a thread
 * has scored EXACT_BUDGET times k + EXTRA per query in a batch (rows in
 * ascending order of score would make it every candidate), it leaves
 * the rest to one reading of the kept rows at the end.
 */
#define EXACT_BUDGET	8
/*
 * Reading the rows of a file-backed index: a gap between wanted rows up
 * to GAP_MAX bytes is read through rather than skipped (one pread costs
 * about as much as copying that much more), and one pread reads at most
 * SPAN_MAX bytes.
 */
#define GAP_MAX		(64 * 1024)
#define SPAN_MAX	(8 * 1024 * 1024)
/*
 * Bytes of a binary frame around a row's numbers, as first guessed for
 * the read buffer: lengths, a short id.  A longer span grows the buffer.
 */
#define FRAME_GUESS	64

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
knn_alloc(size_t rows, size_t dim)
{
	return mat_alloc(rows, dim);
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
	double	 s, max = 0, inv;

	for (i = 0; i < n; i++) {
		row = a + i * dim;
		s = sum_squares(row, dim);
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
	ix->fd = -1;
	ix->off = NULL;
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
knn_index_init_file(struct knn_index *ix, int fd, uint64_t *off, size_t n,
    size_t dim, enum knn_metric metric)
{
	ix->data = NULL;
	ix->fd = fd;
	ix->off = off;
	ix->n = n;
	ix->dim = dim;
	ix->metric = metric;
	ix->norms2 = NULL;
	/* Only a range search needs it: found by its first use. */
	ix->max_norm = metric == KNN_COS ? 1 : -1;
}

void
knn_index_free(struct knn_index *ix)
{
	free(ix->data);
	free(ix->norms2);
	free(ix->off);
	if (ix->fd != -1)
		close(ix->fd);
	ix->data = NULL;
	ix->norms2 = NULL;
	ix->off = NULL;
	ix->fd = -1;
}

/* Scratch for reading rows from the file. */
struct rowbuf {
	unsigned char	*raw;
	size_t		 cap;
};

/* dim little-endian float32 from src to dst. */
static void
copy_row(float *dst, const unsigned char *src, size_t dim)
{
	size_t		 i;
	uint32_t	 u;

	if (host_little_endian()) {
		memcpy(dst, src, dim * sizeof(*dst));
		return;
	}
	for (i = 0; i < dim; i++) {
		u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
		    (uint32_t)src[4 * i + 2] << 16 |
		    (uint32_t)src[4 * i + 3] << 24;
		memcpy(&dst[i], &u, sizeof(u));
	}
}

/* Read exactly n bytes at offset at.  Returns 0, or -1 with errno set. */
static int
read_at(int fd, unsigned char *buf, size_t n, uint64_t at)
{
	size_t	 done;
	ssize_t	 got;

	for (done = 0; done < n; done += (size_t)got) {
		got = pread(fd, buf + done, n - done, (off_t)(at + done));
		if (got == -1 && errno == EINTR)
			got = 0;
		else if (got == -1)
			return -1;
		else if (got == 0) {
			errno = EIO;
			return -1;
		}
	}
	return 0;
}

/*
 * Read n rows of a file-backed index into out (n x dim), prepared: the
 * rows rows[0..n), ascending, or, if rows is NULL, first, first + 1, ...
 * Rows close together come in one pread.
 */
static int
fetch_rows(const struct knn_index *ix, const uint64_t *rows, uint64_t first,
    size_t n, float *out, struct rowbuf *rb)
{
	size_t		 i, j, rowbytes = ix->dim * sizeof(float), span;
	uint64_t	 start, end, o;

#define ROW(i)	(rows != NULL ? rows[i] : first + (i))
	for (i = 0; i < n; i = j) {
		start = ix->off[ROW(i)];
		end = start + rowbytes;
		for (j = i + 1; j < n; j++) {
			o = ix->off[ROW(j)];
			if (o < end || o - end > GAP_MAX ||
			    o + rowbytes - start > SPAN_MAX)
				break;
			end = o + rowbytes;
		}
		span = (size_t)(end - start);
		if (span > rb->cap) {
			rb->raw = xreallocarray(rb->raw, span, 1);
			rb->cap = span;
		}
		if (read_at(ix->fd, rb->raw, span, start) == -1)
			return -1;
		for (; i < j; i++)
			copy_row(out + i * ix->dim, rb->raw +
			    (ix->off[ROW(i)] - start), ix->dim);
	}
#undef ROW
	if (ix->metric == KNN_COS)
		row_norms(out, n, ix->dim, NULL, 1);
	return 0;
}

int
knn_index_rows(const struct knn_index *ix, size_t r, size_t n, float *out)
{
	struct rowbuf	 rb = { NULL, 0 };
	int		 rc;

	if (ix->data != NULL) {
		memcpy(out, ix->data + r * ix->dim,
		    n * ix->dim * sizeof(*out));
		return 0;
	}
	rc = fetch_rows(ix, NULL, r, n, out, &rb);
	free(rb.raw);
	return rc;
}

/* The largest row norm of a file-backed index: one pass over its rows. */
static int
file_max_norm(struct knn_index *ix)
{
	struct rowbuf	 rb = { NULL, 0 };
	float		*xb, m, max = 0;
	size_t		 r, nb;
	int		 rc = 0;

	xb = xreallocarray(NULL, INDEX_BLOCK, ix->dim * sizeof(*xb));
	for (r = 0; r < ix->n; r += nb) {
		nb = ix->n - r < INDEX_BLOCK ? ix->n - r : INDEX_BLOCK;
		if ((rc = fetch_rows(ix, NULL, r, nb, xb, &rb)) == -1)
			break;
		if ((m = row_norms(xb, nb, ix->dim, NULL, 0)) > max)
			max = m;
	}
	free(xb);
	free(rb.raw);
	if (rc == 0)
		ix->max_norm = max;
	return rc;
}

void
knn_prepare_queries(float *q, size_t nq, size_t dim, enum knn_metric metric)
{
	if (metric == KNN_COS)
		row_norms(q, nq, dim, NULL, 1);
}

struct cand {
	double		 score;	/* larger is better (l2: negated) */
	uint64_t	 id;
};

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
	/* File-backed index only: */
	float			*xb;	/* INDEX_BLOCK rows read */
	float			*bn2;	/* their squared norms (l2) */
	struct rowbuf		 rb;
	struct cand		*slots;	/* candidates to rescore */
	uint64_t		*urows;	/* their distinct rows */
	size_t			 scored;	/* exact scores taken in blocks */
	int			 err;	/* errno of a failed read, or 0 */
};

/*
 * Room for at least bytes in whole huge pages (mat_alloc), its size in
 * *cap.  A thread writes its block buffers from the first block on; on
 * virtual machines where the first touch of each small page is dear,
 * one huge page costs far less than the 128 small ones of half a
 * megabyte.  Where there are no huge pages, untouched pages cost nothing.
 */
static void *
block_buffer(size_t bytes, size_t *cap)
{
	bytes = (bytes + MAT_HUGE_PAGE - 1) / MAT_HUGE_PAGE * MAT_HUGE_PAGE;
	if (cap != NULL)
		*cap = bytes;
	return mat_alloc(1, bytes / sizeof(float));
}

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
#define SCAN_STEP	64

/*
 * Offer row (nb scores of index rows r...) to t.  Blocks reach a thread
 * in increasing row order, so a later row with an equal score never
 * displaces a kept one: a strict comparison keeps the tie rule.  Most
 * scores lose; testing SCAN_STEP of them at once with no branch lets the
 * compiler use vector compares for the common case.
 */
static int UTIL_AVX2_CLONE
scan_row(struct topk *t, const float *row, size_t nb, uint64_t r,
    float gate)
{
	size_t	 j, u, end;
	float	 g;
	int	 hit, pushed = 0;

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
				pushed = 1;
				if (t->n == t->k)
					g = fmaxf(t->score[0], gate);
			}
		}
	}
	return pushed;
}

/*
 * The exact score of query q against the prepared index row x, in
 * double: the inner product, or for l2 the distance.  Eight sums, so
 * that the additions do not wait on each other.
 */
static double UTIL_AVX2_CLONE
exact_score(const struct knn_index *ix, const float *q, const float *x)
{
	double	 s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0;
	double	 s7 = 0, d[8];
	size_t	 j, n = ix->dim;

	if (ix->metric == KNN_L2) {
		for (j = 0; j + 8 <= n; j += 8) {
			d[0] = (double)q[j] - x[j];
			d[1] = (double)q[j + 1] - x[j + 1];
			d[2] = (double)q[j + 2] - x[j + 2];
			d[3] = (double)q[j + 3] - x[j + 3];
			d[4] = (double)q[j + 4] - x[j + 4];
			d[5] = (double)q[j + 5] - x[j + 5];
			d[6] = (double)q[j + 6] - x[j + 6];
			d[7] = (double)q[j + 7] - x[j + 7];
			s0 += d[0] * d[0];
			s1 += d[1] * d[1];
			s2 += d[2] * d[2];
			s3 += d[3] * d[3];
			s4 += d[4] * d[4];
			s5 += d[5] * d[5];
			s6 += d[6] * d[6];
			s7 += d[7] * d[7];
		}
		for (; j < n; j++) {
			d[0] = (double)q[j] - x[j];
			s0 += d[0] * d[0];
		}
		return sqrt(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));
	}
	for (j = 0; j + 8 <= n; j += 8) {
		s0 += (double)q[j] * x[j];
		s1 += (double)q[j + 1] * x[j + 1];
		s2 += (double)q[j + 2] * x[j + 2];
		s3 += (double)q[j + 3] * x[j + 3];
		s4 += (double)q[j + 4] * x[j + 4];
		s5 += (double)q[j + 5] * x[j + 5];
		s6 += (double)q[j + 6] * x[j + 6];
		s7 += (double)q[j + 7] * x[j + 7];
	}
	for (; j < n; j++)
		s0 += (double)q[j] * x[j];
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

static int
slot_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/*
 * Give the candidates of query q that rows r..r+nb-1 (xb) brought and
 * that are still kept their exact score, while the rows are at hand.
 */
static void
score_block(struct worker *w, size_t q, const float *xb, uint64_t r,
    size_t nb)
{
	struct topk	*t = &w->heaps[q];
	size_t		 j;

	for (j = 0; j < t->n; j++)
		if (t->id[j] >= r && t->id[j] - r < nb && isnan(t->aux[j])) {
			t->aux[j] = exact_score(w->ix, w->q + q * w->ix->dim,
			    xb + (t->id[j] - r) * w->ix->dim);
			w->scored++;
		}
}

/*
 * Rescore this thread's candidates of a file-backed index: those scored
 * in their block have it; read the rows of the rest in file order, a
 * block at a time.  A candidate's slot is query * kk + place, kept in
 * the score field meanwhile.
 */
static int
rescore_file(struct worker *w)
{
	const struct knn_index	*ix = w->ix;
	size_t			 i, j, ns, nu, c, m, u, s, slot;
	struct topk		*t;

	ns = 0;
	for (i = 0; i < w->nq; i++) {
		t = &w->heaps[i];
		for (j = 0; j < t->n; j++) {
			if (!isnan(t->aux[j])) {
				w->exact[i * w->kk + j] = t->aux[j];
				continue;
			}
			w->slots[ns].id = t->id[j];
			w->slots[ns++].score = (double)(i * w->kk + j);
		}
	}
	qsort(w->slots, ns, sizeof(*w->slots), slot_cmp);
	nu = 0;
	for (s = 0; s < ns; s++)
		if (nu == 0 || w->urows[nu - 1] != w->slots[s].id)
			w->urows[nu++] = w->slots[s].id;
	s = 0;
	for (c = 0; c < nu; c += m) {
		m = nu - c < INDEX_BLOCK ? nu - c : INDEX_BLOCK;
		if (fetch_rows(ix, w->urows + c, 0, m, w->xb, &w->rb) == -1)
			return -1;
		for (u = 0; u < m; u++)
			for (; s < ns && w->slots[s].id == w->urows[c + u];
			    s++) {
				slot = (size_t)w->slots[s].score;
				w->exact[slot] = exact_score(ix, w->q +
				    slot / w->kk * ix->dim,
				    w->xb + u * ix->dim);
			}
	}
	return 0;
}

static void *
work(void *arg)
{
	struct worker		*w = arg;
	const struct knn_index	*ix = w->ix;
	size_t			 b, r, nb, i, j;
	float			 alpha = ix->metric == KNN_L2 ? 2 : 1;
	float			*row;
	int			 pushed;
	const float		*xb, *bn2;
	struct topk		*t;

	while ((r = (b = take_block(w)) * INDEX_BLOCK) < ix->n) {
		nb = ix->n - r < INDEX_BLOCK ? ix->n - r : INDEX_BLOCK;
		if (ix->data != NULL) {
			xb = ix->data + r * ix->dim;
			bn2 = ix->norms2 != NULL ? ix->norms2 + r : NULL;
		} else {
			if (fetch_rows(ix, NULL, r, nb, w->xb, &w->rb) == -1) {
				w->err = errno;
				return NULL;
			}
			xb = w->xb;
			bn2 = NULL;
			if (ix->metric == KNN_L2) {
				/* The same sums knn_index_init takes. */
				row_norms(w->xb, nb, ix->dim, w->bn2, 0);
				bn2 = w->bn2;
			}
		}
		mat_gemm_abt(w->q, w->nq, xb, nb, ix->dim, alpha, 0, w->buf,
		    nb);
		for (i = 0; i < w->nq; i++) {
			row = w->buf + i * nb;
			if (bn2 != NULL)
				for (j = 0; j < nb; j++)
					row[j] -= bn2[j];
			if (w->self != NULL && w->self[i] >= r &&
			    w->self[i] < r + nb)
				row[w->self[i] - r] = -INFINITY;
			pushed = scan_row(&w->heaps[i], row, nb, r,
			    w->gate[i]);
			if (pushed && ix->data == NULL && w->scored <
			    EXACT_BUDGET * w->kk * w->nq)
				score_block(w, i, xb, r, nb);
		}
	}
	/* Each thread rescores its own candidates. */
	if (ix->data == NULL) {
		if (rescore_file(w) == -1)
			w->err = errno;
		return NULL;
	}
	for (i = 0; i < w->nq; i++) {
		t = &w->heaps[i];
		for (j = 0; j < t->n; j++)
			w->exact[i * w->kk + j] = exact_score(ix,
			    w->q + i * ix->dim, ix->data + t->id[j] * ix->dim);
	}
	return NULL;
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int
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
		w[t].scored = 0;
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
	for (t = 0; t < nthreads; t++)
		if (w[t].err != 0) {
			errno = w[t].err;
			return -1;
		}

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
	return 0;
}

int
knn_search(struct knn_index *ix, const float *q, size_t nq,
    const struct knn_opts *o, uint64_t *ids, float *scores, size_t *counts)
{
	struct worker	*w;
	pthread_t	*tids;
	float		*gate;
	struct cand	*cands;
	size_t		 kk = o->k + EXTRA, b, i, nblocks, qb;
	int		 nthreads, t, rc = 0;

	if (o->has_limit && ix->max_norm < 0 && file_max_norm(ix) == -1)
		return -1;

	/* Fewer queries at a time when k is large: heaps stay ~50 MB. */
	qb = ((size_t)1 << 22) / kk;
	qb = qb < 1 ? 1 : qb > QUERY_BATCH ? QUERY_BATCH : qb;
	nblocks = (ix->n + INDEX_BLOCK - 1) / INDEX_BLOCK;
	nthreads = o->threads;
	if ((size_t)nthreads > nblocks)
		nthreads = nblocks > 0 ? (int)nblocks : 1;
	/* The threads below are the parallelism; BLAS runs in each. */
	mat_single_threaded();

	w = xcalloc(nthreads, sizeof(*w));
	tids = xcalloc(nthreads, sizeof(*tids));
	gate = xreallocarray(NULL, qb, sizeof(*gate));
	cands = xreallocarray(NULL, (size_t)nthreads * kk, sizeof(*cands));
	for (t = 0; t < nthreads; t++) {
		w[t].ix = ix;
		w[t].kk = kk;
		w[t].exact = xreallocarray(NULL, qb * kk,
		    sizeof(*w[t].exact));
		/* One huge page where the kernel has them: few faults. */
		w[t].buf = mat_alloc(QUERY_BATCH, INDEX_BLOCK);
		w[t].heaps = xreallocarray(NULL, qb, sizeof(*w[t].heaps));
		for (i = 0; i < qb; i++)
			if (ix->data == NULL)
				topk_init_aux(&w[t].heaps[i], kk);
			else
				topk_init(&w[t].heaps[i], kk);
		if (ix->data == NULL) {
			w[t].xb = block_buffer(INDEX_BLOCK *
			    ix->dim * sizeof(float), NULL);
			w[t].rb.raw = block_buffer(INDEX_BLOCK * (ix->dim *
			    sizeof(float) + FRAME_GUESS), &w[t].rb.cap);
			w[t].bn2 = xreallocarray(NULL, INDEX_BLOCK,
			    sizeof(float));
			w[t].slots = xreallocarray(NULL, qb * kk,
			    sizeof(*w[t].slots));
			w[t].urows = xreallocarray(NULL, qb * kk,
			    sizeof(*w[t].urows));
		}
	}
	for (b = 0; b < nq && rc == 0; b += qb)
		rc = search_batch(ix, q + b * ix->dim, nq - b < qb ? nq - b :
		    qb, o, o->self == NULL ? NULL :
		    o->self + b, w, nthreads, tids, gate, cands,
		    ids + b * o->k, scores + b * o->k, counts + b);
	for (t = 0; t < nthreads; t++) {
		for (i = 0; i < qb; i++)
			topk_free(&w[t].heaps[i]);
		free(w[t].heaps);
		free(w[t].buf);
		free(w[t].exact);
		free(w[t].xb);
		free(w[t].bn2);
		free(w[t].slots);
		free(w[t].urows);
		free(w[t].rb.raw);
	}
	free(w);
	free(tids);
	free(gate);
	free(cands);
	return rc;
}
