/* topk: bounded selection of the k best (score, id) pairs. */
#include <stdlib.h>

#include "topk.h"
#include "util.h"

/* 1 if (sa, ia) ranks below (sb, ib): lower score, or equal and later id. */
static int
worse(float sa, uint64_t ia, float sb, uint64_t ib)
{
	return sa < sb || (sa == sb && ia > ib);
}

void
topk_init(struct topk *t, size_t k)
{
	t->k = k;
	t->n = 0;
	t->score = xreallocarray(NULL, k, sizeof(*t->score));
	t->id = xreallocarray(NULL, k, sizeof(*t->id));
	t->aux = NULL;
}

void
topk_init_aux(struct topk *t, size_t k)
{
	topk_init(t, k);
	t->aux = xreallocarray(NULL, k, sizeof(*t->aux));
}

void
topk_free(struct topk *t)
{
	free(t->score);
	free(t->id);
	free(t->aux);
	t->score = NULL;
	t->id = NULL;
	t->aux = NULL;
	t->n = t->k = 0;
}

void
topk_clear(struct topk *t)
{
	t->n = 0;
}

/* Restore the heap below position i after its pair was replaced. */
static void
sift_down(float *score, uint64_t *id, double *aux, size_t n, size_t i)
{
	float		 s = score[i];
	uint64_t	 d = id[i];
	double		 a = aux != NULL ? aux[i] : 0;
	size_t		 c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && worse(score[c + 1], id[c + 1], score[c], id[c]))
			c++;
		if (!worse(score[c], id[c], s, d))
			break;
		score[i] = score[c];
		id[i] = id[c];
		if (aux != NULL)
			aux[i] = aux[c];
		i = c;
	}
	score[i] = s;
	id[i] = d;
	if (aux != NULL)
		aux[i] = a;
}

void
topk_push(struct topk *t, float score, uint64_t id)
{
	size_t	 i, p;

	if (t->n < t->k) {
		/* Not full: sift the new pair up from the bottom. */
		i = t->n++;
		while (i > 0) {
			p = (i - 1) / 2;
			if (!worse(score, id, t->score[p], t->id[p]))
				break;
			t->score[i] = t->score[p];
			t->id[i] = t->id[p];
			if (t->aux != NULL)
				t->aux[i] = t->aux[p];
			i = p;
		}
		t->score[i] = score;
		t->id[i] = id;
		if (t->aux != NULL)
			t->aux[i] = NAN;
		return;
	}
	if (!worse(t->score[0], t->id[0], score, id))
		return;
	t->score[0] = score;
	t->id[0] = id;
	if (t->aux != NULL)
		t->aux[0] = NAN;
	sift_down(t->score, t->id, t->aux, t->n, 0);
}

void
topk_merge(struct topk *dst, const struct topk *src)
{
	size_t	 i;

	for (i = 0; i < src->n; i++)
		topk_push(dst, src->score[i], src->id[i]);
}

size_t
topk_sort(struct topk *t)
{
	size_t		 n, last;
	float		 s;
	uint64_t	 d;
	double		 a;

	/* Heap sort: move the worst to the end until the heap is empty. */
	for (n = t->n; n > 1; n--) {
		last = n - 1;
		s = t->score[0];
		d = t->id[0];
		t->score[0] = t->score[last];
		t->id[0] = t->id[last];
		t->score[last] = s;
		t->id[last] = d;
		if (t->aux != NULL) {
			a = t->aux[0];
			t->aux[0] = t->aux[last];
			t->aux[last] = a;
		}
		sift_down(t->score, t->id, t->aux, last, 0);
	}
	return t->n;
}
