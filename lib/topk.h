/*
 * topk: keep the k best of a sequence of (score, id) pairs without
 * sorting it.  Larger scores are better; between equal scores the smaller
 * id is better, so that results do not depend on the order of arrival.
 * A bounded heap whose root is the worst pair kept: a candidate that does
 * not beat the root costs one comparison.
 */
#ifndef DS_TOPK_H
#define DS_TOPK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

struct topk {
	float		*score;	/* n pairs, heap-ordered (worst first) */
	uint64_t	*id;
	double		*aux;	/* NULL, or a value that moves with each pair */
	size_t		 n, k;
};

/* Make t empty, keeping at most k pairs (k >= 1); topk_free releases. */
void	topk_init(struct topk *, size_t k);
/* The same, with room for a caller's value beside each pair (aux). */
void	topk_init_aux(struct topk *, size_t k);
void	topk_free(struct topk *);
/* Forget every pair, keeping the storage. */
void	topk_clear(struct topk *);

/*
 * The score a candidate must beat to enter: the worst kept score once k
 * pairs are kept, -INFINITY before.  A candidate with this very score
 * enters only if its id is smaller than the worst kept id.
 */
static inline float
topk_threshold(const struct topk *t)
{
	return t->n < t->k ? -INFINITY : t->score[0];
}

/*
 * Offer one pair; it is kept if it is among the k best so far.  With
 * aux, the pair's value starts as NAN.
 */
void	topk_push(struct topk *, float score, uint64_t id);

/* Offer every pair of src to dst (without aux values). */
void	topk_merge(struct topk *dst, const struct topk *src);

/*
 * Sort the kept pairs best first (this ends the heap order: push no more
 * before topk_clear).  Returns the number of pairs.
 */
size_t	topk_sort(struct topk *);

#endif
