/*
 * ds-embed: turn text records into dense vector records with an
 * embedding model, keeping each record's id and payload, in input order.
 * The model comes from the table in lib/models.c; its provider does the
 * embedding, a batch of texts at a time.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "models.h"
#include "stream.h"
#include "util.h"

static _Noreturn void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ds-embed [-bDEhqtV] [-d dimension] [-m model] "
	    "[file ...]\n");
	exit(status);
}

/* Records read and not yet written, and the room for their vectors. */
struct batch {
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

static const struct model *
choose_model(const char *name)
{
	const struct model	*m;
	size_t			 i, n;

	if (name != NULL) {
		if ((m = models_find(name)) != NULL)
			return m;
		m = models_all(&n);
		fprintf(stderr, "ds-embed: %s: unknown model; known:", name);
		for (i = 0; i < n; i++)
			fprintf(stderr, " %s", m[i].name);
		fprintf(stderr, "\n");
		exit(EX_USAGE);
	}
	if (getenv("DASHSCOPE_API_KEY") != NULL &&
	    (m = models_find(MODELS_REMOTE_DEFAULT)) != NULL)
		return m;
	m = models_find(MODELS_LOCAL_DEFAULT);
	warnx("no DASHSCOPE_API_KEY: using the built-in model %s", m->name);
	return m;
}

static void
batch_init(struct batch *b, size_t cap, size_t dim)
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
batch_free(struct batch *b)
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
batch_flush(struct batch *b, const struct provider *p, void *state,
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

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "binary",	no_argument,		NULL, 'b' },
		{ "dimension",	required_argument,	NULL, 'd' },
		{ "document",	no_argument,		NULL, 'D' },
		{ "skip-empty",	no_argument,		NULL, 'E' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "model",	required_argument,	NULL, 'm' },
		{ "query",	no_argument,		NULL, 'q' },
		{ "text",	no_argument,		NULL, 't' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	const struct model	*m;
	const char		*model_name = NULL, *dim_arg = NULL, *errstr;
	struct embed_opts	 opts;
	struct stream_opts	 sopts;
	struct stream		*in;
	struct writer		*w = NULL;
	struct batch		 b;
	struct tally		 t;
	void			*state;
	int			 ch, binary = -1, skip_empty = 0, status, r;
	int			 exit_status = 0, i;

	memset(&opts, 0, sizeof(opts));
	while ((ch = getopt_long(argc, argv, "bd:DEhm:qtV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			binary = 1;
			break;
		case 'd':
			dim_arg = optarg;
			break;
		case 'D':
			opts.text_type = "document";
			break;
		case 'E':
			skip_empty = 1;
			break;
		case 'h':
			usage(stdout, 0);
		case 'm':
			model_name = optarg;
			break;
		case 'q':
			opts.text_type = "query";
			break;
		case 't':
			binary = 0;
			break;
		case 'V':
			return util_version("ds-embed");
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	m = choose_model(model_name);
	opts.dim = m->dim;
	if (dim_arg != NULL) {
		opts.dim = (size_t)num_parse(dim_arg, 1, 1 << 16, &errstr);
		if (errstr != NULL)
			errx(EX_USAGE, "-d %s: %s", dim_arg, errstr);
		if (!models_dim_ok(m, opts.dim))
			errx(EX_USAGE, "-d %s: %s offers only %s", dim_arg,
			    m->name, models_dims_text(m));
	}
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
	if (ferror(stdout) || fclose(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return exit_status;
}
