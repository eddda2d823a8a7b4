/*
 * knn: exact k-nearest-neighbour search over a dense float32 index.
 * Blocks of queries times blocks of the index go through one matrix
 * multiply each (mat_gemm_abt); every block of scores is then scanned
 * once by a bounded selection (topk).  Threads split the index rows, so
 * each core multiplies and selects on its own share; their partial top-k
 * lists are merged exactly.  The few best candidates of each query are
 * scored again in double precision, which fixes the final order and the
 * scores written out.
 */
#ifndef DS_KNN_H
#define DS_KNN_H

#include <stddef.h>
#include <stdint.h>

enum knn_metric {
	KNN_COS,	/* cosine similarity, larger is nearer */
	KNN_DOT,	/* inner product, larger is nearer */
	KNN_L2		/* Euclidean distance, smaller is nearer */
};

/* "cos", "dot" or "l2" to a metric; returns -1 for anything else. */
int	knn_metric_parse(const char *, enum knn_metric *);
const char *knn_metric_name(enum knn_metric);

struct knn_index {
	float		*data;	/* n x dim, row-major, owned; or NULL: */
	int		 fd;	/* the rows stay in this file (owned), */
	uint64_t	*off;	/* row i at byte off[i] (owned) */
	size_t		 n, dim;
	enum knn_metric	 metric;
	float		*norms2;	/* squared row norms (l2, in memory) */
	float		 max_norm;	/* largest row norm, for error bounds;
					 * < 0 until known (file) */
};

/*
 * Allocate room for rows x dim floats (exits on failure, like xmalloc),
 * backed by huge pages where the kernel can (see mat_alloc).
 */
float	*knn_alloc(size_t rows, size_t dim);
/*
 * Take over data (n x dim floats, allocated with malloc) as the index and
 * prepare it for metric: under cos every row is scaled to unit length in
 * place (a zero row stays zero and scores 0 against everything); under
 * l2 the squared norms are computed.
 */
void	knn_index_init(struct knn_index *, float *data, size_t n, size_t dim,
	    enum knn_metric);
/*
 * Take over fd, an open regular file holding the index's n rows as dim
 * little-endian float32 each at the byte offsets off[0..n) (malloc'd,
 * taken over too), as an index whose rows stay in the file.  Each search
 * reads them again, a block of rows at a time, with pread(2), and
 * prepares each block as knn_index_init prepares a matrix, so results are
 * the same.  Reading a file from the page cache costs far less than
 * filling a fresh matrix of the same size, and the index takes no memory
 * of its own.  The file must not change while the index is in use.
 */
void	knn_index_init_file(struct knn_index *, int fd, uint64_t *off,
	    size_t n, size_t dim, enum knn_metric);
void	knn_index_free(struct knn_index *);

/*
 * Copy rows r..r+n-1 of the index into out (n x dim), prepared as the
 * index is (unit length under cos).  Returns 0, or -1 with errno set if
 * the file of a file-backed index cannot be read (EIO: it is shorter
 * than it was).
 */
int	knn_index_rows(const struct knn_index *, size_t r, size_t n,
	    float *out);

/* Prepare nq query rows in place as knn_index_init prepares the index. */
void	knn_prepare_queries(float *q, size_t nq, size_t dim, enum knn_metric);

struct knn_opts {
	size_t		 k;		/* results per query, >= 1 */
	int		 threads;	/* >= 1 */
	int		 has_limit;	/* keep only scores within limit: */
	double		 limit;		/* >= limit (cos, dot), <= limit (l2) */
	const uint64_t	*self;		/* NULL, or per query an index row
					 * never to return (UINT64_MAX: none) */
};

/*
 * Search the nq prepared queries q (nq x dim).  For query i, writes
 * counts[i] <= k results best first into ids[i*k...] (index rows) and
 * scores[i*k...] (similarity, or distance for l2).  Ties are broken by
 * the smaller row.  All arrays are the caller's.  Returns 0, or -1 with
 * errno set if a file-backed index cannot be read.
 */
int	knn_search(struct knn_index *, const float *q, size_t nq,
	    const struct knn_opts *, uint64_t *ids, float *scores,
	    size_t *counts);

#endif
