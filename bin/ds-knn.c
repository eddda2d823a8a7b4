/*
 * ds-knn: write the k nearest index records of each query, exactly:
 * dense vectors through blocked matrix multiplies, sparse vectors through
 * an inverted index.  Also kNN classification (with an evaluation of its
 * accuracy), exact merging of per-shard results, and fusion of result
 * lists from different searches.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "knn.h"
#include "mat.h"
#include "numfmt.h"
#include "results.h"
#include "sparse_index.h"
#include "stream.h"
#include "util.h"

/* Queries gathered before each dense search (fewer when k is large). */
static size_t		 query_chunk = 1024;

static struct {
	size_t		 k;
	enum knn_metric	 metric;
	int		 metric_set;
	int		 has_limit;
	double		 limit;
	int		 self, force, classify, eval, weighted, timing;
	int		 threads;
} opt;

/* The index: vectors in one of two forms, and what each row carries. */
static struct {
	const char		*name;
	enum stream_kind	 kind;
	struct header		 header;
	struct knn_index	 dense;
	struct sparse_index	 sparse;
	size_t			 n, dim;
	/*
	 * Row i: escaped id and payload (TAB-joined) at offsets i, i + 1.
	 * Fresh memory is dear on some virtual machines, so pl_off stays
	 * NULL until a row has a payload, and label without --classify.
	 */
	char			*ids, *pls;
	size_t			 ids_len, ids_cap, pls_len, pls_cap;
	size_t			*id_off, *pl_off;
	size_t			*label;	/* --classify: label numbers */
} ix;

static struct strtab	 labels;
static struct classify_eval evaluation;
static double		 search_seconds, search_cpu;
static size_t		 nqueries;
static int		 status;

/* Queries waiting for a dense search. */
static struct {
	float	*vec;
	size_t	 n;
	char	*ids;
	size_t	 ids_len, ids_cap;
	size_t	*id_off, *truth;
	uint64_t *self;
} batch;

/* Results of the last search: query_chunk x k. */
static uint64_t	*res_id;
static float	*res_score;
static size_t	*res_n;
static double	*vote_scratch;

static _Noreturn void
usage(FILE *fp, int code)
{
	fprintf(fp, "usage: ds-knn [-cefStV] [-d dist] [-j threads] [-k n] "
	    "[-m metric] [-s score] [-w vote] index [query ...]\n"
	    "       ds-knn -F rrf|sum [-W weights] [-k n] [-m metric] "
	    "[results ...]\n"
	    "       ds-knn -M [-k n] [-m metric] [results ...]\n");
	exit(code);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Processor time of all threads so far, for --timing on a busy machine. */
static double
cpu_now(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static void
write_error(void)
{
	err(EX_IOERR, "stdout");
}

/* Append bytes to a growing pool, NUL-terminated. */
static void
pool_put(char **pool, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = 2 * (*len + n + 1);
		*pool = xreallocarray(*pool, *cap, 1);
	}
	memcpy(*pool + *len, s, n);
	*len += n;
	(*pool)[*len] = '\0';
}

/* Keep a row's escaped id and payload, and its label for --classify. */
static void
index_add_meta(const struct record *r)
{
	static size_t	 cap;
	size_t		 i;

	if (ix.n + 2 > cap) {
		cap = 2 * (ix.n + 2);
		ix.id_off = xreallocarray(ix.id_off, cap, sizeof(*ix.id_off));
		if (ix.pl_off != NULL)
			ix.pl_off = xreallocarray(ix.pl_off, cap,
			    sizeof(*ix.pl_off));
		if (opt.classify)
			ix.label = xreallocarray(ix.label, cap,
			    sizeof(*ix.label));
	}
	if (ix.n == 0)
		ix.id_off[0] = 0;
	results_escape(&ix.ids, &ix.ids_len, &ix.ids_cap, r->id.s, r->id.len);
	ix.id_off[ix.n + 1] = ix.ids_len;
	if (r->npayload > 0 && ix.pl_off == NULL)
		/* The rows so far had none. */
		ix.pl_off = xcalloc(cap, sizeof(*ix.pl_off));
	for (i = 0; i < r->npayload; i++) {
		if (i > 0)
			pool_put(&ix.pls, &ix.pls_len, &ix.pls_cap, "\t", 1);
		results_escape(&ix.pls, &ix.pls_len, &ix.pls_cap,
		    r->payload[i].s, r->payload[i].len);
	}
	if (ix.pl_off != NULL)
		ix.pl_off[ix.n + 1] = ix.pls_len;
	if (opt.classify) {
		if (r->npayload == 0)
			errx(EX_DATAERR, "%s:%ju: no label (--classify reads "
			    "the first payload field)", ix.name, r->line);
		ix.label[ix.n] = strtab_add(&labels, r->payload[0].s);
	}
}

/*
 * The most rows of dim floats a stream can hold, from its file's size: a
 * binary frame holds at least 4 bytes a float, a TSV line at least 2.  The
 * matrix is reserved at this size once, so that it never moves while it
 * is read; pages never written cost no memory.  Pipes start small.
 */
static size_t
rows_bound(const char *path, struct stream *s, size_t dim)
{
	struct stat	 sb;
	size_t		 per_row = (stream_is_binary(s) ? 4 : 2) * (dim > 0 ?
			    dim : 1);

	if (strcmp(path, "-") == 0 || stat(path, &sb) == -1 ||
	    !S_ISREG(sb.st_mode) || sb.st_size <= 0)
		return 1024;
	return (size_t)sb.st_size / per_row + 1;
}

/*
 * Read the whole index: dense rows into one float32 matrix, or, from a
 * regular file in binary form, only where each row lies in the file: the
 * search reads the rows from there (see knn_index_init_file).
 */
static void
load_index(const char *path)
{
	struct stream_opts	 so = { 0 };
	struct stream		*s;
	struct record		 r;
	struct stat		 sb;
	const char		*errstr;
	float			*data = NULL;
	uint64_t		*off = NULL;
	size_t			 cap = 0;
	int			 st, rc, fd = -1, in_file = 0;
	FILE			*fp = NULL;
	double			 t0 = now();

	ix.name = path;
	if (strcmp(path, "-") != 0) {
		/* One open file for the stream and for the search. */
		if ((fd = open(path, O_RDONLY)) == -1)
			errx(EX_NOINPUT, "%s: %s", path, strerror(errno));
		if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    !host_little_endian()) {
			close(fd);
			fd = -1;
		} else if ((fp = fdopen(dup(fd), "r")) == NULL)
			err(EX_OSERR, "%s", path);
	}
	if ((s = fp != NULL ? stream_fopen(fp, path, &so, &errstr, &st) :
	    stream_open(path, &so, &errstr, &st)) == NULL)
		errx(st, "%s", errstr);
	ix.name = xstrdup(stream_name(s));
	record_init(&r);
	sparse_index_init(&ix.sparse);
	while ((rc = stream_read(s, &r, &errstr, &st)) == 1) {
		if (ix.n == 0) {
			ix.kind = r.kind;
			if (r.kind == KIND_TEXT)
				errx(EX_DATAERR, "%s:%ju: a text record: the "
				    "index must hold dense or sparse vectors",
				    ix.name, r.line);
			ix.dim = r.dim;
		} else if (r.kind != ix.kind)
			errx(EX_DATAERR, "%s:%ju: a %s record in a %s index",
			    ix.name, r.line, kind_name(r.kind),
			    kind_name(ix.kind));
		if (r.kind == KIND_DENSE) {
			if (r.dim != ix.dim)
				errx(EX_DATAERR, "%s:%ju: expected %zu floats, "
				    "found %zu", ix.name, r.line, ix.dim, r.dim);
			if (ix.n == 0) {
				in_file = fd != -1 && stream_is_binary(s);
				cap = rows_bound(path, s, ix.dim);
				if (in_file)
					off = xreallocarray(NULL, cap,
					    sizeof(*off));
				else
					data = knn_alloc(cap, ix.dim);
			} else if (ix.n == cap) {
				cap *= 2;
				if (in_file)
					off = xreallocarray(off, cap,
					    sizeof(*off));
				else
					data = xreallocarray(data, cap,
					    ix.dim * sizeof(*data));
			}
			if (in_file)
				off[ix.n] = stream_body_offset(s);
			else
				memcpy(data + ix.n * ix.dim, r.vec,
				    ix.dim * sizeof(*data));
		} else if (sparse_index_add(&ix.sparse, r.idx, r.val, r.nnz,
		    &errstr) == -1)
			errx(EX_DATAERR, "%s:%ju: %s", ix.name, r.line, errstr);
		index_add_meta(&r);
		ix.n++;
	}
	if (rc == -1)
		errx(st, "%s", errstr);
	if (ix.n == 0)
		errx(EX_DATAERR, "%s: empty index: no records", ix.name);
	if (data != NULL && ix.n < cap)
		data = xreallocarray(data, ix.n, ix.dim * sizeof(*data));
	memset(&ix.header, 0, sizeof(ix.header));
	header_copy(&ix.header, stream_header(s));
	stream_close(s);
	if (fp != NULL)
		fclose(fp);
	record_free(&r);

	if (!opt.metric_set)
		opt.metric = ix.kind == KIND_SPARSE ? KNN_DOT : KNN_COS;
	if (in_file)
		knn_index_init_file(&ix.dense, fd, off, ix.n, ix.dim,
		    opt.metric);
	else {
		if (fd != -1)
			close(fd);
		if (ix.kind == KIND_DENSE)
			knn_index_init(&ix.dense, data, ix.n, ix.dim,
			    opt.metric);
		else
			sparse_index_build(&ix.sparse, opt.metric);
	}
	if (opt.timing)
		fprintf(stderr, "ds-knn: %s: %zu %s rows read in %.3f s\n",
		    ix.name, ix.n, kind_name(ix.kind), now() - t0);
}

/* Write the results of query q (escaped id qid), or its vote. */
static void
write_results(const char *qid, size_t truth, const uint64_t *id,
    const float *score, size_t n)
{
	char	 buf[NUMFMT_FLOAT_MAX + 1];
	size_t	 i, row, best, lab[1024];
	double	 w[1024], conf = 0;
	size_t	*labp = lab;
	double	*wp = w;

	if (!opt.classify) {
		for (i = 0; i < n; i++) {
			row = id[i];
			numfmt_float(buf, score[i]);
			if (printf("%s\t%zu\t%.*s\t%s", qid, i + 1,
			    (int)(ix.id_off[row + 1] - ix.id_off[row]),
			    ix.ids + ix.id_off[row], buf) < 0)
				write_error();
			if (ix.pl_off != NULL &&
			    ix.pl_off[row + 1] > ix.pl_off[row] &&
			    printf("\t%.*s", (int)(ix.pl_off[row + 1] -
			    ix.pl_off[row]), ix.pls + ix.pl_off[row]) < 0)
				write_error();
			if (putchar('\n') == EOF)
				write_error();
		}
		return;
	}
	if (n > 1024) {
		labp = xreallocarray(NULL, n, sizeof(*labp));
		wp = xreallocarray(NULL, n, sizeof(*wp));
	}
	for (i = 0; i < n; i++) {
		labp[i] = ix.label[id[i]];
		/* Similarity counts as it is; a distance d as 1 / (1 + d). */
		if (opt.metric == KNN_L2)
			wp[i] = 1 / (1 + (double)score[i]);
		else
			wp[i] = score[i] > 0 ? score[i] : 0;
	}
	best = classify_vote(labp, wp, n, opt.weighted, vote_scratch, &conf);
	if (printf("%s\t", qid) < 0)
		write_error();
	if (best != (size_t)-1) {
		numfmt_float(buf, (float)conf);
		if (results_put_field(stdout, labels.str[best],
		    strlen(labels.str[best])) == -1 ||
		    printf("\t%s\n", buf) < 0)
			write_error();
	} else if (printf("\t0\n") < 0)
		write_error();
	if (opt.eval)
		classify_eval_add(&evaluation, truth, best);
	if (labp != lab) {
		free(labp);
		free(wp);
	}
}

/* The scratch space a vote needs, sized for every label known so far. */
static void
grow_vote_scratch(void)
{
	static size_t	 cap;

	if (labels.n + 1 > cap) {
		cap = 2 * (labels.n + 1);
		vote_scratch = xreallocarray(vote_scratch, cap,
		    sizeof(*vote_scratch));
	}
}

/* Search the dense queries waiting in the batch, then write them. */
static void
flush_batch(void)
{
	struct knn_opts	 o = { 0 };
	size_t		 i;
	double		 t0, c0;

	if (batch.n == 0)
		return;
	o.k = opt.k;
	o.threads = opt.threads;
	o.has_limit = opt.has_limit;
	o.limit = opt.limit;
	o.self = opt.self ? batch.self : NULL;
	t0 = now();
	c0 = cpu_now();
	/* Under --self the queries are index rows, read as the index is. */
	if ((opt.self && knn_index_rows(&ix.dense, batch.self[0], batch.n,
	    batch.vec) == -1) || knn_search(&ix.dense, batch.vec, batch.n, &o,
	    res_id, res_score, res_n) == -1)
		err(EX_IOERR, "%s", ix.name);
	search_seconds += now() - t0;
	search_cpu += cpu_now() - c0;
	nqueries += batch.n;
	grow_vote_scratch();
	for (i = 0; i < batch.n; i++) {
		write_results(batch.ids + batch.id_off[i], batch.truth[i],
		    res_id + i * opt.k, res_score + i * opt.k, res_n[i]);
	}
	batch.n = 0;
	batch.ids_len = 0;
}

/* Queue one query: its escaped id, and its true label for --eval. */
static void
batch_add_id(const char *qid, size_t len, size_t truth)
{
	batch.id_off[batch.n] = batch.ids_len;
	pool_put(&batch.ids, &batch.ids_len, &batch.ids_cap, qid, len);
	/* Keep the NUL: each id is a string of its own. */
	batch.ids_len++;
	batch.truth[batch.n] = truth;
}

/* The label number of a query's first payload field, for --eval. */
static size_t
query_truth(const struct record *r, const char *name)
{
	if (!opt.eval)
		return 0;
	if (r->npayload == 0)
		errx(EX_DATAERR, "%s:%ju: no true label (--eval reads the "
		    "first payload field)", name, r->line);
	return strtab_add(&labels, r->payload[0].s);
}

/* Search one sparse query (escaped id qid) and write its results. */
static void
search_sparse_one(const char *qid, size_t truth, const uint32_t *idx,
    const float *val, size_t nnz, uint64_t self)
{
	struct knn_opts	 o = { 0 };
	size_t		 n;
	double		 t0;

	o.k = opt.k;
	o.has_limit = opt.has_limit;
	o.limit = opt.limit;
	t0 = now();
	n = sparse_index_search(&ix.sparse, idx, val, nnz, &o, self, res_id,
	    res_score);
	search_seconds += now() - t0;
	nqueries++;
	grow_vote_scratch();
	write_results(qid, truth, res_id, res_score, n);
}

/* Check a query stream's header against the index's. */
static void
check_header(struct stream *s)
{
	const char	*why;

	if (header_compatible(&ix.header, stream_header(s), &why) == 0)
		return;
	if (!opt.force)
		errx(EX_DATAERR, "%s and %s do not match: %s (--force to "
		    "search anyway)", ix.name, stream_name(s), why);
	warnx("%s and %s do not match: %s (searching anyway: --force)",
	    ix.name, stream_name(s), why);
}

static void
search_file(const char *path)
{
	struct stream_opts	 so = { 0 };
	struct stream		*s;
	struct record		 r;
	const char		*errstr, *name;
	char			*qid = NULL;
	size_t			 truth, qlen, qcap = 0;
	int			 st, rc, first = 1;

	if ((s = stream_open(path, &so, &errstr, &st)) == NULL) {
		if (st != EX_NOINPUT)
			errx(st, "%s", errstr);
		warnx("%s", errstr);
		status = EX_NOINPUT;
		return;
	}
	name = stream_name(s);
	record_init(&r);
	while ((rc = stream_read(s, &r, &errstr, &st)) == 1) {
		if (first) {
			check_header(s);
			first = 0;
		}
		if (r.kind != ix.kind)
			errx(EX_DATAERR, "%s:%ju: a %s query for a %s index",
			    name, r.line, kind_name(r.kind),
			    kind_name(ix.kind));
		truth = query_truth(&r, name);
		qlen = 0;
		results_escape(&qid, &qlen, &qcap, r.id.s, r.id.len);
		if (r.kind == KIND_SPARSE) {
			search_sparse_one(qid, truth, r.idx, r.val, r.nnz,
			    UINT64_MAX);
			continue;
		}
		if (r.dim != ix.dim)
			errx(EX_DATAERR, "%s:%ju: expected %zu floats, found "
			    "%zu", name, r.line, ix.dim, r.dim);
		memcpy(batch.vec + batch.n * ix.dim, r.vec,
		    ix.dim * sizeof(float));
		knn_prepare_queries(batch.vec + batch.n * ix.dim, 1, ix.dim,
		    opt.metric);
		batch_add_id(qid, qlen, truth);
		if (++batch.n == query_chunk)
			flush_batch();
	}
	if (rc == -1)
		errx(st, "%s", errstr);
	if (first)
		check_header(s);
	flush_batch();
	free(qid);
	record_free(&r);
	stream_close(s);
}

/* Every index row as a query, leaving itself out. */
static void
search_self(void)
{
	size_t	 i, len;
	char	*id;

	for (i = 0; i < ix.n; i++) {
		id = ix.ids + ix.id_off[i];
		len = ix.id_off[i + 1] - ix.id_off[i];
		if (ix.kind == KIND_SPARSE) {
			char	*qid = xstrndup(id, len);

			search_sparse_one(qid, opt.classify ? ix.label[i] : 0,
			    ix.sparse.idx + ix.sparse.row[i],
			    ix.sparse.val + ix.sparse.row[i],
			    ix.sparse.row[i + 1] - ix.sparse.row[i], i);
			free(qid);
			continue;
		}
		batch_add_id(id, len, opt.classify ? ix.label[i] : 0);
		batch.self[batch.n] = i;
		if (++batch.n == query_chunk)
			flush_batch();
	}
	flush_batch();
}

/* --merge and --fuse: read result lists, write one. */
static int
combine(int argc, char **argv, int fuse, enum results_fusion how,
    const double *weight, size_t nweights)
{
	struct results_set	 rs;
	const char		*errstr;
	FILE			*fp;
	int			 i, st, ascending = opt.metric == KNN_L2, rc;

	if (weight != NULL && nweights != (size_t)(argc > 0 ? argc : 1))
		errx(EX_USAGE, "--weights: %zu weights for %d result lists",
		    nweights, argc > 0 ? argc : 1);
	results_set_init(&rs);
	for (i = 0; i < (argc > 0 ? argc : 1); i++) {
		if (argc == 0 || strcmp(argv[i], "-") == 0) {
			rc = results_read(&rs, stdin, "stdin", &errstr, &st);
		} else if ((fp = fopen(argv[i], "r")) == NULL) {
			warn("%s", argv[i]);
			status = EX_NOINPUT;
			continue;
		} else {
			rc = results_read(&rs, fp, argv[i], &errstr, &st);
			fclose(fp);
		}
		if (rc == -1)
			errx(st, "%s", errstr);
	}
	if (fuse)
		rc = results_fuse(&rs, how, weight, opt.k, ascending, stdout);
	else
		rc = results_merge(&rs, opt.k, ascending, stdout);
	if (rc == -1)
		write_error();
	results_set_free(&rs);
	return status;
}

/* Parse --weights a,b,...: finite, not negative. */
static double *
parse_weights(const char *arg, size_t *n)
{
	char		*copy = xstrdup(arg), *w = copy, *comma;
	double		*out = NULL;
	const char	*errstr;

	*n = 0;
	for (;;) {
		if ((comma = strchr(w, ',')) != NULL)
			*comma = '\0';
		out = xreallocarray(out, *n + 1, sizeof(*out));
		out[(*n)++] = real_parse(w, 0, 1e300, &errstr);
		if (errstr != NULL)
			errx(EX_USAGE, "--weights %s: %s: %s", arg, w, errstr);
		if (comma == NULL)
			break;
		w = comma + 1;
	}
	free(copy);
	return out;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "classify",	no_argument,		NULL, 'c' },
		{ "max-dist",	required_argument,	NULL, 'd' },
		{ "eval",	no_argument,		NULL, 'e' },
		{ "force",	no_argument,		NULL, 'f' },
		{ "fuse",	required_argument,	NULL, 'F' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "threads",	required_argument,	NULL, 'j' },
		{ "metric",	required_argument,	NULL, 'm' },
		{ "merge",	no_argument,		NULL, 'M' },
		{ "min-score",	required_argument,	NULL, 's' },
		{ "self",	no_argument,		NULL, 'S' },
		{ "timing",	no_argument,		NULL, 't' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "vote",	required_argument,	NULL, 'w' },
		{ "weights",	required_argument,	NULL, 'W' },
		{ NULL,		0,			NULL, 0 }
	};
	enum results_fusion	 how = FUSE_RRF;
	const char		*errstr;
	double			*weight = NULL;
	size_t			 nweights = 0;
	long			 ncpu;
	int			 ch, i, merge = 0, fuse = 0, dist_set = 0;
	int			 score_set = 0;

	opt.k = 10;
	opt.weighted = 1;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	opt.threads = ncpu > 0 && ncpu < 256 ? (int)ncpu : 1;
	while ((ch = getopt_long(argc, argv, "cd:efF:hj:k:m:Ms:StVw:W:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt.classify = 1;
			break;
		case 'd':
			opt.limit = real_parse(optarg, 0, 1e300, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--max-dist %s: %s", optarg,
				    errstr);
			opt.has_limit = dist_set = 1;
			break;
		case 'e':
			opt.eval = opt.classify = 1;
			break;
		case 'f':
			opt.force = 1;
			break;
		case 'F':
			fuse = 1;
			if (strcmp(optarg, "rrf") == 0)
				how = FUSE_RRF;
			else if (strcmp(optarg, "sum") == 0)
				how = FUSE_SUM;
			else
				errx(EX_USAGE, "--fuse %s: not rrf or sum",
				    optarg);
			break;
		case 'h':
			usage(stdout, 0);
		case 'j':
			opt.threads = (int)num_parse(optarg, 1, 256, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-j %s: %s", optarg, errstr);
			break;
		case 'k':
			opt.k = (size_t)num_parse(optarg, 1, 1 << 20, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-k %s: %s", optarg, errstr);
			break;
		case 'm':
			if (knn_metric_parse(optarg, &opt.metric) == -1)
				errx(EX_USAGE, "--metric %s: not cos, dot or "
				    "l2", optarg);
			opt.metric_set = 1;
			break;
		case 'M':
			merge = 1;
			break;
		case 's':
			opt.limit = real_parse(optarg, -1e300, 1e300, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--min-score %s: %s", optarg,
				    errstr);
			opt.has_limit = score_set = 1;
			break;
		case 'S':
			opt.self = 1;
			break;
		case 't':
			opt.timing = 1;
			break;
		case 'V':
			return util_version("ds-knn");
		case 'w':
			if (strcmp(optarg, "weighted") == 0)
				opt.weighted = 1;
			else if (strcmp(optarg, "majority") == 0)
				opt.weighted = 0;
			else
				errx(EX_USAGE, "--vote %s: not weighted or "
				    "majority", optarg);
			break;
		case 'W':
			free(weight);
			weight = parse_weights(optarg, &nweights);
			break;
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (merge && fuse)
		errx(EX_USAGE, "--merge and --fuse exclude each other");
	if (weight != NULL && !fuse)
		errx(EX_USAGE, "--weights goes with --fuse");
	if (dist_set && score_set)
		errx(EX_USAGE, "--min-score and --max-dist exclude each other");
	if (merge || fuse) {
		status = combine(argc, argv, fuse, how, weight, nweights);
		free(weight);
		goto out;
	}
	if (argc == 0)
		usage(stderr, EX_USAGE);
	if (opt.self && argc > 1)
		errx(EX_USAGE, "--self takes the index alone, no queries");

	/* The search brings its own threads: BLAS's idle ones stop now. */
	mat_single_threaded();
	load_index(argv[0]);
	if (dist_set && opt.metric != KNN_L2)
		errx(EX_USAGE, "--max-dist goes with --metric l2 "
		    "(--min-score for %s)", knn_metric_name(opt.metric));
	if (score_set && opt.metric == KNN_L2)
		errx(EX_USAGE, "--min-score goes with cos or dot "
		    "(--max-dist for l2)");

	if (opt.k > ix.n)
		opt.k = ix.n;
	if (opt.k > ((size_t)1 << 22) / query_chunk)
		query_chunk = ((size_t)1 << 22) / opt.k > 0 ?
		    ((size_t)1 << 22) / opt.k : 1;
	res_id = xreallocarray(NULL, query_chunk, opt.k * sizeof(*res_id));
	res_score = xreallocarray(NULL, query_chunk, opt.k *
	    sizeof(*res_score));
	res_n = xreallocarray(NULL, query_chunk, sizeof(*res_n));
	if (ix.kind == KIND_DENSE)
		batch.vec = xreallocarray(NULL, query_chunk, ix.dim *
		    sizeof(float));
	batch.id_off = xreallocarray(NULL, query_chunk + 1,
	    sizeof(*batch.id_off));
	batch.truth = xreallocarray(NULL, query_chunk, sizeof(*batch.truth));
	batch.self = xreallocarray(NULL, query_chunk, sizeof(*batch.self));
	if (opt.eval)
		classify_eval_init(&evaluation);

	if (opt.self)
		search_self();
	else if (argc == 1)
		search_file("-");
	for (i = 1; i < argc; i++)
		search_file(argv[i]);

	if (opt.timing && ix.kind == KIND_DENSE)
		fprintf(stderr, "ds-knn: %zu queries searched in %.3f s "
		    "(%.1f GFLOP/s), %.3f s of processor time\n", nqueries,
		    search_seconds, search_seconds > 0 ? 2.0 * nqueries *
		    ix.n * ix.dim / search_seconds / 1e9 : 0, search_cpu);
	else if (opt.timing)
		fprintf(stderr, "ds-knn: %zu queries searched in %.3f s\n",
		    nqueries, search_seconds);
	if (fflush(stdout) == EOF)
		write_error();
	if (opt.eval) {
		if (classify_eval_report(&evaluation, &labels, stderr) == -1)
			err(EX_IOERR, "stderr");
		classify_eval_free(&evaluation);
	}

	if (ix.kind == KIND_DENSE)
		knn_index_free(&ix.dense);
	sparse_index_free(&ix.sparse);
	header_free(&ix.header);
	strtab_free(&labels);
	free(ix.ids);
	free(ix.pls);
	free(ix.id_off);
	free(ix.pl_off);
	free(ix.label);
	free((char *)ix.name);
	free(batch.vec);
	free(batch.ids);
	free(batch.id_off);
	free(batch.truth);
	free(batch.self);
	free(res_id);
	free(res_score);
	free(res_n);
	free(vote_scratch);
out:
	if (ferror(stdout) || fclose(stdout) == EOF)
		write_error();
	return status;
}
