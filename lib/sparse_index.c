/* sparse_index: an inverted index for exact sparse-vector search. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sparse_index.h"
#include "topk.h"
#include "util.h"

void
sparse_index_init(struct sparse_index *s)
{
	memset(s, 0, sizeof(*s));
	s->row = xcalloc(1, sizeof(*s->row));
}

void
sparse_index_free(struct sparse_index *s)
{
	free(s->row);
	free(s->idx);
	free(s->val);
	free(s->terms);
	free(s->post);
	free(s->doc);
	free(s->pval);
	free(s->norms2);
	free(s->acc);
	memset(s, 0, sizeof(*s));
}

int
sparse_index_add(struct sparse_index *s, const uint32_t *idx,
    const float *val, size_t nnz, const char **errstr)
{
	if (s->n == UINT32_MAX) {
		*errstr = "too many sparse rows (at most 4294967295)";
		return -1;
	}
	if (s->nnz + nnz > s->cap) {
		s->cap = 2 * (s->nnz + nnz) + 1024;
		s->idx = xreallocarray(s->idx, s->cap, sizeof(*s->idx));
		s->val = xreallocarray(s->val, s->cap, sizeof(*s->val));
	}
	if (nnz > 0) {
		memcpy(s->idx + s->nnz, idx, nnz * sizeof(*idx));
		memcpy(s->val + s->nnz, val, nnz * sizeof(*val));
	}
	s->nnz += nnz;
	s->row = xreallocarray(s->row, s->n + 2, sizeof(*s->row));
	s->row[++s->n] = s->nnz;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The rank of term index t among s->terms, or -1 if it is not there. */
static ptrdiff_t
term_rank(const struct sparse_index *s, uint32_t t)
{
	size_t	 lo = 0, hi = s->nterms, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->terms[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nterms && s->terms[lo] == t ? (ptrdiff_t)lo : -1;
}

void
sparse_index_build(struct sparse_index *s, enum knn_metric metric)
{
	size_t	 i, p, t, *fill;
	uint32_t *rank;
	double	 sum;

	s->metric = metric;
	/* The distinct term indexes, and each posting's rank among them. */
	s->terms = xreallocarray(NULL, s->nnz ? s->nnz : 1, sizeof(*s->terms));
	if (s->nnz > 0)
		memcpy(s->terms, s->idx, s->nnz * sizeof(*s->terms));
	qsort(s->terms, s->nnz, sizeof(*s->terms), cmp_u32);
	for (p = 0, s->nterms = 0; p < s->nnz; p++)
		if (s->nterms == 0 || s->terms[s->nterms - 1] != s->terms[p])
			s->terms[s->nterms++] = s->terms[p];
	rank = xreallocarray(NULL, s->nnz ? s->nnz : 1, sizeof(*rank));
	for (p = 0; p < s->nnz; p++)
		rank[p] = (uint32_t)term_rank(s, s->idx[p]);

	s->post = xcalloc(s->nterms + 1, sizeof(*s->post));
	s->doc = xreallocarray(NULL, s->nnz, sizeof(*s->doc));
	s->pval = xreallocarray(NULL, s->nnz, sizeof(*s->pval));
	s->norms2 = xreallocarray(NULL, s->n, sizeof(*s->norms2));
	s->acc = xcalloc(s->n, sizeof(*s->acc));
	/* Count the postings of each term, then place them in row order. */
	for (p = 0; p < s->nnz; p++)
		s->post[rank[p] + 1]++;
	for (t = 0; t < s->nterms; t++)
		s->post[t + 1] += s->post[t];
	fill = xreallocarray(NULL, s->nterms + 1, sizeof(*fill));
	memcpy(fill, s->post, (s->nterms + 1) * sizeof(*fill));
	for (i = 0; i < s->n; i++) {
		sum = 0;
		for (p = s->row[i]; p < s->row[i + 1]; p++) {
			s->doc[fill[rank[p]]] = (uint32_t)i;
			s->pval[fill[rank[p]]++] = s->val[p];
			sum += (double)s->val[p] * s->val[p];
		}
		s->norms2[i] = sum;
	}
	free(fill);
	free(rank);
}

size_t
sparse_index_search(struct sparse_index *s, const uint32_t *idx,
    const float *val, size_t nnz, const struct knn_opts *o, uint64_t self,
    uint64_t *ids, float *scores)
{
	struct topk	 t;
	size_t		 i, p, n;
	ptrdiff_t	 r;
	double		 qn2 = 0, dot, sc;
	uint32_t	 d;

	for (i = 0; i < nnz; i++) {
		qn2 += (double)val[i] * val[i];
		if ((r = term_rank(s, idx[i])) == -1)
			continue;
		for (p = s->post[r]; p < s->post[r + 1]; p++) {
			d = s->doc[p];
			s->acc[d] += (double)val[i] * s->pval[p];
		}
	}
	/*
	 * Every row is a candidate, touched or not: a row sharing no term
	 * scores 0, which may still rank among the k best.  The scan also
	 * clears the accumulators for the next query.
	 */
	topk_init(&t, o->k);
	for (i = 0; i < s->n; i++) {
		dot = s->acc[i];
		s->acc[i] = 0;
		switch (s->metric) {
		case KNN_COS:
			sc = qn2 > 0 && s->norms2[i] > 0 ?
			    dot / sqrt(qn2 * s->norms2[i]) : 0;
			break;
		case KNN_DOT:
			sc = dot;
			break;
		default:
			sc = qn2 + s->norms2[i] - 2 * dot;
			sc = sc > 0 ? sqrt(sc) : 0;
			break;
		}
		if (i == self)
			continue;
		if (o->has_limit && (s->metric == KNN_L2 ? sc > o->limit :
		    sc < o->limit))
			continue;
		topk_push(&t, (float)(s->metric == KNN_L2 ? -sc : sc), i);
	}
	n = topk_sort(&t);
	for (i = 0; i < n; i++) {
		ids[i] = t.id[i];
		scores[i] = s->metric == KNN_L2 ? -t.score[i] : t.score[i];
	}
	topk_free(&t);
	return n;
}
