/* retry: backoff delays and token buckets. */
#include <stdlib.h>

#include "retry.h"

/* A small portable generator (rand_r is obsolescent in POSIX 2008). */
static double
uniform(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (double)((*seed >> 8) & 0xffffff) / (double)0x1000000;
}

double
retry_delay(int attempt, double base, double max, long retry_after_ms,
    unsigned *seed)
{
	double	d = base;
	int	i;

	for (i = 1; i < attempt && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	d = d / 2 + uniform(seed) * d / 2;
	if (retry_after_ms >= 0 && d < retry_after_ms / 1000.0)
		d = retry_after_ms / 1000.0;
	return d;
}

void
retry_bucket_init(struct retry_bucket *b, double per_minute, double min_cap,
    double now)
{
	b->rate = per_minute / 60.0;
	b->cap = b->rate > min_cap ? b->rate : min_cap;
	b->level = b->cap;
	b->last = now;
}

double
retry_bucket_take(struct retry_bucket *b, double cost, double now)
{
	double	need;

	if (b->rate <= 0)
		return 0;
	if (now > b->last) {
		b->level += (now - b->last) * b->rate;
		if (b->level > b->cap)
			b->level = b->cap;
		b->last = now;
	}
	need = cost > b->cap ? b->cap : cost;
	if (b->level >= need) {
		b->level -= cost;	/* may go below 0: pays it back later */
		return 0;
	}
	return (need - b->level) / b->rate;
}
