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
	const char		**id;
	const char		**text;
	size_t			*len;
	struct embed_batch	 eb;
	size_t			 cap;
};

/* Everything one run shares: the model, its provider, the output. */
struct run {
	const struct model	*model;
	struct embed_opts	 opts;
	void			*state;		/* the provider's */
	struct writer		*out;		/* opened with the first input */
	int			 binary;	/* -b 1, -t 0, else -1 */
	int			 skip_empty;
	struct batch		 batch;
	uintmax_t		 texts, empty;	/* for the closing line */
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
	if (getenv("DASHSCOPE_API_KEY") == NULL) {
		m = models_find(MODELS_LOCAL_DEFAULT);
		warnx("no DASHSCOPE_API_KEY: using the built-in model %s",
		    m->name);
	} else if ((m = models_find(MODELS_REMOTE_DEFAULT)) == NULL) {
		m = models_find(MODELS_LOCAL_DEFAULT);
		warnx("%s is not built in: using the built-in model %s",
		    MODELS_REMOTE_DEFAULT, m->name);
	}
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
	b->id = xreallocarray(NULL, cap, sizeof(*b->id));
	b->text = xreallocarray(NULL, cap, sizeof(*b->text));
	b->len = xreallocarray(NULL, cap, sizeof(*b->len));
	b->eb.vec = xreallocarray(NULL, cap, dim * sizeof(float));
	b->eb.empty = xmalloc(cap);
	b->eb.id = b->id;
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
	free(b->id);
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
batch_flush(struct run *run)
{
	struct batch	*b = &run->batch;
	const char	*errstr;
	size_t		 i, dim = run->opts.dim;
	int		 status;

	if (b->eb.n == 0)
		return;
	for (i = 0; i < b->eb.n; i++) {
		b->id[i] = b->rec[i].id.s;
		b->text[i] = b->rec[i].text.s;
		b->len[i] = b->rec[i].text.len;
	}
	if (run->model->provider->embed(run->state, &b->eb, &errstr,
	    &status) == -1)
		errx(status, "%s", errstr);
	for (i = 0; i < b->eb.n; i++) {
		run->texts++;
		if (b->eb.empty[i]) {
			run->empty++;
			if (run->skip_empty)
				continue;
		}
		record_set_dense(&b->rec[i], b->eb.vec + i * dim, dim);
		if (writer_write(run->out, &b->rec[i]) == -1)
			err(EX_IOERR, "stdout");
	}
	b->eb.n = 0;
}

/* The output header: the input's words, and what this run makes. */
static struct writer *
start_output(const struct run *run, const struct header *in)
{
	const struct model	*m = run->model;
	struct header		 h;
	struct writer		*w;
	char			 dim[32];

	memset(&h, 0, sizeof(h));
	if (in != NULL)
		header_copy(&h, in);
	snprintf(dim, sizeof(dim), "%zu", run->opts.dim);
	header_set(&h, "kind", "dense");
	header_set(&h, "dim", dim);
	header_set(&h, "model", m->name);
	header_set(&h, "provider", m->provider->name);
	if (m->norm != NULL)
		header_set(&h, "norm", m->norm);
	else
		header_unset(&h, "norm");
	if (run->opts.text_type != NULL)
		header_set(&h, "text_type", run->opts.text_type);
	else
		header_unset(&h, "text_type");
	w = writer_open(stdout, run->binary, &h);
	header_free(&h);
	return w;
}

/*
 * Embed the text records of path, a batch at a time.  Returns 0, or the
 * exit status of what went wrong (reported): every record before a bad
 * one is written first.
 */
static int
embed_file(struct run *run, const char *path)
{
	struct stream_opts	 sopts;
	struct stream		*in;
	struct batch		*b = &run->batch;
	const char		*errstr;
	int			 r, status;

	memset(&sopts, 0, sizeof(sopts));
	sopts.expect = KIND_TEXT;
	if ((in = stream_open(path, &sopts, &errstr, &status)) == NULL) {
		warnx("%s", errstr);
		return status;
	}
	if (run->out == NULL)
		run->out = start_output(run, stream_header(in));
	while ((r = stream_read(in, &b->rec[b->eb.n], &errstr,
	    &status)) == 1)
		if (++b->eb.n == b->cap)
			batch_flush(run);
	batch_flush(run);
	if (r == -1)
		warnx("%s", errstr);
	stream_close(in);
	return r == -1 ? status : 0;
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
	static char		*stdin_only[] = { "-", NULL };
	const struct model	*m;
	const char		*model_name = NULL, *dim_arg = NULL, *errstr;
	struct run		 run;
	int			 ch, status, exit_status = 0, i;

	memset(&run, 0, sizeof(run));
	run.binary = -1;
	while ((ch = getopt_long(argc, argv, "bd:DEhm:qtV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			run.binary = 1;
			break;
		case 'd':
			dim_arg = optarg;
			break;
		case 'D':
			run.opts.text_type = "document";
			break;
		case 'E':
			run.skip_empty = 1;
			break;
		case 'h':
			usage(stdout, 0);
		case 'm':
			model_name = optarg;
			break;
		case 'q':
			run.opts.text_type = "query";
			break;
		case 't':
			run.binary = 0;
			break;
		case 'V':
			return util_version("ds-embed");
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	run.model = m = choose_model(model_name);
	run.opts.dim = m->dim;
	if (dim_arg != NULL) {
		run.opts.dim = (size_t)num_parse(dim_arg, 1, 1 << 16, &errstr);
		if (errstr != NULL)
			errx(EX_USAGE, "-d %s: %s", dim_arg, errstr);
		if (!models_dim_ok(m, run.opts.dim))
			errx(EX_USAGE, "-d %s: %s offers only %s", dim_arg,
			    m->name, models_dims_text(m));
	}
	if ((run.state = m->provider->open(m, &run.opts, &errstr,
	    &status)) == NULL)
		errx(status, "%s", errstr);
	batch_init(&run.batch, m->batch, run.opts.dim);

	if (argc == 0) {
		argv = stdin_only;
		argc = 1;
	}
	/* A file that cannot be opened is skipped; bad data stops. */
	for (i = 0; i < argc && exit_status != EX_DATAERR; i++)
		if ((status = embed_file(&run, argv[i])) != 0)
			exit_status = status;

	if (run.out == NULL)
		run.out = start_output(&run, NULL);
	if (writer_close(run.out) == -1)
		err(EX_IOERR, "stdout");
	batch_free(&run.batch);
	m->provider->close(run.state);
	if (run.empty > 0)
		warnx("%ju of %ju texts had no known word%s", run.empty,
		    run.texts, run.skip_empty ? " (skipped)" : "");
	if (ferror(stdout) || fclose(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return exit_status;
}
