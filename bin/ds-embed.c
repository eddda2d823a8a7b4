/*
 * ds-embed: turn text records into vector records with an embedding
 * model: the built-in offline one (lib/models.c), DashScope's
 * text-embedding API or any OpenAI-compatible /embeddings server.  With a
 * service,  texts are sent in batches of the model's size,
 * several requests at once, retried when the failure is temporary, and
 * written back in input order; results are kept in a cache so that a
 * rerun pays only for what is new.
 *
 * The input is read by a thread of its own, so that responses keep
 * flowing while the producer upstream is slow; everything else happens in
 * the main thread: a window of records in input order, batches of the
 * texts not yet known, and the HTTP transfers driven by lib/http.c.
 */
#include <sys/stat.h>

#include <assert.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "dashscope.h"
#include "datadir.h"
#include "http.h"
#include "json.h"
#include "models.h"
#include "retry.h"
#include "secret.h"
#include "stream.h"
#include "tok.h"
#include "utf8.h"
#include "util.h"

#define DEFAULT_BASE	"https://dashscope-intl.aliyuncs.com/api/v1"
#define OPENAI_BASE	"https://api.openai.com/v1"
#define QUEUE_LEN	256	/* records read ahead by the input thread */
#define MAX_RESPONSE	(64u << 20)
#define FLUSH_AGE	0.010	/* seconds a partial batch waits for more */

/* Everything the options decide. */
struct conf {
	enum dashscope_api	 api;
	const char		*model;
	const struct model	*limits;	/* its row; NULL: unknown */
	size_t			 dimension;	/* 0: the server's default */
	const char		*text_type;	/* NULL: not sent */
	const char		*instruct;
	enum dashscope_output	 output;
	const char		*sparse_out;
	char			*base, *url;
	char			*key, *auth;	/* in secret: never on the heap */
	struct secret		*secret;
	const char		*ca_file;
	size_t			 batch, jobs;
	double			 rpm, tpm;
	struct tok		*tpm_tok;	/* NULL: 4 bytes a token */
	int			 retries;
	double			 timeout, deadline, backoff;
	int			 skip_errors, skip_empty;
	int			 use_cache;
	const char		*cache_path;
	int			 progress, verbose;
	int			 binary;
	int			 dry_run;
};

/* The input thread and the queue it fills. */
struct reader {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 room;
	struct record	 q[QUEUE_LEN];
	const char	*qsrc[QUEUE_LEN];	/* file each record came from */
	size_t		 head, len;
	int		 eof, status, stop;
	char		*errmsg;
	char		**files;
	int		 nfiles;
	uintmax_t	 bytes, total;	/* read so far; input size, 0 unknown */
	struct header	 hdr;		/* the first input's, once have_hdr */
	int		 have_hdr;
	struct http	*http;		/* woken when a record arrives */
};

enum item_state {
	IT_WAIT,	/* in a batch, or following a text that is */
	IT_DONE,	/* vectors known */
	IT_SKIP,	/* not written: empty, or failed under --on-error skip */
};

/* A record of the window, from reading to writing. */
struct item {
	struct record	 rec;		/* the text, then its vector too */
	const char	*src;		/* input name, for messages */
	enum item_state	 state;
	size_t		 dim;		/* of rec.vec; 0: no dense vector */
	uint32_t	*idx;
	float		*val;
	size_t		 nnz, sp_cap;
	long		 next_follower;	/* same text, later seq, or -1 */
	long		 hnext;		/* dedup hash chain, or -1 */
	int		 leader;	/* in the dedup table */
	uint64_t	 hash;
};

enum batch_state { B_FREE, B_READY, B_RUNNING };

struct batch {
	enum batch_state state;
	long		*seqs;		/* leaders, in input order */
	size_t		 n;
	int		 attempts;
	double		 not_before, first_try, started;
	long		 tokens_est;
	struct json_out	 body;
	struct json	*json;		/* its answer, read as it arrives */
	int		 last_unreachable;
};

/* The run: window, batches, counters. */
struct run {
	struct conf	*c;
	struct reader	*rd;
	struct item	*win;
	size_t		 wsize;
	long		 head, tail;	/* first unwritten seq, next seq */
	long		*buckets;	/* dedup table: seq chains */
	size_t		 nbuckets;
	struct batch	*batches;
	size_t		 nbatches;
	long		 open;		/* batch being filled, or -1 */
	double		 open_since;
	struct http	*http;
	struct json	*json;
	struct dashscope_params params;
	struct dashscope_result	 res;
	struct cache	*cache;
	struct retry_bucket	 rpm, tpm;
	unsigned	 seed;
	const char	*headers[8];
	const char	**texts;	/* one batch's texts, for the request */
	size_t		*lens;
	char		*auth;

	struct writer	*dense_w, *sparse_w;
	FILE		*sparse_fp;
	size_t		 dim;		/* output dimension once known */
	int		 norm_claimed, header_done;
	uintmax_t	 not_unit;

	/* Failure: the smallest seq that cannot be written, and why. */
	long		 fail_seq;
	int		 fail_status;
	char		*fail_msg;
	int		 input_done;

	uintmax_t	 records, written, requests, retries, hits, misses,
			 duplicates, empty, skipped, failed_records;
	long long	 tokens;
	double		 t0, last_progress;
};

static _Noreturn void	usage(FILE *, int);
static char		*redact(const struct conf *, char *);
static double		now(void);

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- input */

static void *
reader_main(void *arg)
{
	struct reader		*rd = arg;
	struct stream_opts	 so;
	struct stream		*s;
	struct record		 r, tmp;
	const char		*errstr;
	int			 i, n, status, open_failed = 0, wake;
	uintmax_t		 before = 0;

	memset(&so, 0, sizeof(so));
	so.expect = KIND_TEXT;
	record_init(&r);
	for (i = 0; i < rd->nfiles && !rd->stop; i++) {
		const char *name = rd->files[i];

		if (strcmp(name, "-") == 0)
			name = NULL;
		if ((s = stream_open(name, &so, &errstr, &status)) == NULL) {
			if (status == EX_NOINPUT) {
				warnx("%s", errstr);
				open_failed = 1;
				continue;
			}
			pthread_mutex_lock(&rd->lock);
			rd->errmsg = xstrdup(errstr);
			rd->status = status;
			pthread_mutex_unlock(&rd->lock);
			goto out;
		}
		/* Its other words go on to the output, as a filter's should. */
		pthread_mutex_lock(&rd->lock);
		if (!rd->have_hdr) {
			header_copy(&rd->hdr, stream_header(s));
			rd->have_hdr = 1;
		}
		pthread_mutex_unlock(&rd->lock);
		for (;;) {
			n = stream_read(s, &r, &errstr, &status);
			if (n == 0)
				break;
			pthread_mutex_lock(&rd->lock);
			if (n < 0) {
				rd->errmsg = xstrdup(errstr);
				rd->status = status;
				pthread_mutex_unlock(&rd->lock);
				stream_close(s);
				goto out;
			}
			while (rd->len == QUEUE_LEN && !rd->stop)
				pthread_cond_wait(&rd->room, &rd->lock);
			if (rd->stop) {
				pthread_mutex_unlock(&rd->lock);
				break;
			}
			/*
			 * Wake the loop only when the queue was empty: it
			 * waits for records only then, and a wakeup per
			 * record costs two system calls and a pass.
			 */
			wake = rd->len == 0;
			/* Hand the buffers over instead of copying them. */
			tmp = rd->q[(rd->head + rd->len) % QUEUE_LEN];
			rd->q[(rd->head + rd->len) % QUEUE_LEN] = r;
			rd->qsrc[(rd->head + rd->len) % QUEUE_LEN] =
			    name == NULL ? "stdin" : name;
			r = tmp;
			rd->len++;
			rd->bytes = before + stream_bytes(s);
			pthread_mutex_unlock(&rd->lock);
			if (wake)
				http_wakeup(rd->http);
		}
		before += stream_bytes(s);
		stream_close(s);
	}
out:
	record_free(&r);
	pthread_mutex_lock(&rd->lock);
	rd->eof = 1;
	if (open_failed && rd->status == 0)
		rd->status = EX_NOINPUT;
	pthread_mutex_unlock(&rd->lock);
	http_wakeup(rd->http);
	return NULL;
}

/* Take one record from the queue into r (swapping buffers): 1, or 0. */
static int
reader_take(struct reader *rd, struct record *r, const char **src)
{
	struct record	tmp;
	int		got = 0;

	pthread_mutex_lock(&rd->lock);
	if (rd->len > 0) {
		tmp = rd->q[rd->head];
		rd->q[rd->head] = *r;
		*r = tmp;
		*src = rd->qsrc[rd->head];
		rd->head = (rd->head + 1) % QUEUE_LEN;
		rd->len--;
		got = 1;
		/*
		 * The reader waits on a full queue: wake it once half is
		 * free, not for every record (a switch each way per record).
		 */
		if (rd->len == QUEUE_LEN / 2)
			pthread_cond_signal(&rd->room);
	}
	pthread_mutex_unlock(&rd->lock);
	return got;
}

/* ----------------------------------------------------------------- dedup */

static struct item *
item_at(struct run *r, long seq)
{
	return &r->win[(size_t)seq % r->wsize];
}

/* The leader carrying the same text as it, or -1. */
static long
dedup_find(struct run *r, const struct item *it)
{
	long	s;

	for (s = r->buckets[it->hash % r->nbuckets]; s != -1;
	    s = item_at(r, s)->hnext) {
		const struct item *o = item_at(r, s);

		if (o->hash == it->hash && o->rec.text.len == it->rec.text.len &&
		    memcmp(o->rec.text.s, it->rec.text.s, it->rec.text.len) == 0)
			return s;
	}
	return -1;
}

static void
dedup_add(struct run *r, long seq)
{
	struct item	*it = item_at(r, seq);
	size_t		 b = it->hash % r->nbuckets;

	it->hnext = r->buckets[b];
	r->buckets[b] = seq;
	it->leader = 1;
}

static void
dedup_remove(struct run *r, long seq)
{
	struct item	*it = item_at(r, seq);
	long		*p = &r->buckets[it->hash % r->nbuckets];

	while (*p != -1) {
		if (*p == seq) {
			*p = it->hnext;
			break;
		}
		p = &item_at(r, *p)->hnext;
	}
	it->leader = 0;
}

/* ------------------------------------------------------------- failures */

/* Stop at seq: what precedes it is still written, then status is returned. */
static void
fail_at(struct run *r, long seq, int status, char *msg)
{
	if (r->fail_seq != -1 && r->fail_seq <= seq) {
		free(msg);
		return;
	}
	free(r->fail_msg);
	r->fail_seq = seq;
	r->fail_status = status;
	r->fail_msg = msg;
}

static char *
msgf(const char *fmt, ...)
{
	va_list	ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* "id1 id2 ..." of a batch's records and their duplicates. */
static char *
batch_ids(struct run *r, const struct batch *b)
{
	struct json_out	 o;
	size_t		 i;
	long		 s;

	memset(&o, 0, sizeof(o));
	json_out_raw(&o, "", 0);
	for (i = 0; i < b->n; i++)
		for (s = b->seqs[i]; s != -1; s = item_at(r, s)->next_follower) {
			const struct field *id = &item_at(r, s)->rec.id;

			if (o.len > 0)
				json_out_raw(&o, " ", 1);
			json_out_raw(&o, id->s, id->len);
		}
	return o.buf;
}

/* --------------------------------------------------------------- output */

static void
set_vectors(struct item *it, const float *dense, size_t dim,
    const uint32_t *idx, const float *val, size_t nnz)
{
	/* The text stays: the cache and duplicates still compare it. */
	if (dense != NULL)
		record_set_dense(&it->rec, dense, dim);
	it->dim = dense != NULL ? dim : 0;
	if (nnz > it->sp_cap) {
		it->sp_cap = nnz;
		it->idx = xreallocarray(it->idx, nnz, sizeof(uint32_t));
		it->val = xreallocarray(it->val, nnz, sizeof(float));
	}
	if (nnz > 0) {
		memcpy(it->idx, idx, nnz * sizeof(uint32_t));
		memcpy(it->val, val, nnz * sizeof(float));
	}
	it->nnz = nnz;
	it->state = IT_DONE;
}

static int
is_unit(const float *v, size_t n)
{
	return fabs(sqrt(sum_squares(v, n)) - 1.0) < 1e-3;
}

static const char *
output_word(enum dashscope_output o)
{
	return o == DASHSCOPE_SPARSE ? "sparse" :
	    o == DASHSCOPE_BOTH ? "dense+sparse" : "dense";
}

static void
header_common(struct run *r, struct header *h, const char *kind)
{
	static const char *const ours[] = { "dim", "norm", "text_type",
	    "instruct", "provider", "model" };
	size_t	i;

	pthread_mutex_lock(&r->rd->lock);
	if (r->rd->have_hdr)
		header_copy(h, &r->rd->hdr);
	pthread_mutex_unlock(&r->rd->lock);
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		header_unset(h, ours[i]);
	header_set(h, "kind", kind);
	header_set(h, "model", r->c->model);
	header_set(h, "provider", r->c->api == DASHSCOPE_NATIVE ?
	    "dashscope" : "openai");
	if (r->c->text_type != NULL)
		header_set(h, "text_type", r->c->text_type);
	if (r->c->instruct != NULL)
		header_set(h, "instruct", r->c->instruct);
}

/*
 * Write the headers, once the first vectors are known: the dimension is
 * the one the service returned, and norm=l2 is claimed only if every
 * vector known at this point has unit length (each later one is checked
 * again and counted if it does not).
 */
static void
write_headers(struct run *r)
{
	struct header	 h;
	char		 num[32];
	long		 s;
	int		 unit = r->dim > 0;

	memset(&h, 0, sizeof(h));
	if (r->c->output & DASHSCOPE_DENSE) {
		for (s = r->head; s < r->tail && unit; s++) {
			struct item *it = item_at(r, s);

			if (it->state == IT_DONE &&
			    !is_unit(it->rec.vec, it->dim))
				unit = 0;
		}
		header_common(r, &h, "dense");
		if (r->dim > 0) {
			snprintf(num, sizeof(num), "%zu", r->dim);
			header_set(&h, "dim", num);
		}
		if (unit)
			header_set(&h, "norm", "l2");
		r->norm_claimed = unit;
		r->dense_w = writer_open(stdout, r->c->binary, &h);
		header_free(&h);
		memset(&h, 0, sizeof(h));
	}
	if (r->c->output & DASHSCOPE_SPARSE) {
		header_common(r, &h, "sparse");
		if (r->c->output == DASHSCOPE_SPARSE)
			r->sparse_w = writer_open(stdout, r->c->binary, &h);
		else
			r->sparse_w = writer_open(r->sparse_fp, r->c->binary,
			    &h);
		header_free(&h);
	}
	r->header_done = 1;
}

static void
write_item(struct run *r, struct item *it)
{
	if (!r->header_done)
		write_headers(r);
	if (r->dense_w != NULL) {
		assert(it->rec.kind == KIND_DENSE);
		if (r->norm_claimed && !is_unit(it->rec.vec, it->dim))
			r->not_unit++;
		if (writer_write(r->dense_w, &it->rec) == -1)
			err(EX_IOERR, "stdout");
	}
	if (r->sparse_w != NULL) {
		record_set_sparse(&it->rec, it->idx, it->val, it->nnz);
		if (writer_write(r->sparse_w, &it->rec) == -1)
			err(EX_IOERR, "%s", r->c->output == DASHSCOPE_BOTH ?
			    r->c->sparse_out : "stdout");
	}
	r->written++;
}

/* Write the finished records at the head of the window, in order. */
static void
drain(struct run *r)
{
	struct item	*it;

	while (r->head < r->tail && r->head != r->fail_seq) {
		it = item_at(r, r->head);
		if (it->state == IT_WAIT)
			break;
		if (it->state == IT_DONE)
			write_item(r, it);
		if (it->leader)
			dedup_remove(r, r->head);
		r->head++;
	}
}

/* -------------------------------------------------------------- batches */

/*
 * What a text costs against --tpm: its tokens by the Qwen3 tokenizer
 * (the service's own count differs by a few percent), or about four
 * bytes a token without it.
 */
static long
tpm_cost(const struct conf *c, const struct item *it)
{
	if (c->tpm_tok != NULL)
		return (long)tok_count(c->tpm_tok, it->rec.text.s,
		    it->rec.text.len);
	return (long)(it->rec.text.len + 3) / 4;
}

static long
batch_new(struct run *r)
{
	size_t	i;

	for (i = 0; i < r->nbatches; i++)
		if (r->batches[i].state == B_FREE && (long)i != r->open)
			break;
	if (i == r->nbatches) {
		r->batches = xreallocarray(r->batches, ++r->nbatches,
		    sizeof(*r->batches));
		memset(&r->batches[i], 0, sizeof(r->batches[i]));
		r->batches[i].seqs = xreallocarray(NULL, r->c->batch,
		    sizeof(long));
		r->batches[i].json = json_new();
	}
	r->batches[i].state = B_FREE;
	r->batches[i].n = 0;
	r->batches[i].attempts = 0;
	r->batches[i].not_before = 0;
	r->batches[i].first_try = 0;
	r->batches[i].tokens_est = 0;
	r->batches[i].last_unreachable = 0;
	return (long)i;
}

static void
open_batch_close(struct run *r)
{
	if (r->open != -1 && r->batches[r->open].n > 0)
		r->batches[r->open].state = B_READY;
	r->open = -1;
}

/* A new record at seq tail: refuse, look up, or put into a batch. */
static void
admit(struct run *r, struct item *it)
{
	long		 seq = r->tail, lead;
	struct cache_entry e;
	struct batch	*b;
	const char	*errstr;
	int		 hit;
	size_t		 bad;

	it->state = IT_WAIT;
	it->next_follower = -1;
	it->hnext = -1;
	it->leader = 0;
	it->dim = it->nnz = 0;
	r->tail++;
	r->records++;
	if (it->rec.text.len == 0) {
		r->empty++;
		it->state = IT_SKIP;
		if (!r->c->skip_empty)
			fail_at(r, seq, EX_DATAERR, msgf("%s:%ju: empty text, "
			    "id %s (--skip-empty drops such records)", it->src,
			    it->rec.line, it->rec.id.s));
		return;
	}
	if ((bad = utf8_valid_prefix(it->rec.text.s, it->rec.text.len)) !=
	    it->rec.text.len) {
		it->state = IT_SKIP;
		fail_at(r, seq, EX_DATAERR, msgf("%s:%ju: invalid UTF-8 at "
		    "byte %zu of the text, id %s", it->src, it->rec.line,
		    bad + 1, it->rec.id.s));
		return;
	}
	if (r->cache != NULL) {
		hit = cache_get(r->cache, it->rec.text.s, it->rec.text.len, &e,
		    &errstr);
		if (hit == -1)
			errx(EX_IOERR, "%s", errstr);
		if (hit && (!(r->c->output & DASHSCOPE_DENSE) ||
		    (e.dense != NULL && (r->dim == 0 || e.dim == r->dim))) &&
		    (!(r->c->output & DASHSCOPE_SPARSE) || e.has_sparse)) {
			set_vectors(it, e.dense, e.dim, e.idx, e.val, e.nnz);
			if (r->dim == 0 && e.dense != NULL)
				r->dim = e.dim;
			r->hits++;
			return;
		}
	}
	it->hash = hash_fnv1a64(it->rec.text.s, it->rec.text.len);
	if ((lead = dedup_find(r, it)) != -1) {
		struct item *l = item_at(r, lead);

		r->duplicates++;
		if (l->state == IT_DONE)
			set_vectors(it, l->dim > 0 ? l->rec.vec : NULL, l->dim,
			    l->idx, l->val, l->nnz);
		else if (l->state == IT_SKIP)
			it->state = IT_SKIP;
		else {
			/* Append, keeping followers in input order. */
			while (l->next_follower != -1)
				l = item_at(r, l->next_follower);
			l->next_follower = seq;
		}
		return;
	}
	r->misses++;
	dedup_add(r, seq);
	if (r->open == -1) {
		r->open = batch_new(r);
		r->open_since = now();
	}
	b = &r->batches[r->open];
	b->seqs[b->n++] = seq;
	if (r->c->tpm > 0)
		b->tokens_est += tpm_cost(r->c, it);
	if (b->n == r->c->batch)
		open_batch_close(r);
}

/* The ready batch to send first (lowest seq, due now), or -1. */
static long
next_ready(struct run *r, double t, double *wake)
{
	size_t	i;
	long	best = -1;

	for (i = 0; i < r->nbatches; i++) {
		struct batch *b = &r->batches[i];

		if (b->state != B_READY)
			continue;
		/* After a fatal failure, only what precedes it matters. */
		if (r->fail_seq != -1 && b->seqs[0] > r->fail_seq)
			continue;
		if (b->not_before > t) {
			if (*wake == 0 || b->not_before < *wake)
				*wake = b->not_before;
			continue;
		}
		if (best == -1 || b->seqs[0] < r->batches[best].seqs[0])
			best = (long)i;
	}
	return best;
}

static void
feed_answer(void *json, const char *piece, size_t len)
{
	json_feed(json, piece, len);
}

static void
send_batch(struct run *r, long bi)
{
	struct batch		*b = &r->batches[bi];
	struct http_request	 rq;
	const char		*errstr;
	size_t			 i;

	for (i = 0; i < b->n; i++) {
		struct item *it = item_at(r, b->seqs[i]);

		r->texts[i] = it->rec.text.s;
		r->lens[i] = it->rec.text.len;
	}
	dashscope_request(&b->body, &r->params, r->texts, r->lens, b->n);
	memset(&rq, 0, sizeof(rq));
	rq.url = r->c->url;
	rq.headers = r->headers;
	rq.body = b->body.buf;
	rq.body_len = b->body.len;
	rq.timeout_ms = (long)(r->c->timeout * 1000);
	rq.connect_timeout_ms = rq.timeout_ms < 10000 ? rq.timeout_ms : 10000;
	rq.max_response = MAX_RESPONSE;
	rq.ca_file = r->c->ca_file;
	rq.udata = (void *)(intptr_t)bi;
	/* The answer's numbers are read as they arrive, not collected. */
	json_begin(b->json);
	rq.sink = feed_answer;
	rq.sink_arg = b->json;
	if (http_start(r->http, &rq, &errstr) == -1)
		errx(EX_SOFTWARE, "%s", errstr);
	b->state = B_RUNNING;
	b->started = now();
	if (b->first_try == 0)
		b->first_try = b->started;
	r->requests++;
	if (r->c->verbose) {
		fprintf(stderr, "ds-embed: POST %s: %zu texts, %zu bytes, "
		    "attempt %d\n", r->c->url, b->n, b->body.len,
		    b->attempts + 1);
		for (i = 0; r->headers[i] != NULL; i++)
			fprintf(stderr, "ds-embed:   %s\n",
			    strncmp(r->headers[i], "Authorization:", 14) == 0 ?
			    "Authorization: Bearer <redacted>" : r->headers[i]);
		if (r->c->tpm > 0)
			fprintf(stderr, "ds-embed:   --tpm: %ld tokens\n",
			    b->tokens_est);
	}
}

/* Store one response's vectors for the batch's records and duplicates. */
static void
take_result(struct run *r, struct batch *b)
{
	struct dashscope_result	*res = &r->res;
	struct cache_entry	 e;
	const char		*errstr;
	size_t			 i, nnz;
	long			 s;

	if (r->dim == 0 && res->dim > 0)
		r->dim = res->dim;
	for (i = 0; i < b->n; i++) {
		const float	*d = res->dense != NULL && res->dim > 0 ?
				    res->dense + i * res->dim : NULL;
		const uint32_t	*idx = NULL;
		const float	*val = NULL;
		struct item	*it = item_at(r, b->seqs[i]);

		nnz = 0;
		if (res->sp_off != NULL && (r->c->output & DASHSCOPE_SPARSE)) {
			idx = res->idx + res->sp_off[i];
			val = res->val + res->sp_off[i];
			nnz = res->sp_off[i + 1] - res->sp_off[i];
		}
		for (s = b->seqs[i]; s != -1; s = item_at(r, s)->next_follower)
			set_vectors(item_at(r, s), d, res->dim, idx, val, nnz);
		if (r->cache != NULL) {
			memset(&e, 0, sizeof(e));
			e.dense = d;
			e.dim = d != NULL ? res->dim : 0;
			e.idx = idx;
			e.val = val;
			e.nnz = nnz;
			e.has_sparse = (r->c->output & DASHSCOPE_SPARSE) != 0;
			if (cache_put(r->cache, it->rec.text.s,
			    it->rec.text.len, &e, &errstr) == -1)
				errx(EX_IOERR, "%s", errstr);
		}
	}
	/*
	 * Commit each response: a run killed later pays again only for the
	 * requests it had in flight.  In WAL mode with synchronous=NORMAL a
	 * commit appends to the log without an fsync, so this costs little.
	 */
	if (r->cache != NULL && cache_flush(r->cache, &errstr) == -1)
		errx(EX_IOERR, "%s", errstr);
	if (res->tokens > 0)
		r->tokens += res->tokens;
	b->state = B_FREE;
}

/* A batch that will not succeed: skip its records, or stop before them. */
static void
give_up(struct run *r, struct batch *b, int status, const char *why)
{
	char	*ids = batch_ids(r, b);
	size_t	 i;
	long	 s;

	if (r->c->skip_errors && status != EX_NOPERM) {
		warnx("skipped %s: %s", ids, why);
		for (i = 0; i < b->n; i++)
			for (s = b->seqs[i]; s != -1;
			    s = item_at(r, s)->next_follower) {
				item_at(r, s)->state = IT_SKIP;
				r->failed_records++;
			}
		free(ids);
	} else {
		fail_at(r, b->seqs[0], status, msgf("%s (%s %s)", why,
		    strchr(ids, ' ') != NULL ? "ids" : "id", ids));
		free(ids);
	}
	b->state = B_FREE;
}

/* Split a refused batch into single texts, to find the one at fault. */
static void
split_batch(struct run *r, long bi)
{
	size_t	 i, n = r->batches[bi].n;
	long	*seqs = xreallocarray(NULL, n, sizeof(long)), nb;

	memcpy(seqs, r->batches[bi].seqs, n * sizeof(long));
	r->batches[bi].state = B_FREE;
	for (i = 0; i < n; i++) {
		nb = batch_new(r);
		r->batches[nb].seqs[0] = seqs[i];
		r->batches[nb].n = 1;
		r->batches[nb].state = B_READY;
		if (r->c->tpm > 0)
			r->batches[nb].tokens_est = tpm_cost(r->c,
			    item_at(r, seqs[i]));
	}
	free(seqs);
}

static void
handle_response(struct run *r, const struct http_response *hr)
{
	long		 bi = (long)(intptr_t)hr->udata;
	struct batch	*b = &r->batches[bi];
	const char	*perr = NULL;
	char		*code, *message, *rid, *why;
	int		 retry = 0, status = EX_UNAVAILABLE, pr;
	double		 t = now();

	if (r->c->verbose)
		fprintf(stderr, "ds-embed: %s %ld after %.3f s, %zu bytes\n",
		    hr->error == HTTP_OK ? "HTTP" : "failed:",
		    hr->status, hr->seconds, hr->len);
	if (hr->error == HTTP_OK && hr->status == 200) {
		/* A 200's body went to the batch's reader (send_batch). */
		pr = dashscope_parse_fed(b->json, &r->params, b->n, &r->res,
		    &perr);
		if (pr == 0 &&
		    r->res.dim != r->dim && r->dim != 0 &&
		    (r->c->output & DASHSCOPE_DENSE)) {
			/* One stream, one dimension. */
			why = msgf("response has %zu dimensions, earlier ones "
			    "had %zu", r->res.dim, r->dim);
			give_up(r, b, EX_DATAERR, why);
			free(why);
			return;
		}
		if (pr == 0) {
			take_result(r, b);
			return;
		}
		/* A cut or garbled body is a transport failure: retry. */
		why = redact(r->c, msgf("%s", perr));
		retry = pr == -1;
		status = pr == -1 ? EX_TEMPFAIL : EX_DATAERR;
		b->last_unreachable = 0;
	} else if (hr->error == HTTP_ECERT) {
		/* Retrying cannot make a certificate verify. */
		why = redact(r->c, msgf("%s: %s", r->c->base, hr->errstr));
		b->last_unreachable = 1;
		status = EX_UNAVAILABLE;
	} else if (hr->error != HTTP_OK) {
		why = redact(r->c, msgf("%s", hr->errstr));
		/* An oversized answer will be as large the next time. */
		retry = hr->error != HTTP_ETOOBIG;
		b->last_unreachable = hr->error == HTTP_ECONNECT ||
		    hr->error == HTTP_ETOOBIG;
		status = b->last_unreachable ? EX_UNAVAILABLE : EX_TEMPFAIL;
	} else if (hr->status / 100 == 3) {
		/* Followed, it would carry the key to another host. */
		why = redact(r->c, msgf("HTTP %ld: redirect to %s not "
		    "followed", hr->status, hr->location != NULL ?
		    hr->location : "nowhere"));
		b->last_unreachable = 0;
		status = EX_UNAVAILABLE;
	} else {
		dashscope_error(r->json, hr->body, hr->len, &code, &message,
		    &rid);
		why = redact(r->c, msgf("HTTP %ld%s%s: %s%s%s%s", hr->status,
		    code[0] != '\0' ? " " : "", code, message,
		    rid[0] != '\0' ? " (request_id " : "", rid,
		    rid[0] != '\0' ? ")" : ""));
		free(code);
		free(message);
		free(rid);
		b->last_unreachable = 0;
		if (dashscope_retryable(hr->status)) {
			retry = 1;
			status = EX_TEMPFAIL;
		} else if (hr->status == 401 || hr->status == 403) {
			status = EX_NOPERM;
			if (hr->status == 401) {
				char *w = msgf("%s; keys belong to one region: "
				    "is %s the right host?", why, r->c->base);

				free(why);
				why = w;
			}
		} else if ((hr->status == 400 || hr->status == 413) &&
		    b->n > 1) {
			if (r->c->verbose)
				warnx("%s; sending the %zu texts one by one",
				    why, b->n);
			free(why);
			split_batch(r, bi);
			return;
		} else if (hr->status == 400 || hr->status == 413)
			status = EX_DATAERR;
		else
			status = EX_UNAVAILABLE;
	}
	b->attempts++;
	if (retry && b->attempts <= r->c->retries &&
	    t - b->first_try < r->c->deadline) {
		double d = retry_delay(b->attempts, r->c->backoff, 30.0,
		    hr->retry_after_ms, &r->seed);

		if (t + d - b->first_try > r->c->deadline)
			d = b->first_try + r->c->deadline - t;
		if (r->c->verbose)
			warnx("%s; retrying in %.2f s", why, d);
		free(why);
		b->not_before = t + d;
		b->state = B_READY;
		r->retries++;
		return;
	}
	if (retry) {
		char *w = msgf("%s; gave up after %d attempts", why,
		    b->attempts);

		free(why);
		why = w;
		status = b->last_unreachable ? EX_UNAVAILABLE : EX_TEMPFAIL;
	}
	give_up(r, b, status, why);
	free(why);
}

/* ------------------------------------------------------------- progress */

static void
progress(struct run *r, struct reader *rd, int final)
{
	double		t = now(), el = t - r->t0, rate;
	uintmax_t	bytes, total;
	char		eta[64] = "";

	if (!final && t - r->last_progress < 0.25)
		return;
	r->last_progress = t;
	pthread_mutex_lock(&rd->lock);
	bytes = rd->bytes;
	total = rd->total;
	pthread_mutex_unlock(&rd->lock);
	rate = el > 0 ? r->written / el : 0;
	if (total > 0 && bytes > 0 && bytes <= total && el > 0.5)
		snprintf(eta, sizeof(eta), ", ETA %.0f s",
		    el * (double)(total - bytes) / (double)bytes);
	fprintf(stderr, "\rds-embed: %ju records, %lld tokens, %.0f/s%s\033[K",
	    r->written, r->tokens, rate, eta);
	if (final)
		fputc('\n', stderr);
}

static void
summary(struct run *r)
{
	char	cost[64] = "";

	if (r->c->limits != NULL && r->c->limits->usd_per_mtok > 0)
		snprintf(cost, sizeof(cost), ", $%.6f at list price",
		    r->tokens * r->c->limits->usd_per_mtok / 1e6);
	fprintf(stderr, "ds-embed: %ju records, %ju requests, %ju retries, "
	    "%ju cache hits, %ju cache misses, %ju duplicates, %lld tokens%s\n",
	    r->written, r->requests, r->retries, r->hits, r->misses,
	    r->duplicates, r->tokens, cost);
}

/* ------------------------------------------------------------ main loop */

static int
run_loop(struct run *r, struct reader *rd)
{
	struct http_response	 hr;
	const char		*errstr;
	long			 bi, ms;
	double			 t, wake, d;
	int			 got, status = 0, queue_empty;

	for (;;) {
		/* Records into the window, while it has room. */
		queue_empty = 0;
		while (r->fail_seq == -1 && !r->input_done &&
		    r->tail - r->head < (long)r->wsize) {
			struct item *it = item_at(r, r->tail);

			if (!reader_take(rd, &it->rec, &it->src)) {
				pthread_mutex_lock(&rd->lock);
				if (rd->eof && rd->len == 0) {
					r->input_done = 1;
					if (rd->errmsg != NULL)
						fail_at(r, r->tail,
						    rd->status, xstrdup(
						    rd->errmsg));
					else if (rd->status != 0)
						status = rd->status;
				}
				pthread_mutex_unlock(&rd->lock);
				queue_empty = 1;
				break;
			}
			admit(r, it);
		}
		t = now();
		/* A partial batch goes when nothing more is coming soon. */
		if (r->open != -1 && (r->input_done || r->fail_seq != -1 ||
		    r->tail - r->head >= (long)r->wsize ||
		    (queue_empty && t - r->open_since >= FLUSH_AGE)))
			open_batch_close(r);

		/* Start what is due, within -j and the rate limits. */
		wake = 0;
		while (http_inflight(r->http) < r->c->jobs &&
		    (bi = next_ready(r, t, &wake)) != -1) {
			struct batch *b = &r->batches[bi];

			if ((d = retry_bucket_take(&r->rpm, 1, t)) > 0 ||
			    (d = retry_bucket_take(&r->tpm,
			    (double)b->tokens_est, t)) > 0) {
				if (wake == 0 || t + d < wake)
					wake = t + d;
				break;
			}
			send_batch(r, bi);
		}

		drain(r);
		if (r->c->progress)
			progress(r, rd, 0);
		if (r->head == r->tail && (r->input_done ||
		    r->fail_seq != -1) && http_inflight(r->http) == 0)
			break;
		if (r->fail_seq != -1 && r->head == r->fail_seq &&
		    http_inflight(r->http) == 0)
			break;

		/* Wait for a response, a record, or the next due time. */
		d = 0.25;
		if (r->open != -1 && !queue_empty)
			d = 0;
		/*
		 * The window was full and drain made room: records may be
		 * queued, and the input thread wakes the loop only when the
		 * queue was empty.
		 */
		if (!queue_empty && !r->input_done && r->fail_seq == -1 &&
		    r->tail - r->head < (long)r->wsize)
			d = 0;
		else if (r->open != -1)
			d = FLUSH_AGE;
		if (wake > 0 && wake - t < d)
			d = wake - t;
		if (d < 0)
			d = 0;
		/*
		 * After a response, take the others that have finished
		 * without polling the sockets again: the next pass polls
		 * them anyway, before it sleeps.
		 */
		ms = (long)(d * 1000 + 0.999);
		while ((got = http_wait(r->http, ms, &hr, &errstr)) == 1) {
			handle_response(r, &hr);
			ms = -1;
		}
		if (got == -1)
			errx(EX_SOFTWARE, "%s", errstr);
	}
	if (r->c->progress)
		progress(r, rd, 1);
	if (!r->header_done && r->fail_seq == -1)
		write_headers(r);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "stdout");
	summary(r);
	if (r->fail_seq != -1) {
		warnx("%s", r->fail_msg);
		return r->fail_status;
	}
	if (r->not_unit > 0) {
		warnx("%ju vectors did not have unit length although the "
		    "first ones did (norm=l2 in the header)", r->not_unit);
		return EX_DATAERR;
	}
	if (r->empty > 0 && r->c->skip_empty)
		warnx("%ju empty texts skipped", r->empty);
	if (r->failed_records > 0) {
		warnx("%ju records failed and were skipped",
		    r->failed_records);
		return 1;
	}
	return status;
}

/* ---------------------------------------------------------------- local */

/* Records read and not yet written, and the room for their vectors. */
struct local_batch {
	struct record		*rec;
	const char		**text;
	size_t			*len;
	struct embed_batch	 eb;
	size_t			 cap;
};

/* What a run has counted, for the closing line. */
struct tally {
	uintmax_t	texts, empty;
};

static void
batch_init(struct local_batch *b, size_t cap, size_t dim)
{
	size_t	i;

	b->cap = cap;
	b->rec = xreallocarray(NULL, cap, sizeof(*b->rec));
	for (i = 0; i < cap; i++)
		record_init(&b->rec[i]);
	b->text = xreallocarray(NULL, cap, sizeof(*b->text));
	b->len = xreallocarray(NULL, cap, sizeof(*b->len));
	b->eb.vec = xreallocarray(NULL, cap, dim * sizeof(float));
	b->eb.empty = xmalloc(cap);
	b->eb.text = b->text;
	b->eb.len = b->len;
	b->eb.n = 0;
}

static void
batch_free(struct local_batch *b)
{
	size_t	i;

	for (i = 0; i < b->cap; i++)
		record_free(&b->rec[i]);
	free(b->rec);
	free(b->text);
	free(b->len);
	free(b->eb.vec);
	free(b->eb.empty);
}

/*
 * Embed the records of the batch and write them in order.  Exits on a
 * provider or write error.
 */
static void
batch_flush(struct local_batch *b, const struct provider *p, void *state,
    struct writer *w, size_t dim, int skip_empty, struct tally *t)
{
	const char	*errstr;
	size_t		 i;
	int		 status;

	if (b->eb.n == 0)
		return;
	for (i = 0; i < b->eb.n; i++) {
		b->text[i] = b->rec[i].text.s;
		b->len[i] = b->rec[i].text.len;
	}
	if (p->embed(state, &b->eb, &errstr, &status) == -1)
		errx(status, "%s", errstr);
	for (i = 0; i < b->eb.n; i++) {
		t->texts++;
		if (b->eb.empty[i]) {
			t->empty++;
			if (skip_empty)
				continue;
		}
		record_set_dense(&b->rec[i], b->eb.vec + i * dim, dim);
		if (writer_write(w, &b->rec[i]) == -1)
			err(EX_IOERR, "stdout");
	}
	b->eb.n = 0;
}

static struct writer *
start_output(const struct model *m, const struct embed_opts *opts,
    const struct header *in, int binary)
{
	struct header	 h;
	struct writer	*w;
	char		 dim[32];

	memset(&h, 0, sizeof(h));
	if (in != NULL)
		header_copy(&h, in);
	snprintf(dim, sizeof(dim), "%zu", opts->dim);
	header_set(&h, "kind", "dense");
	header_set(&h, "dim", dim);
	header_set(&h, "model", m->name);
	header_set(&h, "provider", m->provider->name);
	if (m->norm != NULL)
		header_set(&h, "norm", m->norm);
	else
		header_unset(&h, "norm");
	if (opts->text_type != NULL)
		header_set(&h, "text_type", opts->text_type);
	else
		header_unset(&h, "text_type");
	w = writer_open(stdout, binary, &h);
	header_free(&h);
	return w;
}

/*
 * Embed with a model of lib/models.c (computed here, no service): one
 * batch at a time, in order.  Returns the exit status.
 */
static int
run_local(const struct model *m, const struct embed_opts *eo, int argc,
    char **argv, int binary, int skip_empty)
{
	struct embed_opts	 opts = *eo;
	struct stream_opts	 sopts;
	struct stream		*in;
	struct writer		*w = NULL;
	struct local_batch	 b;
	struct tally		 t;
	const char		*errstr;
	void			*state;
	int			 status, r, exit_status = 0, i;

	if ((state = m->provider->open(m, &opts, &errstr, &status)) == NULL)
		errx(status, "%s", errstr);

	memset(&sopts, 0, sizeof(sopts));
	sopts.expect = KIND_TEXT;
	memset(&t, 0, sizeof(t));
	batch_init(&b, m->batch, opts.dim);
	if (argc == 0) {
		static char	*stdin_only[] = { "-", NULL };

		argv = stdin_only;
		argc = 1;
	}
	for (i = 0; i < argc && exit_status != EX_DATAERR; i++) {
		if ((in = stream_open(argv[i], &sopts, &errstr,
		    &status)) == NULL) {
			warnx("%s", errstr);
			exit_status = status;
			continue;
		}
		if (w == NULL)
			w = start_output(m, &opts, stream_header(in), binary);
		while ((r = stream_read(in, &b.rec[b.eb.n], &errstr,
		    &status)) == 1) {
			if (++b.eb.n == b.cap)
				batch_flush(&b, m->provider, state, w, opts.dim,
				    skip_empty, &t);
		}
		/* Every record before a bad one is written first. */
		batch_flush(&b, m->provider, state, w, opts.dim, skip_empty,
		    &t);
		if (r == -1) {
			warnx("%s", errstr);
			exit_status = status;
		}
		stream_close(in);
	}
	if (w == NULL)
		w = start_output(m, &opts, NULL, binary);
	writer_close(w);
	batch_free(&b);
	m->provider->close(state);

	if (t.empty > 0)
		warnx("%ju of %ju texts had no known word%s", t.empty, t.texts,
		    skip_empty ? " (skipped)" : "");
	return exit_status;
}

/* ---------------------------------------------------------------- dry run */

/*
 * The Qwen3 tokenizer of the data directory, for --dry-run and --tpm.  A
 * damaged file stops the run (65), and so does a missing one (66) when
 * required; else a missing file gives NULL, with a note under -v.
 */
static struct tok *
open_tokenizer(const struct conf *c, int required)
{
	struct tok	*tk;
	const char	*errstr;
	char		*path;
	int		 missing;

	path = datadir_path(TOK_QWEN3_FILE);
	tk = tok_open(path, &errstr);
	missing = tk == NULL && errno != 0;
	free(path);
	if (tk == NULL && (required || !missing))
		errx(missing ? EX_NOINPUT : EX_DATAERR, "%s (run 'make "
		    "data' to fetch the Qwen3 tokenizer)", errstr);
	if (tk == NULL && c->verbose)
		warnx("%s: --tpm counts four bytes a token (run 'make data' "
		    "to fetch the Qwen3 tokenizer)", errstr);
	return tk;
}

/*
 * Count what a run would send, with the Qwen3 tokenizer (the service's
 * own count differs by a few percent): texts, requests, tokens and their
 * cost, the cache's hits taken off; texts over the model's token limit
 * are listed.  Nothing is sent.  Returns the exit status.
 */
static int
run_dry(struct conf *c, struct cache *cache, int argc, char **argv)
{
	static char		*stdin_only[] = { "-", NULL };
	struct stream_opts	 so;
	struct stream		*in;
	struct record		 rec;
	struct cache_entry	 e;
	struct tok		*tk;
	const char		*errstr, *name;
	char			 cost[64] = "";
	uintmax_t		 texts = 0, hits = 0, sent = 0, over = 0;
	uintmax_t		 empty = 0, tokens = 0;
	size_t			 n;
	int			 i, r, status = 0, st;

	tk = open_tokenizer(c, 1);
	memset(&so, 0, sizeof(so));
	so.expect = KIND_TEXT;
	record_init(&rec);
	if (argc == 0) {
		argc = 1;
		argv = stdin_only;
	}
	for (i = 0; i < argc; i++) {
		name = strcmp(argv[i], "-") == 0 ? "stdin" : argv[i];
		if ((in = stream_open(argv[i], &so, &errstr, &st)) == NULL) {
			warnx("%s", errstr);
			status = st;
			continue;
		}
		while ((r = stream_read(in, &rec, &errstr, &st)) == 1) {
			texts++;
			if (rec.text.len == 0) {
				empty++;
				if (!c->skip_empty) {
					warnx("%s:%ju: empty text, id %s", name,
					    rec.line, rec.id.s);
					status = EX_DATAERR;
				}
				continue;
			}
			if (cache != NULL && cache_get(cache, rec.text.s,
			    rec.text.len, &e, &errstr) == 1) {
				hits++;
				continue;
			}
			n = tok_count(tk, rec.text.s, rec.text.len);
			tokens += n;
			sent++;
			if (c->limits != NULL && n > c->limits->max_tokens) {
				warnx("%s:%ju: id %s has %zu tokens, over "
				    "%s's %zu", name, rec.line, rec.id.s, n,
				    c->model, c->limits->max_tokens);
				over++;
				status = EX_DATAERR;
			}
		}
		if (r == -1) {
			warnx("%s", errstr);
			status = st;
		}
		stream_close(in);
	}
	record_free(&rec);
	tok_close(tk);
	if (c->limits != NULL && c->limits->usd_per_mtok > 0)
		snprintf(cost, sizeof(cost), ", $%.6f at list price",
		    tokens * c->limits->usd_per_mtok / 1e6);
	printf("%ju texts, %ju cache hits, %ju to send in %ju requests, "
	    "%ju tokens%s\n", texts, hits, sent,
	    (sent + c->batch - 1) / c->batch, tokens, cost);
	if (over > 0)
		warnx("%ju texts over the limit of %zu tokens", over,
		    c->limits->max_tokens);
	return status;
}

/* ---------------------------------------------------------------- setup */

static _Noreturn void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ds-embed [-bCDEhpqtVvx] [-A api] [-a cafile] "
	    "[-B url] [-c file] [-d dim]\n"
	    "\t[-e stop|skip] [-I text] [-j jobs] [-K tpm] [-k file] "
	    "[-l seconds] [-m model]\n"
	    "\t[-n batch] [-o dense|sparse|dense+sparse] [-R rpm] "
	    "[-r retries] [-s file]\n"
	    "\t[-T seconds] [-w seconds] [file ...]\n");
	exit(status);
}

/*
 * Keep the key in c->secret, with the header that carries it: the only
 * copies ds-embed makes.
 */
static void
keep_key(struct conf *c, const char *key, size_t len)
{
	static const char	 prefix[] = "Authorization: Bearer ";
	const char		*errstr;

	if ((c->secret = secret_new(2 * len + sizeof(prefix) + 2,
	    &errstr)) == NULL)
		errx(EX_OSERR, "%s", errstr);
	c->key = secret_alloc(c->secret, len);
	c->auth = secret_alloc(c->secret, sizeof(prefix) - 1 + len);
	if (c->key == NULL || c->auth == NULL)
		errx(EX_SOFTWARE, "no room for the API key");
	memcpy(c->key, key, len);
	memcpy(c->auth, prefix, sizeof(prefix) - 1);
	memcpy(c->auth + sizeof(prefix) - 1, key, len);
}

/*
 * The first line of file, trimmed: an API key kept out of argv.  Like
 * ssh with a private key, warn when others may read it.
 */
static void
read_key_file(struct conf *c, const char *path)
{
	struct stat	 st;
	FILE		*fp;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 len;

	if ((fp = fopen(path, "r")) == NULL)
		err(EX_CONFIG, "%s", path);
	if (fstat(fileno(fp), &st) == -1)
		err(EX_CONFIG, "%s", path);
	len = getline(&line, &cap, fp);
	if (len == -1 && ferror(fp))
		err(EX_CONFIG, "%s", path);
	fclose(fp);
	if (len == -1)
		len = 0;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
	    line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	if (len == 0)
		errx(EX_CONFIG, "%s: no API key in the file", path);
	if ((st.st_mode & 077) != 0)
		warnx("%s: mode %04o lets %s read the API key; chmod 600 it",
		    path, (unsigned)(st.st_mode & 07777),
		    (st.st_mode & 007) != 0 ? "everyone" : "its group");
	keep_key(c, line, (size_t)len);
	secret_wipe(line, cap);
	free(line);
}

/*
 * msg with every occurrence of the key replaced: a server may echo what
 * it was sent into its error messages, which are printed.  Takes msg.
 */
static char *
redact(const struct conf *c, char *msg)
{
	static const char	 mark[] = "<redacted>";
	struct json_out		 o;
	const char		*p, *q;
	size_t			 klen;

	if (c->key == NULL || (klen = strlen(c->key)) == 0 ||
	    strstr(msg, c->key) == NULL)
		return msg;
	memset(&o, 0, sizeof(o));
	for (p = msg; (q = strstr(p, c->key)) != NULL; p = q + klen) {
		json_out_raw(&o, p, (size_t)(q - p));
		json_out_raw(&o, mark, sizeof(mark) - 1);
	}
	json_out_raw(&o, p, strlen(p));
	secret_wipe(msg, strlen(msg));
	free(msg);
	return o.buf;
}

static void
check_key(const char *key, const char *from)
{
	const char	*p;

	for (p = key; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			errx(EX_CONFIG, "%s: the API key holds a control "
			    "character", from);
}

static void
configure(struct conf *c, const char *api, const char *base,
    const char *key_file, const char *output, int query, int document)
{
	const struct model *all;
	const char	*env, *from;
	size_t		 i, n;

	if (api == NULL || strcmp(api, "dashscope") == 0 ||
	    strcmp(api, "native") == 0)
		c->api = DASHSCOPE_NATIVE;
	else if (strcmp(api, "openai") == 0)
		c->api = DASHSCOPE_OPENAI;
	else
		errx(EX_USAGE, "-A %s: expected dashscope or openai", api);
	if (c->model == NULL)
		c->model = MODELS_REMOTE_DEFAULT;
	/*
	 * The models computed here were taken care of before; an
	 * OpenAI-compatible server may offer models the table does not
	 * know, and then the server's limits apply.
	 */
	c->limits = models_find(c->model);
	if (c->limits == NULL && c->api == DASHSCOPE_NATIVE) {
		all = models_all(&n);
		fprintf(stderr, "ds-embed: %s: unknown model; known:",
		    c->model);
		for (i = 0; i < n; i++)
			fprintf(stderr, " %s", all[i].name);
		fprintf(stderr, "\n");
		exit(EX_USAGE);
	}
	if (c->limits != NULL) {
		if (c->dimension == 0)
			c->dimension = c->limits->dim;
		if (!models_dim_ok(c->limits, c->dimension))
			errx(EX_USAGE, "-d %zu: %s takes %s", c->dimension,
			    c->model, models_dims_text(c->limits));
		if (c->batch == 0)
			c->batch = c->limits->batch;
		if (c->batch > c->limits->batch)
			errx(EX_USAGE, "-n %zu: %s takes at most %zu texts a "
			    "request", c->batch, c->model, c->limits->batch);
	} else if (c->batch == 0)
		c->batch = 16;

	if (output == NULL || strcmp(output, "dense") == 0)
		c->output = DASHSCOPE_DENSE;
	else if (strcmp(output, "sparse") == 0)
		c->output = DASHSCOPE_SPARSE;
	else if (strcmp(output, "dense+sparse") == 0)
		c->output = DASHSCOPE_BOTH;
	else
		errx(EX_USAGE, "-o %s: expected dense, sparse or "
		    "dense+sparse", output);
	if (c->output != DASHSCOPE_DENSE && (c->api != DASHSCOPE_NATIVE ||
	    !c->limits->sparse))
		errx(EX_USAGE, "-o %s: %s has no sparse vectors%s", output,
		    c->model, c->api != DASHSCOPE_NATIVE ?
		    " in the OpenAI-compatible API" : "");
	if (c->output == DASHSCOPE_BOTH && c->sparse_out == NULL)
		errx(EX_USAGE, "-o dense+sparse needs -s FILE for the sparse "
		    "records");
	if (c->output != DASHSCOPE_BOTH && c->sparse_out != NULL)
		errx(EX_USAGE, "-s is for -o dense+sparse");

	if (query && document)
		errx(EX_USAGE, "-q and -D exclude each other");
	if ((query || document) && c->api != DASHSCOPE_NATIVE)
		errx(EX_USAGE, "%s: the OpenAI-compatible API has no text "
		    "type", query ? "-q" : "-D");
	if (c->instruct != NULL) {
		if (c->api != DASHSCOPE_NATIVE || !c->limits->instruct)
			errx(EX_USAGE, "-I: %s takes no instruction%s",
			    c->model, c->api != DASHSCOPE_NATIVE ?
			    " in the OpenAI-compatible API" : "");
		if (document)
			errx(EX_USAGE, "-I applies to queries, not -D");
		if (c->instruct[0] == '\0')
			errx(EX_USAGE, "-I: empty instruction");
		query = 1;
	}
	if (c->api == DASHSCOPE_NATIVE)
		c->text_type = query ? "query" : "document";

	/* The key: never from argv, never printed. */
	if (key_file != NULL) {
		read_key_file(c, key_file);
		from = key_file;
	} else if ((env = getenv(c->api == DASHSCOPE_NATIVE ?
	    "DASHSCOPE_API_KEY" : "OPENAI_API_KEY")) != NULL &&
	    env[0] != '\0') {
		keep_key(c, env, strlen(env));
		from = c->api == DASHSCOPE_NATIVE ? "DASHSCOPE_API_KEY" :
		    "OPENAI_API_KEY";
	} else {
		from = NULL;
		if (c->api == DASHSCOPE_NATIVE && !c->dry_run)
			errx(EX_CONFIG, "no API key: set DASHSCOPE_API_KEY or "
			    "use -k FILE");
	}
	if (c->key != NULL)
		check_key(c->key, from);

	if (base == NULL && c->api == DASHSCOPE_NATIVE &&
	    (env = getenv("DASHSCOPE_HTTP_BASE_URL")) != NULL &&
	    env[0] != '\0')
		base = env;
	if (base == NULL)
		base = c->api == DASHSCOPE_NATIVE ? DEFAULT_BASE : OPENAI_BASE;
	if (strncmp(base, "http://", 7) != 0 &&
	    strncmp(base, "https://", 8) != 0)
		errx(EX_USAGE, "%s: the base URL must start with http:// or "
		    "https://", base);
	c->base = xstrdup(base);
	c->url = dashscope_url(c->api, base);
	if (c->ca_file != NULL && access(c->ca_file, R_OK) == -1)
		err(EX_CONFIG, "-a %s", c->ca_file);
}

/* What makes a cached vector valid for this run. */
static char *
cache_space(const struct conf *c)
{
	return msgf("provider=%s%s%s model=%s dim=%zu text_type=%s "
	    "instruct=%s output=%s",
	    c->api == DASHSCOPE_NATIVE ? "dashscope" : "openai",
	    c->api == DASHSCOPE_NATIVE ? "" : " base=",
	    c->api == DASHSCOPE_NATIVE ? "" : c->base, c->model, c->dimension,
	    c->text_type != NULL ? c->text_type : "-",
	    c->instruct != NULL ? c->instruct : "-", output_word(c->output));
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "api",		required_argument,	NULL, 'A' },
		{ "ca-file",		required_argument,	NULL, 'a' },
		{ "base-url",		required_argument,	NULL, 'B' },
		{ "binary",		no_argument,		NULL, 'b' },
		{ "no-cache",		no_argument,		NULL, 'C' },
		{ "cache",		required_argument,	NULL, 'c' },
		{ "document",		no_argument,		NULL, 'D' },
		{ "dimension",		required_argument,	NULL, 'd' },
		{ "skip-empty",		no_argument,		NULL, 'E' },
		{ "on-error",		required_argument,	NULL, 'e' },
		{ "help",		no_argument,		NULL, 'h' },
		{ "instruct",		required_argument,	NULL, 'I' },
		{ "jobs",		required_argument,	NULL, 'j' },
		{ "tpm",		required_argument,	NULL, 'K' },
		{ "api-key-file",	required_argument,	NULL, 'k' },
		{ "deadline",		required_argument,	NULL, 'l' },
		{ "model",		required_argument,	NULL, 'm' },
		{ "batch",		required_argument,	NULL, 'n' },
		{ "output",		required_argument,	NULL, 'o' },
		{ "progress",		no_argument,		NULL, 'p' },
		{ "query",		no_argument,		NULL, 'q' },
		{ "rpm",		required_argument,	NULL, 'R' },
		{ "retries",		required_argument,	NULL, 'r' },
		{ "sparse-out",		required_argument,	NULL, 's' },
		{ "timeout",		required_argument,	NULL, 'T' },
		{ "text",		no_argument,		NULL, 't' },
		{ "version",		no_argument,		NULL, 'V' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ "backoff",		required_argument,	NULL, 'w' },
		{ "dry-run",		no_argument,		NULL, 'x' },
		{ NULL,			0,			NULL, 0 }
	};
	struct conf	 c;
	struct run	 r;
	struct reader	 rd;
	struct stat	 st;
	const char	*errstr, *api = NULL, *base = NULL, *key_file = NULL;
	const char	*output = NULL, *stdin_name[] = { "-" };
	const struct model *local = NULL;
	char		*space, *cpath = NULL;
	int		 ch, query = 0, document = 0, status, progress = -1;
	int		 reader_done;
	size_t		 i, nh;

	memset(&c, 0, sizeof(c));
	c.jobs = 4;
	c.retries = 6;
	c.timeout = 60;
	c.deadline = 600;
	c.backoff = 0.5;
	c.use_cache = 1;
	c.binary = -1;
	while ((ch = getopt_long(argc, argv,
	    "A:a:B:bCc:Dd:Ee:hI:j:K:k:l:m:n:o:pqR:r:s:T:tVvw:x", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'A':
			api = optarg;
			break;
		case 'a':
			c.ca_file = optarg;
			break;
		case 'B':
			base = optarg;
			break;
		case 'b':
			c.binary = 1;
			break;
		case 'C':
			c.use_cache = 0;
			break;
		case 'c':
			c.cache_path = optarg;
			c.use_cache = 1;
			break;
		case 'D':
			document = 1;
			break;
		case 'd':
			c.dimension = (size_t)num_parse(optarg, 1, 65536,
			    &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-d %s: %s", optarg, errstr);
			break;
		case 'E':
			c.skip_empty = 1;
			break;
		case 'e':
			if (strcmp(optarg, "skip") == 0)
				c.skip_errors = 1;
			else if (strcmp(optarg, "stop") == 0)
				c.skip_errors = 0;
			else
				errx(EX_USAGE, "-e %s: expected stop or skip",
				    optarg);
			break;
		case 'h':
			usage(stdout, 0);
		case 'I':
			c.instruct = optarg;
			break;
		case 'j':
			c.jobs = (size_t)num_parse(optarg, 1, 256, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-j %s: %s", optarg, errstr);
			break;
		case 'K':
			c.tpm = real_parse(optarg, 1, 1e12, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-K %s: %s", optarg, errstr);
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'l':
			c.deadline = real_parse(optarg, 0.001, 1e7, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-l %s: %s", optarg, errstr);
			break;
		case 'm':
			c.model = optarg;
			break;
		case 'n':
			c.batch = (size_t)num_parse(optarg, 1, 2048, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-n %s: %s", optarg, errstr);
			break;
		case 'o':
			output = optarg;
			break;
		case 'p':
			progress = 1;
			break;
		case 'q':
			query = 1;
			break;
		case 'R':
			c.rpm = real_parse(optarg, 0.001, 1e9, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-R %s: %s", optarg, errstr);
			break;
		case 'r':
			c.retries = (int)num_parse(optarg, 0, 100, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-r %s: %s", optarg, errstr);
			break;
		case 's':
			c.sparse_out = optarg;
			break;
		case 'T':
			c.timeout = real_parse(optarg, 0.001, 1e6, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-T %s: %s", optarg, errstr);
			break;
		case 't':
			c.binary = 0;
			break;
		case 'V':
			return util_version("ds-embed");
		case 'v':
			c.verbose = 1;
			break;
		case 'w':
			c.backoff = real_parse(optarg, 0, 3600, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-w %s: %s", optarg, errstr);
			break;
		case 'x':
			c.dry_run = 1;
			break;
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	/* A built-in model, named or by default when no service is set. */
	if (c.model != NULL) {
		local = models_find(c.model);
		if (local != NULL && local->service != MODELS_LOCAL)
			local = NULL;
	} else if (api == NULL && key_file == NULL && !c.dry_run &&
	    getenv("DASHSCOPE_API_KEY") == NULL) {
		local = models_find(MODELS_LOCAL_DEFAULT);
		warnx("no DASHSCOPE_API_KEY: using the built-in model %s",
		    local->name);
	}
	if (local != NULL) {
		struct embed_opts eo;

		if (c.dry_run)
			errx(EX_USAGE, "-x: %s is computed here: nothing to "
			    "estimate", local->name);
		if (c.instruct != NULL || output != NULL)
			errx(EX_USAGE, "%s: %s is computed here: no %s",
			    c.instruct != NULL ? "-I" : "-o", local->name,
			    c.instruct != NULL ? "instruction" :
			    "sparse output");
		if (query && document)
			errx(EX_USAGE, "-q and -D exclude each other");
		memset(&eo, 0, sizeof(eo));
		eo.dim = c.dimension != 0 ? c.dimension : local->dim;
		eo.text_type = query ? "query" : document ? "document" : NULL;
		if (c.dimension != 0 && !models_dim_ok(local, c.dimension))
			errx(EX_USAGE, "-d %zu: %s offers only %s",
			    c.dimension, local->name,
			    models_dims_text(local));
		status = run_local(local, &eo, argc, argv, c.binary,
		    c.skip_empty);
		if (ferror(stdout) || fclose(stdout) == EOF)
			err(EX_IOERR, "stdout");
		return status;
	}
	configure(&c, api, base, key_file, output, query, document);
	c.progress = progress == 1 || (progress == -1 && isatty(2));
	if (c.binary == -1)
		c.binary = writer_default_binary();

	memset(&r, 0, sizeof(r));
	r.c = &c;
	r.open = -1;
	r.fail_seq = -1;
	r.t0 = now();
	r.seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	r.dim = c.output & DASHSCOPE_DENSE ? c.dimension : 0;
	r.params.api = c.api;
	r.params.model = c.model;
	r.params.dimension = c.dimension;
	r.params.text_type = c.text_type;
	r.params.instruct = c.instruct;
	r.params.output = c.output;
	r.texts = xreallocarray(NULL, c.batch, sizeof(*r.texts));
	r.lens = xreallocarray(NULL, c.batch, sizeof(*r.lens));
	/* The window: enough read-ahead to keep -j requests busy. */
	r.wsize = 4 * c.jobs * c.batch;
	if (r.wsize < 256)
		r.wsize = 256;
	r.win = xcalloc(r.wsize, sizeof(*r.win));
	for (i = 0; i < r.wsize; i++)
		record_init(&r.win[i].rec);
	r.nbuckets = 2 * r.wsize + 1;
	r.buckets = xreallocarray(NULL, r.nbuckets, sizeof(long));
	for (i = 0; i < r.nbuckets; i++)
		r.buckets[i] = -1;
	r.json = json_new();
	retry_bucket_init(&r.rpm, c.rpm, 1, r.t0);
	retry_bucket_init(&r.tpm, c.tpm, 1, r.t0);
	if (c.tpm > 0 && !c.dry_run)
		c.tpm_tok = open_tokenizer(&c, 0);

	nh = 0;
	if (c.auth != NULL)
		r.headers[nh++] = c.auth;
	r.headers[nh++] = "Content-Type: application/json";
	r.headers[nh++] = "Accept: application/json";
	r.headers[nh++] = "User-Agent: ds-embed/" DS_VERSION;
	r.headers[nh++] = "Expect:";	/* no 100-continue round trip */
	r.headers[nh] = NULL;

	if (c.output == DASHSCOPE_BOTH &&
	    (r.sparse_fp = fopen(c.sparse_out, "w")) == NULL)
		err(EX_CANTCREAT, "%s", c.sparse_out);
	if (c.use_cache) {
		if (c.cache_path == NULL)
			c.cache_path = cpath = cache_default_path();
		if (c.cache_path != NULL) {
			space = cache_space(&c);
			r.cache = cache_open(c.cache_path, space, &errstr);
			free(space);
			if (r.cache == NULL)
				errx(EX_CANTCREAT, "%s", errstr);
		}
	}
	if (c.dry_run) {
		status = run_dry(&c, r.cache, argc, argv);
		cache_close(r.cache);
		free(cpath);
		if (ferror(stdout) || fclose(stdout) == EOF)
			err(EX_IOERR, "stdout");
		exit(status);
	}
	if ((r.http = http_open(c.jobs, &errstr)) == NULL)
		errx(EX_SOFTWARE, "%s", errstr);

	memset(&rd, 0, sizeof(rd));
	pthread_mutex_init(&rd.lock, NULL);
	pthread_cond_init(&rd.room, NULL);
	for (i = 0; i < QUEUE_LEN; i++)
		record_init(&rd.q[i]);
	rd.http = r.http;
	r.rd = &rd;
	rd.files = argc > 0 ? argv : (char **)stdin_name;
	rd.nfiles = argc > 0 ? argc : 1;
	if (rd.nfiles == 1) {
		if (strcmp(rd.files[0], "-") == 0 ? fstat(0, &st) == 0 :
		    stat(rd.files[0], &st) == 0)
			if (S_ISREG(st.st_mode))
				rd.total = (uintmax_t)st.st_size;
	}
	if ((errno = pthread_create(&rd.thread, NULL, reader_main, &rd)) != 0)
		err(EX_OSERR, "pthread_create");

	status = run_loop(&r, &rd);

	pthread_mutex_lock(&rd.lock);
	rd.stop = 1;
	pthread_cond_broadcast(&rd.room);
	reader_done = rd.eof;
	pthread_mutex_unlock(&rd.lock);
	if (!reader_done) {
		/*
		 * Stopped before the input ended: the reader may be blocked
		 * on a producer that never ends; leave without waiting.
		 */
		cache_close(r.cache);
		if (r.sparse_fp != NULL && (ferror(r.sparse_fp) ||
		    fclose(r.sparse_fp) == EOF))
			err(EX_IOERR, "%s", c.sparse_out);
		if (ferror(stdout) || fflush(stdout) == EOF)
			err(EX_IOERR, "stdout");
		_exit(status);
	}
	pthread_join(rd.thread, NULL);

	if (r.sparse_fp != NULL && (ferror(r.sparse_fp) ||
	    fclose(r.sparse_fp) == EOF))
		err(EX_IOERR, "%s", c.sparse_out);
	writer_close(r.dense_w);
	writer_close(r.sparse_w);
	http_close(r.http);
	cache_close(r.cache);
	json_free(r.json);
	dashscope_result_free(&r.res);
	for (i = 0; i < r.wsize; i++) {
		record_free(&r.win[i].rec);
		free(r.win[i].idx);
		free(r.win[i].val);
	}
	for (i = 0; i < QUEUE_LEN; i++)
		record_free(&rd.q[i]);
	for (i = 0; i < r.nbatches; i++) {
		free(r.batches[i].seqs);
		json_out_free(&r.batches[i].body);
		json_free(r.batches[i].json);
	}
	free(r.batches);
	free(r.win);
	free(r.buckets);
	free(r.texts);
	free(r.lens);
	free(r.fail_msg);
	free(rd.errmsg);
	header_free(&rd.hdr);
	free(cpath);
	tok_close(c.tpm_tok);
	free(c.base);
	free(c.url);
	secret_free(c.secret);
	if (ferror(stdout) || fclose(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return status;
}
