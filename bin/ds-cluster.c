/*
 * ds-cluster: group the vectors of a record stream with k-means and print
 * each record's cluster, in input order: "id TAB cluster TAB score" and
 * the record's payload fields.  Also writes the centroids as a stream,
 * scores the clustering, describes and draws it, and runs one iteration
 * as a map step over a shard and a reduce step over the shards' sums.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cluster_eval.h"
#include "kmeans.h"
#include "mat.h"
#include "numfmt.h"
#include "pca.h"
#include "stream.h"
#include "svg.h"
#include "util.h"

/* Rows in the silhouette's sample (see the manual). */
#define SIL_SAMPLE	4096
/* The most points drawn in --plot. */
#define PLOT_MAX	20000
/* Records nearest the centroid and words shown per cluster by --describe. */
#define DESCRIBE_NEAR	3
#define DESCRIBE_WORDS	10
/* Rows per kmeans_partial call in --map. */
#define MAP_BLOCK	8192

struct options {
	size_t		 k;		/* 0: from --init-centroids */
	int		 k_auto;
	size_t		 k_lo, k_hi;
	int		 metric;	/* -1: from the header */
	enum kmeans_init init;
	int		 max_iter, max_iter_set;
	double		 tol;
	int		 restarts;
	uint64_t	 seed;
	int		 threads;
	size_t		 mini_batch;
	const char	*centroids_out;
	const char	*centroids_in;
	const char	*plot;
	int		 eval, silhouette, describe, map, reduce;
	int		 binary;	/* -1: DS_FORMAT */
	int		 verbose;
};

/* The records read: one matrix, and their ids and payloads as text. */
struct corpus {
	float		*x;		/* n x dim */
	size_t		 n, cap, dim;
	char		*text;		/* arena of NUL-terminated strings */
	size_t		 text_len, text_cap;
	size_t		*id_off;	/* id, escaped as in TSV */
	size_t		*pl_off;	/* "\tfield..." escaped, maybe "" */
	size_t		*label_off;	/* --eval: first payload field */
	size_t		*doc_off;	/* --describe: last payload field */
	struct header	 hdr;		/* of the first input */
	int		 have_hdr;
	char		*first_name;	/* the input the header came from */
};

static int	exit_status;
/* Wall time spent reading the records, for --verbose. */
static double	read_seconds;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static _Noreturn void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ds-cluster [-bdehMRSv] [-B batch] [-C file] "
	    "[-c file] [-i init] [-j threads] [-K lo:hi] [-k k|auto] "
	    "[-m metric] [-n max-iter] [-p file.svg] [-r restarts] [-s seed] "
	    "[-t tol] [file ...]\n");
	exit(status);
}

static const char *
metric_name(int metric)
{
	return metric == KMEANS_COS ? "cos" : "l2";
}

/* Append s[0..len) to the arena, TSV-escaped if escape, and a NUL. */
static size_t
arena_add(struct corpus *c, const char *s, size_t len, int escape,
    const char *prefix)
{
	size_t	 off, need, i;
	char	*p;

	need = c->text_len + strlen(prefix) + 2 * len + 1;
	if (need > c->text_cap) {
		while (c->text_cap < need)
			c->text_cap = c->text_cap ? 2 * c->text_cap : 1 << 16;
		c->text = xreallocarray(c->text, c->text_cap, 1);
	}
	off = c->text_len;
	p = c->text + off;
	p += strlen(strcpy(p, prefix));
	for (i = 0; i < len; i++) {
		if (escape && (s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
		    s[i] == '\\')) {
			*p++ = '\\';
			*p++ = s[i] == '\t' ? 't' : s[i] == '\n' ? 'n' :
			    s[i] == '\r' ? 'r' : '\\';
		} else
			*p++ = s[i];
	}
	*p++ = '\0';
	c->text_len = (size_t)(p - c->text);
	return off;
}

/* Extend the last string in the arena by s (escaped, after prefix). */
static void
arena_extend(struct corpus *c, const char *s, size_t len, const char *prefix)
{
	c->text_len--;		/* drop the NUL, then add again */
	arena_add(c, s, len, 1, prefix);
	/* arena_add returned a new offset; the string simply continues. */
}

static const char *
arena(const struct corpus *c, size_t off)
{
	return c->text + off;
}

static int
resolve_metric(const struct options *o, const struct header *h)
{
	const char	*norm;

	if (o->metric != -1)
		return o->metric;
	norm = header_get(h, "norm");
	return norm != NULL && strcmp(norm, "l2") == 0 ? KMEANS_COS :
	    KMEANS_L2;
}

static struct stream *
open_input(const char *path)
{
	struct stream_opts	 so;
	struct stream		*st;
	const char		*errstr;
	int			 status;

	memset(&so, 0, sizeof(so));
	so.expect = KIND_DENSE;
	if ((st = stream_open(path, &so, &errstr, &status)) == NULL) {
		if (status == EX_NOINPUT) {
			warnx("%s", errstr);
			exit_status = EX_NOINPUT;
			return NULL;
		}
		errx(status, "%s", errstr);
	}
	return st;
}

/*
 * Check that a stream's header agrees with the first input's, and that a
 * record is a dense vector of the corpus dim.
 */
static void
check_header(struct corpus *c, struct stream *st)
{
	const char	*errstr;

	if (!c->have_hdr) {
		header_copy(&c->hdr, stream_header(st));
		c->have_hdr = 1;
		c->first_name = xstrdup(stream_name(st));
		return;
	}
	if (header_compatible(&c->hdr, stream_header(st), &errstr) == -1)
		errx(EX_DATAERR, "%s: %s of %s", stream_name(st), errstr,
		    c->first_name);
}

static void
check_record(struct corpus *c, struct stream *st, const struct record *r)
{
	if (r->kind != KIND_DENSE)
		errx(EX_DATAERR, "%s:%ju: not a dense vector (kind=%s)",
		    stream_name(st), r->line, kind_name(r->kind));
	if (c->dim == 0)
		c->dim = r->dim;
	else if (r->dim != c->dim)
		errx(EX_DATAERR, "%s:%ju: expected %zu floats, found %zu",
		    stream_name(st), r->line, c->dim, r->dim);
}

static int
is_zero(const float *v, size_t dim)
{
	size_t	 i;

	for (i = 0; i < dim; i++)
		if (v[i] != 0)
			return 0;
	return 1;
}

/* Keep a record's id and payload (and label or text if asked). */
static void
keep_text(struct corpus *c, size_t i, const struct record *r,
    const struct options *o, struct stream *st)
{
	size_t	 f;

	c->id_off[i] = arena_add(c, r->id.s, r->id.len, 1, "");
	c->pl_off[i] = arena_add(c, "", 0, 1, "");
	for (f = 0; f < r->npayload; f++)
		arena_extend(c, r->payload[f].s, r->payload[f].len, "\t");
	if (o->eval) {
		if (r->npayload == 0)
			errx(EX_DATAERR, "%s:%ju: --eval needs a label as the "
			    "first payload field", stream_name(st), r->line);
		c->label_off[i] = arena_add(c, r->payload[0].s,
		    r->payload[0].len, 0, "");
	}
	if (o->describe) {
		f = r->npayload;
		c->doc_off[i] = f == 0 ? arena_add(c, "", 0, 0, "") :
		    arena_add(c, r->payload[f - 1].s, r->payload[f - 1].len,
		    0, "");
	}
}

/*
 * The next capacity of the corpus: double, or, in a file of known size,
 * what the bytes per record so far say the rest holds (and 5% more), so
 * that a large file needs one reallocation rather than many copies.
 */
static size_t
grow_to(const struct corpus *c, struct stream *st, double fsize,
    size_t first)
{
	double	 done, est;
	size_t	 cap;

	cap = c->cap ? 2 * c->cap : 1024;
	done = (double)stream_bytes(st);
	if (fsize > done && c->n > first && done > 0) {
		est = (double)c->n + (fsize - done) / (done /
		    (double)(c->n - first)) * 1.05 + 16;
		if (est > (double)cap && est < (double)SIZE_MAX / 2)
			cap = (size_t)est;
	}
	return cap;
}

/* Read every record of every input into one matrix. */
static void
read_corpus(char **files, int nfiles, const struct options *o,
    struct corpus *c, int *metric)
{
	struct stream	*st;
	struct record	 r;
	const char	*errstr;
	struct stat	 sb;
	double		 fsize;
	size_t		 first;
	int		 fi, rc, status;
	char		*stdin_name[] = { "-" };

	if (nfiles == 0) {
		files = stdin_name;
		nfiles = 1;
	}
	record_init(&r);
	*metric = -1;
	for (fi = 0; fi < nfiles; fi++) {
		if ((st = open_input(files[fi])) == NULL)
			continue;
		fsize = 0;
		if (strcmp(files[fi], "-") != 0 && stat(files[fi], &sb) == 0 &&
		    S_ISREG(sb.st_mode))
			fsize = (double)sb.st_size;
		first = c->n;
		check_header(c, st);
		if (*metric == -1)
			*metric = resolve_metric(o, &c->hdr);
		while ((rc = stream_read(st, &r, &errstr, &status)) == 1) {
			check_record(c, st, &r);
			if (*metric == KMEANS_COS && is_zero(r.vec, r.dim))
				errx(EX_DATAERR, "%s:%ju: zero vector has no "
				    "direction under --metric cos",
				    stream_name(st), r.line);
			if (c->cap == 0 && fsize > 0 && stream_is_binary(st)) {
				/*
				 * A binary frame holds at least 4 bytes a
				 * float: room for the whole file at once,
				 * in huge pages, backed by two threads
				 * before one fills it (see mat.h).
				 */
				c->cap = (size_t)(fsize / 4 / (double)c->dim) +
				    1;
				c->x = mat_alloc(c->cap, c->dim);
				mat_prefault(c->x, c->cap, c->dim);
				c->id_off = xreallocarray(NULL, c->cap,
				    sizeof(size_t));
				c->pl_off = xreallocarray(NULL, c->cap,
				    sizeof(size_t));
				if (o->eval)
					c->label_off = xreallocarray(NULL,
					    c->cap, sizeof(size_t));
				if (o->describe)
					c->doc_off = xreallocarray(NULL,
					    c->cap, sizeof(size_t));
			} else if (c->n == c->cap) {
				c->cap = grow_to(c, st, fsize, first);
				c->x = xreallocarray(c->x, c->cap,
				    c->dim * sizeof(float));
				c->id_off = xreallocarray(c->id_off, c->cap,
				    sizeof(size_t));
				c->pl_off = xreallocarray(c->pl_off, c->cap,
				    sizeof(size_t));
				if (o->eval)
					c->label_off = xreallocarray(
					    c->label_off, c->cap,
					    sizeof(size_t));
				if (o->describe)
					c->doc_off = xreallocarray(c->doc_off,
					    c->cap, sizeof(size_t));
			}
			memcpy(c->x + c->n * c->dim, r.vec,
			    c->dim * sizeof(float));
			keep_text(c, c->n, &r, o, st);
			c->n++;
		}
		if (rc == -1)
			errx(status, "%s", errstr);
		/* Headers may say dim only after the first record. */
		check_header(c, st);
		stream_close(st);
	}
	record_free(&r);
	if (*metric == -1)
		*metric = o->metric == -1 ? KMEANS_L2 : o->metric;
}

/*
 * Read centroids from path: a dense stream whose dim must be dim (0: any,
 * set from the file).  Returns k x dim floats and sets *k.
 */
static float *
read_centroids(const char *path, size_t *dim, size_t *k,
    const struct header *ref)
{
	struct stream	*st;
	struct record	 r;
	const char	*errstr;
	float		*c;
	size_t		 n, cap;
	int		 rc, status;

	if ((st = open_input(path)) == NULL)
		exit(EX_NOINPUT);
	if (ref != NULL &&
	    header_compatible(ref, stream_header(st), &errstr) == -1)
		errx(EX_DATAERR, "%s: %s (differs from the records)",
		    stream_name(st), errstr);
	record_init(&r);
	c = NULL;
	n = cap = 0;
	while ((rc = stream_read(st, &r, &errstr, &status)) == 1) {
		if (r.kind != KIND_DENSE)
			errx(EX_DATAERR, "%s:%ju: not a dense vector",
			    stream_name(st), r.line);
		if (*dim == 0)
			*dim = r.dim;
		if (r.dim != *dim)
			errx(EX_DATAERR, "%s:%ju: centroid has dim %zu, the "
			    "records have dim %zu", stream_name(st), r.line,
			    r.dim, *dim);
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			c = xreallocarray(c, cap, *dim * sizeof(float));
		}
		memcpy(c + n * *dim, r.vec, *dim * sizeof(float));
		n++;
	}
	if (rc == -1)
		errx(status, "%s", errstr);
	if (n == 0)
		errx(EX_DATAERR, "%s: no centroids", stream_name(st));
	stream_close(st);
	record_free(&r);
	*k = n;
	return c;
}

/* The header of a stream of centroids or partial sums. */
static void
out_header(struct header *h, const struct header *in, size_t dim,
    int metric)
{
	char	 buf[32];

	header_copy(h, in);
	header_set(h, "kind", "dense");
	snprintf(buf, sizeof(buf), "%zu", dim);
	header_set(h, "dim", buf);
	if (metric == KMEANS_COS)
		header_set(h, "norm", "l2");
	else
		header_unset(h, "norm");
	header_unset(h, "partial");
	header_unset(h, "metric");
}

static FILE *
open_output(const char *path)
{
	FILE	*fp;

	if (strcmp(path, "-") == 0)
		return stdout;
	if ((fp = fopen(path, "w")) == NULL)
		err(EX_CANTCREAT, "%s", path);
	return fp;
}

static void
close_output(FILE *fp, const char *path)
{
	if (fp == stdout)
		return;
	if (ferror(fp) || fclose(fp) == EOF)
		err(EX_IOERR, "%s", path);
}

static void
write_centroids(const char *path, const struct header *in, const float *c,
    size_t k, size_t dim, int metric, int binary)
{
	struct header	 h;
	struct writer	*w;
	struct record	 r;
	FILE		*fp;
	char		 id[32];
	size_t		 j;

	memset(&h, 0, sizeof(h));
	out_header(&h, in, dim, metric);
	fp = open_output(path);
	w = writer_open(fp, binary, &h);
	record_init(&r);
	for (j = 0; j < k; j++) {
		snprintf(id, sizeof(id), "c%zu", j);
		record_set_id(&r, id, strlen(id));
		record_set_dense(&r, c + j * dim, dim);
		if (writer_write(w, &r) == -1)
			err(EX_IOERR, "%s", path);
	}
	writer_close(w);
	record_free(&r);
	header_free(&h);
	if (fflush(fp) == EOF)
		err(EX_IOERR, "%s", path);
	close_output(fp, path);
}

static void
print_sizes(const size_t *sizes, size_t k)
{
	size_t	 j;

	fprintf(stderr, "ds-cluster: sizes");
	for (j = 0; j < k; j++)
		fprintf(stderr, " %zu", sizes[j]);
	fprintf(stderr, "\n");
}

/* Class numbers for the labels: distinct strings in byte order. */
static const struct corpus *sort_corpus;

static int
cmp_label(const void *a, const void *b)
{
	size_t	 x = *(const size_t *)a, y = *(const size_t *)b;
	int	 c;

	c = strcmp(arena(sort_corpus, sort_corpus->label_off[x]),
	    arena(sort_corpus, sort_corpus->label_off[y]));
	return c ? c : (x < y ? -1 : x > y);
}

static void
print_eval(const struct corpus *c, const struct kmeans *km)
{
	struct cluster_scores	 s;
	uint32_t		*label;
	size_t			*order, i, nlabel;

	order = xreallocarray(NULL, c->n, sizeof(size_t));
	label = xreallocarray(NULL, c->n, sizeof(uint32_t));
	for (i = 0; i < c->n; i++)
		order[i] = i;
	sort_corpus = c;
	qsort(order, c->n, sizeof(size_t), cmp_label);
	nlabel = 0;
	for (i = 0; i < c->n; i++) {
		if (i > 0 && strcmp(arena(c, c->label_off[order[i]]),
		    arena(c, c->label_off[order[i - 1]])) != 0)
			nlabel++;
		label[order[i]] = (uint32_t)nlabel;
	}
	nlabel++;
	cluster_eval_external(label, nlabel, km->assign, km->k, c->n, &s);
	fprintf(stderr, "ds-cluster: %zu classes: purity %.4f, NMI %.4f, "
	    "ARI %.4f\n", nlabel, s.purity, s.nmi, s.ari);
	free(order);
	free(label);
}

static void
print_describe(const struct corpus *c, const struct kmeans *km,
    int metric)
{
	const char	**docs;
	char		**terms;
	size_t		 *near, j, i, l, q, nn;
	float		  better;

	docs = xreallocarray(NULL, c->n, sizeof(char *));
	for (i = 0; i < c->n; i++)
		docs[i] = arena(c, c->doc_off[i]);
	terms = cluster_eval_terms(docs, km->assign, c->n, km->k,
	    DESCRIBE_WORDS);
	near = xreallocarray(NULL, km->k * DESCRIBE_NEAR, sizeof(size_t));
	for (j = 0; j < km->k * DESCRIBE_NEAR; j++)
		near[j] = SIZE_MAX;
	/* Keep the few nearest per cluster: higher cosine, lower distance. */
	for (i = 0; i < c->n; i++) {
		size_t	*nj = near + km->assign[i] * DESCRIBE_NEAR;

		for (l = 0; l < DESCRIBE_NEAR; l++) {
			if (nj[l] == SIZE_MAX)
				break;
			better = metric == KMEANS_COS ?
			    km->score[i] - km->score[nj[l]] :
			    km->score[nj[l]] - km->score[i];
			if (better > 0)
				break;
		}
		if (l == DESCRIBE_NEAR)
			continue;
		for (q = DESCRIBE_NEAR - 1; q > l; q--)
			nj[q] = nj[q - 1];
		nj[l] = i;
	}
	for (j = 0; j < km->k; j++) {
		fprintf(stderr, "cluster %zu: %zu records\n", j, km->sizes[j]);
		fprintf(stderr, "  words:");
		for (l = 0; l < DESCRIBE_WORDS; l++)
			if (terms[j * DESCRIBE_WORDS + l] != NULL)
				fprintf(stderr, " %s",
				    terms[j * DESCRIBE_WORDS + l]);
		fprintf(stderr, "\n");
		for (l = 0; l < DESCRIBE_NEAR; l++) {
			i = near[j * DESCRIBE_NEAR + l];
			if (i == SIZE_MAX)
				break;
			/* One line per record: the text up to 70 bytes. */
			nn = strcspn(docs[i], "\n");
			fprintf(stderr, "  %s: %.*s%s\n", arena(c,
			    c->id_off[i]), (int)(nn > 70 ? 70 : nn), docs[i],
			    nn > 70 ? "..." : "");
		}
	}
	cluster_eval_terms_free(terms, km->k, DESCRIBE_WORDS);
	free(near);
	free(docs);
}

static void
write_plot(const char *path, const struct corpus *c,
    const struct kmeans *km)
{
	struct pca	 p;
	struct svg_plot	 pl;
	const char	*errstr, **titles;
	float		*xy, *cxy, *sx;
	uint32_t	*sa;
	size_t		 m, i, r;
	char		 caption[160];
	FILE		*fp;

	if (pca_fit(&p, c->x, c->n, c->dim, c->dim >= 2 ? 2 : 1,
	    &errstr) == -1)
		errx(EX_SOFTWARE, "--plot: %s", errstr);
	/* At most PLOT_MAX rows, evenly spaced through the input. */
	m = c->n < PLOT_MAX ? c->n : PLOT_MAX;
	sx = xreallocarray(NULL, m, c->dim * sizeof(float));
	sa = xreallocarray(NULL, m, sizeof(uint32_t));
	titles = xreallocarray(NULL, m, sizeof(char *));
	for (i = 0; i < m; i++) {
		r = (size_t)((double)i * (double)c->n / (double)m);
		memcpy(sx + i * c->dim, c->x + r * c->dim,
		    c->dim * sizeof(float));
		sa[i] = km->assign[r];
		titles[i] = arena(c, c->id_off[r]);
	}
	xy = xcalloc(2 * m, sizeof(float));
	cxy = xcalloc(2 * km->k, sizeof(float));
	if (p.ncomp == 2) {
		pca_project(&p, sx, m, xy);
		pca_project(&p, km->centroids, km->k, cxy);
	} else {
		/* One dimension: a strip plot along x. */
		float	*t = xreallocarray(NULL, m > km->k ? m : km->k,
		    sizeof(float));

		pca_project(&p, sx, m, t);
		for (i = 0; i < m; i++)
			xy[2 * i] = t[i];
		pca_project(&p, km->centroids, km->k, t);
		for (i = 0; i < km->k; i++)
			cxy[2 * i] = t[i];
		free(t);
	}
	snprintf(caption, sizeof(caption), "k = %zu, %zu records (%zu "
	    "shown), first two principal axes", km->k, c->n, m);
	memset(&pl, 0, sizeof(pl));
	pl.xy = xy;
	pl.cluster = sa;
	pl.titles = titles;
	pl.n = m;
	pl.cxy = cxy;
	pl.sizes = km->sizes;
	pl.k = km->k;
	pl.caption = caption;
	if ((fp = fopen(path, "w")) == NULL)
		err(EX_CANTCREAT, "%s", path);
	if (svg_scatter(fp, &pl) == -1 || fclose(fp) == EOF)
		err(EX_IOERR, "%s", path);
	pca_free(&p);
	free(sx);
	free(sa);
	free(titles);
	free(xy);
	free(cxy);
}

/* One output line per record, in input order. */
static void
print_assignments(const struct corpus *c, const uint32_t *assign,
    const float *score, size_t n)
{
	char	 num[NUMFMT_FLOAT_MAX + 1];
	size_t	 i;

	for (i = 0; i < n; i++) {
		numfmt_float(num, score[i]);
		printf("%s\t%" PRIu32 "\t%s%s\n", arena(c, c->id_off[i]),
		    assign[i], num, arena(c, c->pl_off[i]));
	}
}

static void
print_summary(const struct corpus *c, const struct kmeans *km, int metric,
    const struct options *o)
{
	fprintf(stderr, "ds-cluster: %zu records, dim %zu, k %zu, metric %s, "
	    "%d iteration%s%s", c->n, c->dim, km->k, metric_name(metric),
	    km->iterations, km->iterations == 1 ? "" : "s",
	    km->converged ? " (converged)" : "");
	if (o->restarts > 1)
		fprintf(stderr, ", best of %d restarts (%d)", o->restarts,
		    km->best_restart + 1);
	fprintf(stderr, "\nds-cluster: objective %.9g\n", km->objective);
	print_sizes(km->sizes, km->k);
	if (o->verbose)
		fprintf(stderr, "ds-cluster: reading %.3f s, seeding %.3f s, "
		    "iterations %.3f s (%.2f ms each)\n", read_seconds,
		    km->seed_seconds, km->iter_seconds,
		    1e3 * km->iter_seconds / (km->iterations > 0 ?
		    km->iterations : 1));
	if (km->reseeded > 0)
		fprintf(stderr, "ds-cluster: %zu empty cluster%s re-seeded\n",
		    km->reseeded, km->reseeded == 1 ? "" : "s");
	if (km->empty > 0)
		warnx("%zu cluster%s still empty: fewer distinct records "
		    "than k?", km->empty, km->empty == 1 ? "" : "s");
}

static void
cluster(const struct corpus *c, const struct options *o, int metric,
    const float *init, struct kmeans *km)
{
	struct kmeans_opts	 ko;
	struct kmeans		 trial;
	const char		*errstr;
	double			 sil, best;
	size_t			 k, lo, hi;

	memset(&ko, 0, sizeof(ko));
	ko.metric = metric;
	ko.init = init ? KMEANS_INIT_GIVEN : o->init;
	ko.init_centroids = init;
	ko.max_iter = o->max_iter;
	ko.tol = o->tol;
	ko.restarts = o->restarts;
	ko.seed = o->seed;
	ko.threads = o->threads;
	if (!o->k_auto) {
		ko.k = o->k;
		if (o->k > c->n)
			errx(EX_DATAERR, "k (%zu) is larger than the number of "
			    "records (%zu)", o->k, c->n);
		if (kmeans_run(c->x, c->n, c->dim, &ko, km, &errstr) == -1)
			errx(EX_DATAERR, "%s", errstr);
		return;
	}
	lo = o->k_lo;
	hi = o->k_hi < c->n ? o->k_hi : c->n - 1;
	if (lo > hi)
		errx(EX_DATAERR, "-k auto: %zu records allow no k in %zu:%zu",
		    c->n, o->k_lo, o->k_hi);
	best = -2;
	memset(km, 0, sizeof(*km));
	for (k = lo; k <= hi; k++) {
		ko.k = k;
		if (kmeans_run(c->x, c->n, c->dim, &ko, &trial, &errstr) == -1)
			errx(EX_DATAERR, "%s", errstr);
		if (cluster_eval_silhouette(c->x, c->n, c->dim, trial.assign,
		    metric == KMEANS_COS, SIL_SAMPLE, &sil, &errstr) == -1)
			sil = -1;
		fprintf(stderr, "ds-cluster: k %zu: silhouette %.4f\n", k, sil);
		if (sil > best) {
			best = sil;
			kmeans_free(km);
			*km = trial;
		} else
			kmeans_free(&trial);
	}
	fprintf(stderr, "ds-cluster: chose k %zu\n", km->k);
}

/*
 * --map: one iteration's sums over this shard, streamed in blocks, as a
 * stream of per-cluster means with counts and objectives.
 */
static void
run_map(char **files, int nfiles, const struct options *o)
{
	struct corpus	 c;
	struct stream	*st;
	struct record	 r;
	struct header	 h;
	struct writer	*w;
	const char	*errstr;
	char		*stdin_name[] = { "-" }, buf[64];
	float		*cent, *block, *mean, *score;
	uint32_t	*assign;
	double		*sums, *objs, obj;
	uint64_t	*counts;
	size_t		 k, dim, nb, i, j, q;
	int		 fi, rc, status, metric;

	memset(&c, 0, sizeof(c));
	if (nfiles == 0) {
		files = stdin_name;
		nfiles = 1;
	}
	dim = 0;
	cent = read_centroids(o->centroids_in, &dim, &k, NULL);
	if (o->k != 0 && o->k != k)
		errx(EX_DATAERR, "%s: %zu centroids, not -k %zu",
		    o->centroids_in, k, o->k);
	c.dim = dim;
	block = xreallocarray(NULL, MAP_BLOCK, dim * sizeof(float));
	assign = xreallocarray(NULL, MAP_BLOCK, sizeof(uint32_t));
	score = xreallocarray(NULL, MAP_BLOCK, sizeof(float));
	sums = xcalloc(k * dim, sizeof(double));
	counts = xcalloc(k, sizeof(uint64_t));
	objs = xcalloc(k, sizeof(double));
	metric = -1;
	nb = 0;
	record_init(&r);
	for (fi = 0; fi < nfiles; fi++) {
		if ((st = open_input(files[fi])) == NULL)
			continue;
		check_header(&c, st);
		if (metric == -1) {
			metric = resolve_metric(o, &c.hdr);
			if (metric == KMEANS_COS &&
			    kmeans_normalize(cent, k, dim, &i) == -1)
				errx(EX_DATAERR, "%s: centroid c%zu is zero",
				    o->centroids_in, i);
		}
		for (;;) {
			rc = stream_read(st, &r, &errstr, &status);
			if (rc == 1) {
				check_record(&c, st, &r);
				memcpy(block + nb * dim, r.vec,
				    dim * sizeof(float));
				if (metric == KMEANS_COS && kmeans_normalize(
				    block + nb * dim, 1, dim, &i) == -1)
					errx(EX_DATAERR, "%s:%ju: zero vector "
					    "has no direction under --metric "
					    "cos", stream_name(st), r.line);
				nb++;
			}
			if (nb == MAP_BLOCK || (rc != 1 && nb > 0)) {
				obj = 0;
				kmeans_partial(block, nb, dim, cent, k, metric,
				    o->threads, sums, counts, &obj, assign,
				    score);
				for (q = 0; q < nb; q++)
					objs[assign[q]] += metric ==
					    KMEANS_COS ? 1 - score[q] :
					    (double)score[q] * score[q];
				nb = 0;
			}
			if (rc != 1)
				break;
		}
		if (rc == -1)
			errx(status, "%s", errstr);
		check_header(&c, st);
		stream_close(st);
	}
	record_free(&r);
	if (metric == -1)
		errx(exit_status ? exit_status : EX_NOINPUT, "no input");

	memset(&h, 0, sizeof(h));
	out_header(&h, &c.hdr, dim, metric);
	header_unset(&h, "norm");
	header_set(&h, "partial", "kmeans");
	header_set(&h, "metric", metric_name(metric));
	w = writer_open(stdout, o->binary, &h);
	mean = xreallocarray(NULL, dim, sizeof(float));
	for (j = 0; j < k; j++) {
		snprintf(buf, sizeof(buf), "c%zu", j);
		record_set_id(&r, buf, strlen(buf));
		record_clear_payload(&r);
		snprintf(buf, sizeof(buf), "%" PRIu64, counts[j]);
		record_add_payload(&r, buf, strlen(buf));
		snprintf(buf, sizeof(buf), "%.17g", objs[j]);
		record_add_payload(&r, buf, strlen(buf));
		for (i = 0; i < dim; i++)
			mean[i] = counts[j] ? (float)(sums[j * dim + i] /
			    (double)counts[j]) : 0;
		record_set_dense(&r, mean, dim);
		if (writer_write(w, &r) == -1)
			err(EX_IOERR, "stdout");
	}
	writer_close(w);
	record_free(&r);
	header_free(&h);
	header_free(&c.hdr);
	free(c.first_name);
	free(mean);
	free(cent);
	free(block);
	free(assign);
	free(score);
	free(sums);
	free(counts);
	free(objs);
}

/* Parse "cN" into N, or return -1. */
static long long
centroid_number(const char *id)
{
	const char	*errstr;
	long long	 j;

	if (id[0] != 'c')
		return -1;
	j = num_parse(id + 1, 0, 1 << 24, &errstr);
	return errstr ? -1 : j;
}

/* --reduce: add the shards' partial sums into new centroids. */
static void
run_reduce(char **files, int nfiles, const struct options *o)
{
	struct corpus	 c;
	struct stream	*st;
	struct record	 r;
	const char	*errstr, *v;
	char		*stdin_name[] = { "-" };
	float		*cent, *old;
	double		*sums, obj, ob;
	uint64_t	*counts, cnt;
	size_t		 k, dim, kold, i, total;
	long long	 j;
	int		 fi, rc, status, metric;

	memset(&c, 0, sizeof(c));
	if (nfiles == 0) {
		files = stdin_name;
		nfiles = 1;
	}
	k = 0;
	sums = NULL;
	counts = NULL;
	obj = 0;
	metric = -1;
	record_init(&r);
	for (fi = 0; fi < nfiles; fi++) {
		if ((st = open_input(files[fi])) == NULL)
			continue;
		if ((v = header_get(stream_header(st), "partial")) == NULL ||
		    strcmp(v, "kmeans") != 0)
			errx(EX_DATAERR, "%s: not partial sums from "
			    "ds-cluster --map (no partial=kmeans)",
			    stream_name(st));
		check_header(&c, st);
		v = header_get(stream_header(st), "metric");
		if (metric == -1)
			metric = v != NULL && strcmp(v, "cos") == 0 ?
			    KMEANS_COS : KMEANS_L2;
		while ((rc = stream_read(st, &r, &errstr, &status)) == 1) {
			check_record(&c, st, &r);
			if ((j = centroid_number(r.id.s)) == -1)
				errx(EX_DATAERR, "%s:%ju: id '%s' is not a "
				    "centroid number cN", stream_name(st),
				    r.line, r.id.s);
			if (r.npayload < 2)
				errx(EX_DATAERR, "%s:%ju: expected count and "
				    "objective fields", stream_name(st),
				    r.line);
			cnt = (uint64_t)num_parse(r.payload[0].s, 0,
			    INT64_MAX, &errstr);
			if (errstr != NULL)
				errx(EX_DATAERR, "%s:%ju: count '%s': %s",
				    stream_name(st), r.line, r.payload[0].s,
				    errstr);
			ob = real_parse(r.payload[1].s, 0, HUGE_VAL, &errstr);
			if (errstr != NULL)
				errx(EX_DATAERR, "%s:%ju: objective '%s': %s",
				    stream_name(st), r.line, r.payload[1].s,
				    errstr);
			if ((size_t)j >= k) {
				sums = xreallocarray(sums, (size_t)j + 1,
				    c.dim * sizeof(double));
				counts = xreallocarray(counts, (size_t)j + 1,
				    sizeof(uint64_t));
				memset(sums + k * c.dim, 0, ((size_t)j + 1 -
				    k) * c.dim * sizeof(double));
				memset(counts + k, 0, ((size_t)j + 1 - k) *
				    sizeof(uint64_t));
				k = (size_t)j + 1;
			}
			for (i = 0; i < c.dim; i++)
				sums[(size_t)j * c.dim + i] +=
				    (double)r.vec[i] * (double)cnt;
			counts[j] += cnt;
			obj += ob;
		}
		if (rc == -1)
			errx(status, "%s", errstr);
		stream_close(st);
	}
	record_free(&r);
	if (k == 0)
		errx(exit_status ? exit_status : EX_DATAERR, "no partial sums");
	dim = c.dim;
	cent = xcalloc(k * dim, sizeof(float));
	old = NULL;
	if (o->centroids_in != NULL) {
		kold = 0;
		old = read_centroids(o->centroids_in, &dim, &kold, NULL);
		if (kold != k)
			errx(EX_DATAERR, "%s: %zu centroids, the partial sums "
			    "have %zu", o->centroids_in, kold, k);
		memcpy(cent, old, k * dim * sizeof(float));
	}
	kmeans_centroids(sums, counts, k, dim, metric, cent);
	total = 0;
	for (i = 0; i < k; i++) {
		total += counts[i];
		if (counts[i] == 0 && old == NULL)
			errx(EX_DATAERR, "cluster c%zu has no records in any "
			    "partial sums; give the old centroids with -C",
			    i);
	}
	fprintf(stderr, "ds-cluster: reduce: %zu records, k %zu, metric %s\n"
	    "ds-cluster: objective %.9g\n", total, k, metric_name(metric), obj);
	fprintf(stderr, "ds-cluster: sizes");
	for (i = 0; i < k; i++)
		fprintf(stderr, " %" PRIu64, counts[i]);
	fprintf(stderr, "\n");
	write_centroids(o->centroids_out ? o->centroids_out : "-", &c.hdr,
	    cent, k, dim, metric, o->binary);
	header_free(&c.hdr);
	free(c.first_name);
	free(cent);
	free(old);
	free(sums);
	free(counts);
}

/*
 * --mini-batch: never more than one batch in memory.  Each pass reads
 * the files in batches and moves the centroids; a last pass assigns.
 */
static void
run_mini_batch(char **files, int nfiles, const struct options *o)
{
	struct kmeans_opts	 ko;
	struct kmeans_mb	 mb;
	struct corpus		 c;
	struct stream		*st;
	struct record		 r;
	const char		*errstr;
	float			*init, *score;
	uint32_t		*assign;
	double			 obj;
	uint64_t		*counts;
	size_t			 k, dim, b, j, total, *sizes;
	int			 pass, passes, fi, rc, status, metric, started;

	if (nfiles == 0)
		errx(EX_USAGE, "--mini-batch reads its files more than once: "
		    "name them (standard input can be read only once)");
	for (fi = 0; fi < nfiles; fi++)
		if (strcmp(files[fi], "-") == 0)
			errx(EX_USAGE, "--mini-batch cannot read standard "
			    "input more than once");
	memset(&c, 0, sizeof(c));
	memset(&ko, 0, sizeof(ko));
	b = o->mini_batch;
	k = o->k;
	init = NULL;
	dim = 0;
	if (o->centroids_in != NULL) {
		init = read_centroids(o->centroids_in, &dim, &j, NULL);
		if (k != 0 && j != k)
			errx(EX_DATAERR, "%s: %zu centroids, not -k %zu",
			    o->centroids_in, j, k);
		k = j;
	}
	if (b < k)
		errx(EX_USAGE, "--mini-batch %zu: smaller than k (%zu)", b, k);
	ko.k = k;
	ko.init = o->init;
	ko.seed = o->seed;
	ko.threads = o->threads;
	c.cap = b;
	passes = o->max_iter_set ? o->max_iter : 1;
	metric = -1;
	started = 0;
	assign = xreallocarray(NULL, b, sizeof(uint32_t));
	score = xreallocarray(NULL, b, sizeof(float));
	counts = xcalloc(k, sizeof(uint64_t));
	sizes = xcalloc(k, sizeof(size_t));
	obj = 0;
	total = 0;
	record_init(&r);
	memset(&mb, 0, sizeof(mb));
	for (pass = 0; pass <= passes; pass++) {
		for (fi = 0; fi < nfiles; fi++) {
			if ((st = open_input(files[fi])) == NULL) {
				if (pass > 0)
					exit(EX_NOINPUT);
				continue;
			}
			check_header(&c, st);
			if (metric == -1) {
				metric = resolve_metric(o, &c.hdr);
				ko.metric = metric;
			}
			for (;;) {
				rc = stream_read(st, &r, &errstr, &status);
				if (rc == 1) {
					check_record(&c, st, &r);
					if (c.x == NULL) {
						c.x = xreallocarray(NULL, b,
						    c.dim * sizeof(float));
						c.id_off = xreallocarray(NULL,
						    b, sizeof(size_t));
						c.pl_off = xreallocarray(NULL,
						    b, sizeof(size_t));
					}
					memcpy(c.x + c.n * c.dim, r.vec,
					    c.dim * sizeof(float));
					if (metric == KMEANS_COS &&
					    kmeans_normalize(c.x + c.n *
					    c.dim, 1, c.dim, &j) == -1)
						errx(EX_DATAERR, "%s:%ju: zero "
						    "vector has no direction "
						    "under --metric cos",
						    stream_name(st), r.line);
					if (pass == passes)
						keep_text(&c, c.n, &r, o, st);
					c.n++;
				}
				if (c.n == b || (rc != 1 && c.n > 0 &&
				    fi == nfiles - 1)) {
					if (!started) {
						if (init != NULL &&
						    dim != c.dim)
							errx(EX_DATAERR, "%s: "
							    "centroids have dim"
							    " %zu, the records "
							    "%zu",
							    o->centroids_in,
							    dim, c.dim);
						if (init != NULL &&
						    metric == KMEANS_COS &&
						    kmeans_normalize(init, k,
						    c.dim, &j) == -1)
							errx(EX_DATAERR,
							    "%s: centroid c%zu "
							    "is zero",
							    o->centroids_in, j);
						if (kmeans_mb_init(&mb, c.x,
						    c.n, c.dim, init, &ko,
						    &errstr) == -1)
							errx(EX_DATAERR, "k "
							    "(%zu) is larger "
							    "than the number of "
							    "records (%zu)", k,
							    c.n);
						started = 1;
					}
					if (pass < passes)
						kmeans_mb_update(&mb, c.x,
						    c.n);
					else {
						kmeans_partial(c.x, c.n, c.dim,
						    mb.centroids, k, metric,
						    o->threads, NULL, counts,
						    &obj, assign, score);
						print_assignments(&c, assign,
						    score, c.n);
						total += c.n;
					}
					c.n = 0;
					c.text_len = 0;
				}
				if (rc != 1)
					break;
			}
			if (rc == -1)
				errx(status, "%s", errstr);
			stream_close(st);
		}
		if (!started)
			errx(exit_status ? exit_status : EX_DATAERR,
			    "no records");
	}
	record_free(&r);
	for (j = 0; j < k; j++)
		sizes[j] = counts[j];
	fprintf(stderr, "ds-cluster: %zu records, dim %zu, k %zu, metric %s, "
	    "%d mini-batch pass%s of %zu\n", total, c.dim, k,
	    metric_name(metric), passes, passes == 1 ? "" : "es", b);
	fprintf(stderr, "ds-cluster: objective %.9g\n", obj);
	print_sizes(sizes, k);
	if (o->centroids_out != NULL)
		write_centroids(o->centroids_out, &c.hdr, mb.centroids, k,
		    c.dim, metric, o->binary);
	kmeans_mb_free(&mb);
	header_free(&c.hdr);
	free(c.first_name);
	free(c.x);
	free(c.id_off);
	free(c.pl_off);
	free(c.text);
	free(init);
	free(assign);
	free(score);
	free(counts);
	free(sizes);
}

static void
parse_range(const char *s, size_t *lo, size_t *hi)
{
	const char	*errstr;
	char		*t, *colon;

	t = xstrdup(s);
	if ((colon = strchr(t, ':')) == NULL)
		errx(EX_USAGE, "-K %s: expected lo:hi", s);
	*colon = '\0';
	*lo = (size_t)num_parse(t, 2, 1 << 20, &errstr);
	if (errstr != NULL)
		errx(EX_USAGE, "-K %s: %s is %s", s, t, errstr);
	*hi = (size_t)num_parse(colon + 1, (long long)*lo, 1 << 20, &errstr);
	if (errstr != NULL)
		errx(EX_USAGE, "-K %s: %s is %s", s, colon + 1, errstr);
	free(t);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "mini-batch",		required_argument,	NULL, 'B' },
		{ "binary",		no_argument,		NULL, 'b' },
		{ "init-centroids",	required_argument,	NULL, 'C' },
		{ "centroids",		required_argument,	NULL, 'c' },
		{ "describe",		no_argument,		NULL, 'd' },
		{ "eval",		no_argument,		NULL, 'e' },
		{ "help",		no_argument,		NULL, 'h' },
		{ "init",		required_argument,	NULL, 'i' },
		{ "threads",		required_argument,	NULL, 'j' },
		{ "k-range",		required_argument,	NULL, 'K' },
		{ "clusters",		required_argument,	NULL, 'k' },
		{ "map",		no_argument,		NULL, 'M' },
		{ "metric",		required_argument,	NULL, 'm' },
		{ "max-iter",		required_argument,	NULL, 'n' },
		{ "plot",		required_argument,	NULL, 'p' },
		{ "reduce",		no_argument,		NULL, 'R' },
		{ "restarts",		required_argument,	NULL, 'r' },
		{ "silhouette",		no_argument,		NULL, 'S' },
		{ "seed",		required_argument,	NULL, 's' },
		{ "tol",		required_argument,	NULL, 't' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ "version",		no_argument,		NULL, 'V' },
		{ NULL,			0,			NULL, 0 }
	};
	struct options	 o;
	struct corpus	 c;
	struct kmeans	 km;
	const char	*errstr;
	float		*init;
	double		 sil;
	size_t		 kinit, dim, bad;
	int		 ch, metric, k_range_set;

	memset(&o, 0, sizeof(o));
	o.metric = -1;
	o.init = KMEANS_INIT_PP;
	o.max_iter = 300;
	o.tol = 1e-4;
	o.restarts = 1;
	o.binary = -1;
	o.k_lo = 2;
	o.k_hi = 30;
	k_range_set = 0;
	while ((ch = getopt_long(argc, argv, "B:bC:c:dehi:j:K:k:Mm:n:p:Rr:Ss:"
	    "t:vV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'B':
			o.mini_batch = (size_t)num_parse(optarg, 1, 1 << 24,
			    &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--mini-batch %s: %s", optarg,
				    errstr);
			break;
		case 'b':
			o.binary = 1;
			break;
		case 'C':
			o.centroids_in = optarg;
			break;
		case 'c':
			o.centroids_out = optarg;
			break;
		case 'd':
			o.describe = 1;
			break;
		case 'e':
			o.eval = 1;
			break;
		case 'h':
			usage(stdout, 0);
		case 'i':
			if (strcmp(optarg, "kmeans++") == 0)
				o.init = KMEANS_INIT_PP;
			else if (strcmp(optarg, "random") == 0)
				o.init = KMEANS_INIT_RANDOM;
			else
				errx(EX_USAGE, "--init %s: expected kmeans++ "
				    "or random", optarg);
			break;
		case 'j':
			o.threads = (int)num_parse(optarg, 1, 256, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--threads %s: %s", optarg,
				    errstr);
			break;
		case 'K':
			parse_range(optarg, &o.k_lo, &o.k_hi);
			k_range_set = 1;
			break;
		case 'k':
			if (strcmp(optarg, "auto") == 0) {
				o.k_auto = 1;
				break;
			}
			o.k = (size_t)num_parse(optarg, 1, 1 << 24, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-k %s: %s", optarg, errstr);
			break;
		case 'M':
			o.map = 1;
			break;
		case 'm':
			if (strcmp(optarg, "l2") == 0)
				o.metric = KMEANS_L2;
			else if (strcmp(optarg, "cos") == 0)
				o.metric = KMEANS_COS;
			else
				errx(EX_USAGE, "--metric %s: expected l2 or "
				    "cos", optarg);
			break;
		case 'n':
			o.max_iter = (int)num_parse(optarg, 0, 1 << 20,
			    &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--max-iter %s: %s", optarg,
				    errstr);
			o.max_iter_set = 1;
			break;
		case 'p':
			o.plot = optarg;
			break;
		case 'R':
			o.reduce = 1;
			break;
		case 'r':
			o.restarts = (int)num_parse(optarg, 1, 1 << 16,
			    &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--restarts %s: %s", optarg,
				    errstr);
			break;
		case 'S':
			o.silhouette = 1;
			break;
		case 's':
			o.seed = (uint64_t)num_parse(optarg, 0, INT64_MAX,
			    &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--seed %s: %s", optarg,
				    errstr);
			break;
		case 't':
			o.tol = real_parse(optarg, 0, 1, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--tol %s: %s", optarg, errstr);
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			return util_version("ds-cluster");
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (o.map + o.reduce + (o.mini_batch > 0) > 1)
		errx(EX_USAGE, "choose one of --map, --reduce and "
		    "--mini-batch");
	if (k_range_set && !o.k_auto)
		errx(EX_USAGE, "--k-range needs -k auto");
	if (o.k_auto && (o.centroids_in != NULL || o.map || o.reduce ||
	    o.mini_batch))
		errx(EX_USAGE, "-k auto cannot be used with --init-centroids, "
		    "--map, --reduce or --mini-batch");
	if ((o.map || o.reduce || o.mini_batch) && (o.eval || o.silhouette ||
	    o.describe || o.plot != NULL || o.restarts > 1))
		errx(EX_USAGE, "--eval, --silhouette, --describe, --plot and "
		    "--restarts need all records in memory: not with --map, "
		    "--reduce or --mini-batch");
	if (o.map && o.centroids_in == NULL)
		errx(EX_USAGE, "--map needs the current centroids "
		    "(--init-centroids)");
	if (o.reduce) {
		run_reduce(argv, argc, &o);
		goto out;
	}
	if (o.map) {
		run_map(argv, argc, &o);
		goto out;
	}
	if (o.k == 0 && !o.k_auto && o.centroids_in == NULL)
		usage(stderr, EX_USAGE);
	if (o.mini_batch) {
		run_mini_batch(argv, argc, &o);
		goto out;
	}

	memset(&c, 0, sizeof(c));
	read_seconds = now();
	read_corpus(argv, argc, &o, &c, &metric);
	read_seconds = now() - read_seconds;
	if (c.n == 0)
		errx(exit_status ? exit_status : EX_DATAERR, "no records");
	if (metric == KMEANS_COS && kmeans_normalize(c.x, c.n, c.dim,
	    &bad) == -1)
		errx(EX_DATAERR, "record %zu: not a finite vector", bad + 1);
	init = NULL;
	if (o.centroids_in != NULL) {
		dim = c.dim;
		init = read_centroids(o.centroids_in, &dim, &kinit, &c.hdr);
		if (o.k != 0 && o.k != kinit)
			errx(EX_DATAERR, "%s: %zu centroids, not -k %zu",
			    o.centroids_in, kinit, o.k);
		o.k = kinit;
		if (metric == KMEANS_COS && kmeans_normalize(init, kinit,
		    dim, &bad) == -1)
			errx(EX_DATAERR, "%s: centroid c%zu is zero",
			    o.centroids_in, bad);
	}
	cluster(&c, &o, metric, init, &km);
	print_assignments(&c, km.assign, km.score, c.n);
	print_summary(&c, &km, metric, &o);
	if (o.centroids_out != NULL)
		write_centroids(o.centroids_out, &c.hdr, km.centroids, km.k,
		    c.dim, metric, o.binary);
	if (o.eval)
		print_eval(&c, &km);
	if (o.silhouette) {
		if (cluster_eval_silhouette(c.x, c.n, c.dim, km.assign,
		    metric == KMEANS_COS, SIL_SAMPLE, &sil, &errstr) == -1)
			warnx("--silhouette: %s", errstr);
		else
			fprintf(stderr, "ds-cluster: silhouette %.4f (%zu of "
			    "%zu records)\n", sil, c.n < SIL_SAMPLE ? c.n :
			    (size_t)SIL_SAMPLE, c.n);
	}
	if (o.describe)
		print_describe(&c, &km, metric);
	if (o.plot != NULL)
		write_plot(o.plot, &c, &km);
	kmeans_free(&km);
	free(init);
	free(c.x);
	free(c.text);
	free(c.id_off);
	free(c.pl_off);
	free(c.label_off);
	free(c.doc_off);
	header_free(&c.hdr);
	free(c.first_name);
out:
	if (ferror(stdout) || fclose(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return exit_status;
}
