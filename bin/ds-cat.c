/*
 * ds-cat: concatenate record streams, convert between the TSV and binary
 * forms, print what a stream holds, and move dense vectors in and out of
 * .npy and .fvecs files.
 */
#include <err.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "matfile.h"
#include "stream.h"
#include "util.h"

enum mode { CONCAT, INFO, EXPORT, IMPORT };

struct options {
	enum mode	 mode;
	int		 binary;	/* -1: DS_FORMAT decides */
	enum matfile_format matfmt;	/* for EXPORT and IMPORT */
	struct header	 set;		/* -s words added to the output */
	struct stream_opts sopts;
};

static _Noreturn void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ds-cat [-abhitV] [-e npy|fvecs] [-f npy|fvecs] "
	    "[-s key=value] [file ...]\n");
	exit(status);
}

/* Add a -s key=value word to h. */
static void
parse_set(struct header *h, const char *arg)
{
	const char	*eq;
	char		*key;

	if ((eq = strchr(arg, '=')) == NULL || eq == arg)
		errx(EX_USAGE, "-s %s: expected key=value", arg);
	key = xstrndup(arg, (size_t)(eq - arg));
	if (strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
	    strlen(key))
		errx(EX_USAGE, "-s %s: a key is lower-case letters, digits, "
		    "_ and -", arg);
	header_set(h, key, eq + 1);
	free(key);
}

static enum matfile_format
parse_matfmt(const char *opt, const char *arg)
{
	if (strcmp(arg, "npy") == 0)
		return MATFILE_NPY;
	if (strcmp(arg, "fvecs") == 0)
		return MATFILE_FVECS;
	errx(EX_USAGE, "%s %s: expected npy or fvecs", opt, arg);
}

/* Open a stream or say why not; NULL after a warning, exits on bad data. */
static struct stream *
open_input(const char *path, const struct options *o, int *status)
{
	struct stream	*st;
	const char	*errstr;
	int		 code;

	if ((st = stream_open(path, &o->sopts, &errstr, &code)) != NULL)
		return st;
	if (code != EX_NOINPUT)
		errx(code, "%s", errstr);
	warnx("%s", errstr);
	*status = EX_NOINPUT;
	return NULL;
}

/* Read one record, exiting with the stream's message on bad input. */
static int
next_record(struct stream *st, struct record *r)
{
	const char	*errstr;
	int		 rc, code;

	if ((rc = stream_read(st, r, &errstr, &code)) == -1)
		errx(code, "%s", errstr);
	return rc;
}

/* Print one line about a stream: its form, counts and header words. */
static void
info(const char *path, const struct options *o, int *status)
{
	struct stream	*st;
	struct record	 r;
	const struct header *h;
	uintmax_t	 n = 0;
	size_t		 i;

	if ((st = open_input(path, o, status)) == NULL)
		return;
	record_init(&r);
	while (next_record(st, &r) == 1)
		n++;
	h = stream_header(st);
	printf("%s\tformat=%s records=%ju bytes=%ju", stream_name(st),
	    stream_is_binary(st) ? "binary" : "tsv", n, stream_bytes(st));
	for (i = 0; i < h->n; i++)
		printf(" %s=%s", h->words[i].key, h->words[i].value);
	printf("\n");
	record_free(&r);
	stream_close(st);
}

/*
 * Copy every record of every input to one output: a stream writer, or a
 * matrix file when exporting.  The first input's header, completed by its
 * first record, is the output's; every other must agree with it.
 */
static void
concat(char **paths, int npaths, const struct options *o, int *status)
{
	struct stream	*st;
	struct record	 r;
	struct header	 out;
	struct writer	*w = NULL;
	struct matfile_writer *mw = NULL;
	const char	*why;
	size_t		 i;
	int		 k, rc;

	record_init(&r);
	memset(&out, 0, sizeof(out));
	for (k = 0; k < npaths; k++) {
		if ((st = open_input(paths[k], o, status)) == NULL)
			continue;
		rc = next_record(st, &r);
		if (w == NULL && mw == NULL && (rc == 1 || k == npaths - 1)) {
			header_copy(&out, stream_header(st));
			for (i = 0; i < o->set.n; i++)
				header_set(&out, o->set.words[i].key,
				    o->set.words[i].value);
			if (o->mode == EXPORT) {
				if (rc == 1 && r.kind != KIND_DENSE)
					errx(EX_DATAERR, "%s: -e needs dense "
					    "vectors, not a %s stream",
					    stream_name(st), kind_name(r.kind));
				mw = matfile_writer_open(stdout, o->matfmt);
			} else if (header_kind(&out) != KIND_UNKNOWN ||
			    o->binary != 1)
				w = writer_open(stdout, o->binary, &out);
			else
				errx(EX_DATAERR, "%s: empty stream of unknown "
				    "kind: nothing to write in binary form",
				    stream_name(st));
		} else if (header_compatible(&out, stream_header(st),
		    &why) == -1)
			errx(EX_DATAERR, "%s: %s (from %s)", stream_name(st),
			    why, paths[0]);
		for (; rc == 1; rc = next_record(st, &r)) {
			if (mw != NULL) {
				if (matfile_write(mw, r.vec, r.dim) == -1)
					err(EX_IOERR, "stdout");
			} else if (writer_write(w, &r) == -1)
				err(EX_IOERR, "stdout");
		}
		stream_close(st);
	}
	if (mw != NULL && matfile_writer_close(mw) == -1)
		err(EX_IOERR, "stdout");
	if (writer_close(w) == -1)
		err(EX_IOERR, "stdout");
	header_free(&out);
	record_free(&r);
}

/* Turn .npy or .fvecs files into one dense stream, ids from 1. */
static void
import(char **paths, int npaths, const struct options *o, int *status)
{
	struct matfile	*mf;
	struct header	 out;
	struct writer	*w = NULL;
	struct record	 r;
	const char	*errstr;
	const float	*row;
	size_t		 i, dim = 0;
	uintmax_t	 id = 0;
	char		 num[32];
	int		 k, code;

	record_init(&r);
	memset(&out, 0, sizeof(out));
	for (k = 0; k < npaths; k++) {
		if ((mf = matfile_open(paths[k], o->matfmt, &errstr,
		    &code)) == NULL) {
			if (code != EX_NOINPUT)
				errx(code, "%s", errstr);
			warnx("%s", errstr);
			*status = EX_NOINPUT;
			continue;
		}
		while ((row = matfile_read(mf, &dim, &errstr, &code)) != NULL) {
			if (w == NULL) {
				header_set(&out, "kind", "dense");
				snprintf(num, sizeof(num), "%zu", dim);
				header_set(&out, "dim", num);
				for (i = 0; i < o->set.n; i++)
					header_set(&out, o->set.words[i].key,
					    o->set.words[i].value);
				w = writer_open(stdout, o->binary, &out);
			} else if (dim != header_dim(&out))
				errx(EX_DATAERR, "%s: rows of %zu floats, "
				    "after %zu before", paths[k], dim,
				    header_dim(&out));
			snprintf(num, sizeof(num), "%ju", ++id);
			record_set_id(&r, num, strlen(num));
			record_set_dense(&r, row, dim);
			if (writer_write(w, &r) == -1)
				err(EX_IOERR, "stdout");
		}
		if (code != 0)
			errx(code, "%s", errstr);
		matfile_close(mf);
	}
	if (writer_close(w) == -1)
		err(EX_IOERR, "stdout");
	header_free(&out);
	record_free(&r);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "allow-nonfinite",	no_argument,		NULL, 'a' },
		{ "binary",		no_argument,		NULL, 'b' },
		{ "export",		required_argument,	NULL, 'e' },
		{ "from",		required_argument,	NULL, 'f' },
		{ "help",		no_argument,		NULL, 'h' },
		{ "info",		no_argument,		NULL, 'i' },
		{ "set",		required_argument,	NULL, 's' },
		{ "tsv",		no_argument,		NULL, 't' },
		{ "version",		no_argument,		NULL, 'V' },
		{ NULL,			0,			NULL, 0 }
	};
	struct options	 o;
	char		*stdin_only[] = { "-" };
	int		 ch, status = 0;

	memset(&o, 0, sizeof(o));
	o.mode = CONCAT;
	o.binary = -1;
	while ((ch = getopt_long(argc, argv, "abe:f:his:tV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			o.sopts.allow_nonfinite = 1;
			break;
		case 'b':
			o.binary = 1;
			break;
		case 'e':
			o.mode = EXPORT;
			o.matfmt = parse_matfmt("-e", optarg);
			break;
		case 'f':
			o.mode = IMPORT;
			o.matfmt = parse_matfmt("-f", optarg);
			break;
		case 'h':
			usage(stdout, 0);
		case 'i':
			o.mode = INFO;
			break;
		case 's':
			parse_set(&o.set, optarg);
			break;
		case 't':
			o.binary = 0;
			break;
		case 'V':
			return util_version("ds-cat");
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

	switch (o.mode) {
	case INFO:
		for (ch = 0; ch < argc; ch++)
			info(argv[ch], &o, &status);
		break;
	case IMPORT:
		import(argv, argc, &o, &status);
		break;
	default:
		concat(argv, argc, &o, &status);
		break;
	}
	header_free(&o.set);
	if (ferror(stdout) || fclose(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return status;
}
