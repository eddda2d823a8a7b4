/*
 * kmeans: Lloyd's k-means and spherical k-means over a dense float32
 * matrix, seeded by greedy k-means++ or at random, with restarts,
 * mini-batch updates and the map and reduce halves of one iteration.
 *
 * Results depend only on the data, the options and the seed, never on
 * the number of threads: each block of rows is one GEMM whose result does
 * not depend on which thread runs it, and every sum is taken in an order
 * fixed by the row count alone.
 */
#ifndef DS_KMEANS_H
#define DS_KMEANS_H

#include <stddef.h>
#include <stdint.h>

enum kmeans_metric {
	KMEANS_L2,	/* squared Euclidean distance */
	KMEANS_COS	/* cosine: rows and centroids of unit length */
};

enum kmeans_init {
	KMEANS_INIT_PP,		/* greedy k-means++ on a sample */
	KMEANS_INIT_RANDOM,	/* k distinct rows drawn at random */
	KMEANS_INIT_GIVEN	/* the centroids in kmeans_opts */
};

struct kmeans_opts {
	size_t		 k;
	enum kmeans_metric metric;
	enum kmeans_init init;
	const float	*init_centroids;	/* KMEANS_INIT_GIVEN: k x dim */
	int		 max_iter;	/* Lloyd iterations; 0: assign only */
	double		 tol;		/* stop when the centroids move less */
	int		 restarts;	/* runs from different seeds, >= 1 */
	uint64_t	 seed;
	int		 threads;	/* 0: one per online processor */
};

/* A clustering.  All arrays belong to the struct; kmeans_free frees them. */
struct kmeans {
	size_t		 n, k, dim;
	float		*centroids;	/* k x dim */
	uint32_t	*assign;	/* n: cluster of each row */
	float		*score;		/* n: distance (l2) or cosine (cos) */
	size_t		*sizes;		/* k */
	double		 objective;	/* sum of squared distances, or of
					   1 - cosine */
	int		 iterations;	/* of the best run */
	int		 converged;	/* 1 if it stopped before max_iter */
	size_t		 reseeded;	/* empty clusters moved to far rows */
	size_t		 empty;		/* clusters still empty at the end */
	int		 best_restart;	/* which run was kept, from 0 */
	double		 seed_seconds;	/* wall time seeding the kept run */
	double		 iter_seconds;	/* ... and in its iterations */
};

/*
 * Cluster the n rows of x (n x dim, borrowed; under KMEANS_COS every row
 * must have unit length, see kmeans_normalize).  Fills km, which the
 * caller then frees with kmeans_free.  Returns 0, or -1 with *errstr set
 * (k is 0 or larger than n).
 *
 * Each iteration assigns every row to its nearest centroid and moves each
 * centroid to the mean of its rows (renormalised under KMEANS_COS).  A
 * cluster left empty is re-seeded with the row farthest from its own
 * centroid among clusters of two or more rows.  Iterations stop after
 * max_iter, when no row changes cluster, or when the squared centroid
 * shift summed over clusters falls to tol times the mean variance of the
 * columns.  The assignment reported is made against the centroids
 * returned.
 */
int	kmeans_run(const float *x, size_t n, size_t dim,
	    const struct kmeans_opts *, struct kmeans *km, const char **errstr);
void	kmeans_free(struct kmeans *);

/*
 * Scale each row of x to unit length in place.  Returns -1 and the index
 * of the first zero (or non-finite) row in *bad, or 0.
 */
int	kmeans_normalize(float *x, size_t n, size_t dim, size_t *bad);

/*
 * The map half of one iteration: assign the n rows of x to the nearest of
 * the k centroids c and add each row into sums (k x dim doubles, added
 * to), counts (k, added to) and *objective (added to).  If assign or
 * score is not NULL it receives each row's cluster and score, as in
 * struct kmeans.
 */
void	kmeans_partial(const float *x, size_t n, size_t dim, const float *c,
	    size_t k, enum kmeans_metric, int threads, double *sums,
	    uint64_t *counts, double *objective, uint32_t *assign,
	    float *score);

/*
 * The reduce half: c[j] = sums[j] / counts[j], scaled to unit length
 * under KMEANS_COS.  A cluster with no rows keeps its old c[j].  Returns
 * the number of such clusters.
 */
size_t	kmeans_centroids(const double *sums, const uint64_t *counts,
	    size_t k, size_t dim, enum kmeans_metric, float *c);

/*
 * Mini-batch k-means (Sculley, 2010): state for centroids updated one
 * batch at a time, each centroid moving toward its rows with step 1/count
 * where count is the rows it has seen.
 */
struct kmeans_mb {
	size_t		 k, dim;
	enum kmeans_metric metric;
	float		*centroids;	/* k x dim */
	uint64_t	*seen;		/* k */
	int		 threads;
};

/*
 * Start from k centroids picked by greedy k-means++ over the first batch
 * x (n x dim, n >= k), or copied from init if not NULL.  Returns 0, or -1
 * with *errstr.
 */
int	kmeans_mb_init(struct kmeans_mb *, const float *x, size_t n,
	    size_t dim, const float *init, const struct kmeans_opts *,
	    const char **errstr);
/* Update the centroids with one batch of n rows. */
void	kmeans_mb_update(struct kmeans_mb *, const float *x, size_t n);
void	kmeans_mb_free(struct kmeans_mb *);

#endif
