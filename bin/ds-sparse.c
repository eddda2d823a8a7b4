/*
 * ds-sparse: turn text records into sparse lexical vectors weighted by
 * BM25, so that the dot product of a query vector and a document vector
 * is the document's BM25 score.  Documents need the whole corpus (its
 * statistics) before the first vector can be written, so the input is
 * read once to count and once more, from a spool file, to write.
 */
#include <err.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bm25.h"
#include "datadir.h"
#include "stream.h"
#include "terms.h"
#include "tok.h"
#include "util.h"

struct options {
	enum terms_kind	 terms;
	double		 k1, b;
	int		 query;
	int		 update;
	int		 explain;
	int		 binary;	/* -1: DS_FORMAT decides */
	const char	*stats;		/* statistics file, or NULL */
};

/* One text turned into counted terms. */
struct counted {
	struct terms_list list;
	uint32_t	*uniq;
	float		*w;
	size_t		 n, cap;
	uint64_t	 len;
};

static char	*spool_path;
static int	 exit_status;

static _Noreturn void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ds-sparse [-behquV] [-B b] [-k k1] [-s stats] "
	    "[-T qwen3|words] [file ...]\n");
	exit(status);
}

static void
remove_spool(void)
{
	if (spool_path != NULL)
		unlink(spool_path);
}

static struct terms *
open_terms(enum terms_kind kind)
{
	struct terms	*t;
	const char	*errstr;
	char		*path;
	int		 status;

	path = datadir_path(TOK_QWEN3_FILE);
	t = terms_open(kind, path, &errstr, &status);
	free(path);
	if (t == NULL)
		errx(status, "%s", errstr);
	return t;
}

/*
 * Open an input: NULL after a warning if it cannot be opened (the exit
 * status remembers it); exits on malformed input.
 */
static struct stream *
open_input(const char *path, enum stream_kind kind)
{
	struct stream_opts sopts = { kind, 0 };
	struct stream	*st;
	const char	*errstr;
	int		 status;

	if ((st = stream_open(path, &sopts, &errstr, &status)) != NULL)
		return st;
	if (status != EX_NOINPUT)
		errx(status, "%s", errstr);
	warnx("%s", errstr);
	exit_status = EX_NOINPUT;
	return NULL;
}

/* Read the next record; exits with the stream's message on error. */
static int
next_record(struct stream *st, struct record *r)
{
	const char	*errstr;
	int		 rc, status;

	if ((rc = stream_read(st, r, &errstr, &status)) == -1)
		errx(status, "%s", errstr);
	return rc;
}

/* The terms of text s counted: c->uniq ascending, c->w their counts. */
static void
count_terms(struct terms *t, const char *s, size_t len, struct counted *c)
{
	terms_of(t, s, len, &c->list);
	if (c->list.n > c->cap) {
		c->cap = c->list.n;
		c->uniq = xreallocarray(c->uniq, c->cap, sizeof(*c->uniq));
		c->w = xreallocarray(c->w, c->cap, sizeof(*c->w));
	}
	c->len = c->list.n;
	c->n = bm25_count(c->list.ids, c->list.n, c->uniq, c->w);
}

/* The output header: where the vectors came from and how. */
static void
make_header(struct header *h, const struct options *o,
    const struct terms *t, const struct bm25 *s)
{
	char	 num[64];

	header_set(h, "kind", o->explain ? "text" : "sparse");
	header_set(h, "model", o->terms == TERMS_QWEN3 ? "bm25-qwen3" :
	    "bm25-words");
	/* dim is at most 2^31 - 1: hashed words use the whole 31 bits. */
	if (!o->explain && terms_space(t) <= INT32_MAX) {
		snprintf(num, sizeof(num), "%" PRIu64, terms_space(t));
		header_set(h, "dim", num);
	}
	header_set(h, "bm25", o->query ? "query" : "document");
	if (!o->query) {
		snprintf(num, sizeof(num), "%g", o->k1);
		header_set(h, "k1", num);
		snprintf(num, sizeof(num), "%g", o->b);
		header_set(h, "b", num);
		snprintf(num, sizeof(num), "%" PRIu64, s->docs);
		header_set(h, "docs", num);
	}
}

/* The terms and weights of a vector as "term:weight ...", best first. */
static void
explain(struct terms *t, const uint32_t *idx, const float *val, size_t n,
    char **buf, size_t *cap, size_t *len)
{
	size_t	*order, i, j, k, need;
	char	 num[32];
	const char *name;

	order = xreallocarray(NULL, n ? n : 1, sizeof(*order));
	for (i = 0; i < n; i++) {
		/* Insertion sort: by weight, then index. */
		for (j = i; j > 0 && val[order[j - 1]] < val[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	*len = 0;
	for (k = 0; k < n; k++) {
		i = order[k];
		name = terms_name(t, idx[i]);
		snprintf(num, sizeof(num), ":%.4g", (double)val[i]);
		need = *len + strlen(name) + strlen(num) + 2;
		if (need > *cap) {
			*cap = 2 * need;
			*buf = xreallocarray(*buf, *cap, 1);
		}
		*len += (size_t)sprintf(*buf + *len, "%s%s%s", k ? " " : "",
		    name, num);
	}
	free(order);
}

/* Write r with the sparse body (idx, val, n), or its explanation. */
static void
emit(struct writer *w, struct record *r, const uint32_t *idx,
    const float *val, size_t n, const struct options *o, struct terms *t)
{
	static char	*buf;
	static size_t	 cap;
	size_t		 len;

	if (o->explain) {
		explain(t, idx, val, n, &buf, &cap, &len);
		record_set_text(r, buf != NULL ? buf : "", len);
	} else if (idx != r->idx)
		record_set_sparse(r, idx, val, n);
	if (writer_write(w, r) == -1)
		err(EX_IOERR, "stdout");
}

/*
 * Query vectors: each term weighs its count in the query; terms the
 * statistics do not know are dropped (they would score nothing).
 */
static void
queries(char **paths, int npaths, const struct options *o, struct terms *t,
    const struct bm25 *s)
{
	struct stream	*st;
	struct record	 r;
	struct header	 h;
	struct writer	*w;
	struct counted	 c;
	uint64_t	 dropped = 0;
	size_t		 i, k;
	int		 f;

	memset(&h, 0, sizeof(h));
	memset(&c, 0, sizeof(c));
	record_init(&r);
	make_header(&h, o, t, s);
	w = writer_open(stdout, o->binary, &h);
	for (f = 0; f < npaths; f++) {
		if ((st = open_input(paths[f], KIND_TEXT)) == NULL)
			continue;
		while (next_record(st, &r) == 1) {
			count_terms(t, r.text.s, r.text.len, &c);
			for (i = k = 0; i < c.n; i++) {
				if (bm25_df(s, c.uniq[i]) == 0) {
					dropped++;
					continue;
				}
				c.uniq[k] = c.uniq[i];
				c.w[k++] = c.w[i];
			}
			emit(w, &r, c.uniq, c.w, k, o, t);
		}
		stream_close(st);
	}
	if (writer_close(w) == -1)
		err(EX_IOERR, "stdout");
	if (dropped > 0)
		warnx("%" PRIu64 " query term%s not in the statistics dropped",
		    dropped, dropped == 1 ? "" : "s");
	header_free(&h);
	record_free(&r);
	terms_list_free(&c.list);
	free(c.uniq);
	free(c.w);
}

/*
 * First pass over the documents: count their terms into s, and spool
 * each record with its term counts as a sparse binary stream.  Returns
 * the spool's path.
 */
static char *
count_documents(char **paths, int npaths, struct terms *t, struct bm25 *s)
{
	struct stream	*st;
	struct record	 r;
	struct header	 h;
	struct writer	*w;
	struct counted	 c;
	const char	*tmpdir;
	char		*path, num[32];
	FILE		*fp;
	size_t		 n;
	int		 f, fd;

	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	n = strlen(tmpdir) + sizeof("/ds-sparse.XXXXXX");
	path = xmalloc(n);
	snprintf(path, n, "%s/ds-sparse.XXXXXX", tmpdir);
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		err(EX_IOERR, "%s", path);
	spool_path = path;

	memset(&h, 0, sizeof(h));
	memset(&c, 0, sizeof(c));
	record_init(&r);
	header_set(&h, "kind", "sparse");
	w = writer_open(fp, 1, &h);
	for (f = 0; f < npaths; f++) {
		if ((st = open_input(paths[f], KIND_TEXT)) == NULL)
			continue;
		while (next_record(st, &r) == 1) {
			count_terms(t, r.text.s, r.text.len, &c);
			bm25_add(s, c.uniq, c.n, c.len);
			/* The length rides as the last payload field. */
			snprintf(num, sizeof(num), "%" PRIu64, c.len);
			record_add_payload(&r, num, strlen(num));
			record_set_sparse(&r, c.uniq, c.w, c.n);
			if (writer_write(w, &r) == -1)
				err(EX_IOERR, "%s", path);
		}
		stream_close(st);
	}
	if (writer_close(w) == -1 || fclose(fp) == EOF)
		err(EX_IOERR, "%s", path);
	header_free(&h);
	record_free(&r);
	terms_list_free(&c.list);
	free(c.uniq);
	free(c.w);
	return path;
}

/* Second pass: weigh the spooled counts with the final statistics. */
static void
weigh_documents(const char *spool, const struct options *o, struct terms *t,
    const struct bm25 *s)
{
	struct stream_opts sopts = { KIND_SPARSE, 0 };
	struct stream	*st;
	struct record	 r;
	struct header	 h;
	struct writer	*w;
	const char	*errstr;
	double		 len;
	int		 status;

	if ((st = stream_open(spool, &sopts, &errstr, &status)) == NULL)
		errx(status, "%s", errstr);
	memset(&h, 0, sizeof(h));
	record_init(&r);
	make_header(&h, o, t, s);
	w = writer_open(stdout, o->binary, &h);
	while (next_record(st, &r) == 1) {
		r.npayload--;
		len = strtod(r.payload[r.npayload].s, NULL);
		bm25_weigh(s, r.idx, r.val, r.nnz, len, o->k1, o->b);
		emit(w, &r, r.idx, r.val, r.nnz, o, t);
	}
	if (writer_close(w) == -1)
		err(EX_IOERR, "stdout");
	stream_close(st);
	header_free(&h);
	record_free(&r);
}

static void
save_stats(const char *path, const struct bm25 *s, struct terms *t)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL)
		err(EX_CANTCREAT, "%s", path);
	if (bm25_save(s, fp, t) == -1 || fclose(fp) == EOF)
		err(EX_IOERR, "%s", path);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "b",		required_argument,	NULL, 'B' },
		{ "binary",	no_argument,		NULL, 'b' },
		{ "explain",	no_argument,		NULL, 'e' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "k1",		required_argument,	NULL, 'k' },
		{ "query",	no_argument,		NULL, 'q' },
		{ "stats",	required_argument,	NULL, 's' },
		{ "terms",	required_argument,	NULL, 'T' },
		{ "tsv",	no_argument,		NULL, 't' },
		{ "update",	no_argument,		NULL, 'u' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	struct options	 o = { TERMS_QWEN3, 1.2, 0.75, 0, 0, 0, -1, NULL };
	struct terms	*t;
	struct bm25	 s;
	const char	*errstr;
	char		*stdin_only[] = { "-" }, *spool;
	int		 ch, status;

	while ((ch = getopt_long(argc, argv, "B:behk:qs:T:tuV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'B':
			o.b = real_parse(optarg, 0, 1, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-B %s: %s", optarg, errstr);
			break;
		case 'b':
			o.binary = 1;
			break;
		case 'e':
			o.explain = 1;
			break;
		case 'h':
			usage(stdout, 0);
		case 'k':
			o.k1 = real_parse(optarg, 0, 1000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-k %s: %s", optarg, errstr);
			break;
		case 'q':
			o.query = 1;
			break;
		case 's':
			o.stats = optarg;
			break;
		case 'T':
			if (strcmp(optarg, "qwen3") == 0)
				o.terms = TERMS_QWEN3;
			else if (strcmp(optarg, "words") == 0)
				o.terms = TERMS_WORDS;
			else
				errx(EX_USAGE, "-T %s: expected qwen3 or words",
				    optarg);
			break;
		case 't':
			o.binary = 0;
			break;
		case 'u':
			o.update = 1;
			break;
		case 'V':
			return util_version("ds-sparse");
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		argc = 1;
		argv = stdin_only;
	}
	if (o.query && o.stats == NULL)
		errx(EX_USAGE, "-q needs the documents' statistics: -s FILE");
	if (o.update && (o.query || o.stats == NULL))
		errx(EX_USAGE, "-u updates a statistics file: give -s FILE "
		    "without -q");

	t = open_terms(o.terms);
	bm25_init(&s, o.terms, terms_space(t));
	if ((o.query || o.update) &&
	    bm25_load(&s, o.stats, t, &errstr, &status) == -1)
		errx(status, "%s", errstr);
	if (o.query)
		queries(argv, argc, &o, t, &s);
	else {
		atexit(remove_spool);
		spool = count_documents(argv, argc, t, &s);
		if (o.stats != NULL)
			save_stats(o.stats, &s, t);
		weigh_documents(spool, &o, t, &s);
	}
	bm25_free(&s);
	terms_close(t);
	if (ferror(stdout) || fclose(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return exit_status;
}
