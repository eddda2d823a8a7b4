/*
 * retry: when to send again.  Exponential backoff with jitter that
 * honours a server's Retry-After, and token buckets that keep a client
 * under a requests-per-minute or tokens-per-minute limit.  Pure
 * arithmetic on times in seconds given by the caller.
 */
#ifndef DS_RETRY_H
#define DS_RETRY_H

/*
 * Seconds to wait before attempt number attempt + 1 (attempt >= 1 failed
 * so far): base * 2^(attempt - 1), capped at max, with "equal jitter"
 * (half fixed, half uniform random from *seed) so that clients that failed
 * together do not retry together.  A Retry-After of retry_after_ms >= 0
 * is a floor.
 */
double	retry_delay(int attempt, double base, double max,
	    long retry_after_ms, unsigned *seed);

/* A token bucket: level refills at rate per second up to cap. */
struct retry_bucket {
	double	rate, cap, level, last;
};

/*
 * A bucket for per_minute units a minute, holding at most a second's worth
 * (or min_cap units, if more), full at time now.
 */
void	retry_bucket_init(struct retry_bucket *, double per_minute,
	    double min_cap, double now);

/*
 * Take cost units at time now: returns 0 and takes them, or the seconds
 * to wait until they are there (taking nothing).  A cost above the cap
 * is taken once the bucket is full.
 */
double	retry_bucket_take(struct retry_bucket *, double cost, double now);

#endif
