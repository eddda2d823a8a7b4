/*
 * sparse_index: exact search over sparse vectors (index:value pairs)
 * through an inverted index held in memory: one posting list per term,
 * so a query touches only the documents that share a term with it.
 * Documents that share none still count (score 0 under dot and cos, and
 * their own distance under l2), so results equal a brute-force scan.
 */
#ifndef DS_SPARSE_INDEX_H
#define DS_SPARSE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "knn.h"

struct sparse_index {
	/* Rows as added (compressed sparse rows), kept for --self. */
	size_t		 n, nnz, cap;
	size_t		*row;		/* n + 1 offsets into idx, val */
	uint32_t	*idx;
	float		*val;
	/* Postings, built by sparse_index_build. */
	/* Term indexes may be anything below 2^32 (hashed words): the
	 * postings are by rank among the distinct indexes present. */
	uint32_t	*terms;		/* the distinct indexes, ascending */
	size_t		 nterms;
	size_t		*post;		/* nterms + 1 offsets into doc, pval */
	uint32_t	*doc;
	float		*pval;
	double		*norms2;	/* squared row norms */
	enum knn_metric	 metric;
	/* Search scratch: one accumulator per document. */
	double		*acc;
};

void	sparse_index_init(struct sparse_index *);
void	sparse_index_free(struct sparse_index *);
/*
 * Append a row of nnz pairs (indexes ascending, copied).  Returns 0, or
 * -1 with *errstr when the index would exceed 2^32 - 1 rows.
 */
int	sparse_index_add(struct sparse_index *, const uint32_t *idx,
	    const float *val, size_t nnz, const char **errstr);
/* Build the postings after the last row is added. */
void	sparse_index_build(struct sparse_index *, enum knn_metric);

/*
 * Search one query of nnz pairs: up to o->k results, best first, in ids
 * and scores; returns their number.  Ties go to the smaller row; o->self
 * (if not NULL) names the one row to leave out, o->threads is ignored.
 */
size_t	sparse_index_search(struct sparse_index *, const uint32_t *idx,
	    const float *val, size_t nnz, const struct knn_opts *o,
	    uint64_t self, uint64_t *ids, float *scores);

#endif
