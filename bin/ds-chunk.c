/*
 * ds-chunk: split documents into chunks that fit a token budget, counted
 * with the Qwen3 tokenizer, and write them as text records; or, with
 * --count, print the token count of each record of a text stream.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "chunk.h"
#include "datadir.h"
#include "stream.h"
#include "tok.h"
#include "utf8.h"
#include "util.h"

#define MAX_TOKENS	8192

struct options {
	struct chunk_opts	 chunk;
	int			 binary;	/* -1: DS_FORMAT decides */
	int			 count;
	int			 offsets;
};

static _Noreturn void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ds-chunk [-bcHhOV] [-m max-tokens] "
	    "[-n min-tokens] [-o overlap] [file ...]\n");
	exit(status);
}

static struct tok *
load_tokenizer(void)
{
	struct tok	*t;
	const char	*errstr;
	char		*path;

	path = datadir_path(TOK_QWEN3_FILE);
	if ((t = tok_open(path, &errstr)) == NULL)
		errx(EX_CONFIG, "%s%s", errstr, errno == ENOENT ?
		    " (run make data)" : "");
	free(path);
	return t;
}

/*
 * Read the whole of fp.  Returns the bytes (the caller frees) and their
 * number in *len, or NULL with errno set on a read error.
 */
static char *
slurp(FILE *fp, size_t *len)
{
	char	*buf = NULL;
	size_t	 cap = 0, n = 0, got;

	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? 2 * cap : 1 << 20;
			buf = xreallocarray(buf, cap, 1);
		}
		got = fread(buf + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Refuse what is not text: invalid UTF-8 or a NUL byte. */
static void
check_text(const char *name, const char *doc, size_t len)
{
	size_t		 bad;
	const char	*nul;

	bad = utf8_valid_prefix(doc, len);
	if ((nul = memchr(doc, '\0', bad)) != NULL)
		errx(EX_DATAERR, "%s: byte %zu: NUL byte, not text", name,
		    (size_t)(nul - doc));
	if (bad < len)
		errx(EX_DATAERR, "%s: byte %zu: invalid UTF-8, not text", name,
		    bad);
}

static void
write_chunks(struct writer *w, struct chunker *ck, const struct options *o,
    const char *name, const char *doc, size_t len)
{
	const struct chunk	*c;
	struct record		 r;
	size_t			 n, i;
	char			*id = NULL, num[32];
	int			 idlen;

	record_init(&r);
	n = chunker_split(ck, doc, len, &c);
	id = xmalloc(strlen(name) + 32);
	for (i = 0; i < n; i++) {
		idlen = sprintf(id, "%s#%zu", name, i + 1);
		record_set_id(&r, id, (size_t)idlen);
		record_clear_payload(&r);
		if (o->offsets) {
			record_add_payload(&r, num,
			    (size_t)sprintf(num, "%zu", c[i].start));
			record_add_payload(&r, num,
			    (size_t)sprintf(num, "%zu", c[i].end));
		}
		if (o->chunk.headings)
			record_add_payload(&r, c[i].heading,
			    strlen(c[i].heading));
		record_set_text(&r, doc + c[i].start, c[i].end - c[i].start);
		if (writer_write(w, &r) == -1)
			err(EX_IOERR, "stdout");
	}
	free(id);
	record_free(&r);
}

/* Chunk one file ("-": standard input); 0, or EX_NOINPUT. */
static int
chunk_file(struct writer *w, struct chunker *ck, const struct options *o,
    const char *path)
{
	FILE	*fp;
	char	*doc;
	size_t	 len;
	int	 is_stdin = strcmp(path, "-") == 0;

	if (is_stdin)
		fp = stdin;
	else if ((fp = fopen(path, "rb")) == NULL) {
		warn("%s", path);
		return EX_NOINPUT;
	}
	if ((doc = slurp(fp, &len)) == NULL)
		err(EX_IOERR, "%s", is_stdin ? "stdin" : path);
	if (!is_stdin)
		fclose(fp);
	check_text(is_stdin ? "stdin" : path, doc, len);
	write_chunks(w, ck, o, path, doc, len);
	free(doc);
	return 0;
}

/* Write s[0..len) escaped as a stream field is. */
static void
put_escaped(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\t':
			fputs("\\t", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		default:
			putchar(s[i]);
		}
	}
}

/* --count: "id<TAB>tokens" for each record of a text stream. */
static int
count_stream(struct tok *t, const char *path)
{
	struct stream_opts	 so = { 0 };
	struct stream		*st;
	struct record		 r;
	const char		*errstr;
	int			 status, rc;

	so.expect = KIND_TEXT;
	if ((st = stream_open(path, &so, &errstr, &status)) == NULL) {
		if (status != EX_NOINPUT)
			errx(status, "%s", errstr);
		warnx("%s", errstr);
		return EX_NOINPUT;
	}
	record_init(&r);
	while ((rc = stream_read(st, &r, &errstr, &status)) == 1) {
		put_escaped(r.id.s, r.id.len);
		printf("\t%zu\n", tok_count(t, r.text.s, r.text.len));
	}
	if (rc == -1)
		errx(status, "%s", errstr);
	record_free(&r);
	stream_close(st);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "binary",	no_argument,		NULL, 'b' },
		{ "count",	no_argument,		NULL, 'c' },
		{ "heading",	no_argument,		NULL, 'H' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "max-tokens",	required_argument,	NULL, 'm' },
		{ "min-tokens",	required_argument,	NULL, 'n' },
		{ "offsets",	no_argument,		NULL, 'O' },
		{ "overlap",	required_argument,	NULL, 'o' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	struct options	 o = { .binary = -1 };
	struct header	 h = { 0 };
	struct writer	*w = NULL;
	struct chunker	*ck = NULL;
	struct tok	*t;
	const char	*errstr;
	char		 num[32];
	int		 ch, i, status = 0, rc;

	o.chunk.max_tokens = 512;
	while ((ch = getopt_long(argc, argv, "bcHhm:n:Oo:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			o.binary = 1;
			break;
		case 'c':
			o.count = 1;
			break;
		case 'H':
			o.chunk.headings = 1;
			break;
		case 'h':
			usage(stdout, 0);
		case 'm':
			o.chunk.max_tokens = (size_t)num_parse(optarg, 1,
			    MAX_TOKENS, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-m %s: %s", optarg, errstr);
			break;
		case 'n':
			o.chunk.min_tokens = (size_t)num_parse(optarg, 0,
			    MAX_TOKENS, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-n %s: %s", optarg, errstr);
			break;
		case 'O':
			o.offsets = 1;
			break;
		case 'o':
			o.chunk.overlap = (size_t)num_parse(optarg, 0,
			    MAX_TOKENS - 1, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-o %s: %s", optarg, errstr);
			break;
		case 'V':
			return util_version("ds-chunk");
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	/* Chunks at least half new text keep the work linear. */
	if (o.chunk.overlap > o.chunk.max_tokens / 2)
		errx(EX_USAGE, "-o %zu: the overlap must be at most half of "
		    "--max-tokens (%zu)", o.chunk.overlap, o.chunk.max_tokens);
	if (o.chunk.min_tokens > o.chunk.max_tokens - o.chunk.overlap)
		errx(EX_USAGE, "-n %zu: above what a chunk holds (%zu)",
		    o.chunk.min_tokens, o.chunk.max_tokens - o.chunk.overlap);

	t = load_tokenizer();
	if (o.count) {
		if (argc == 0)
			status = count_stream(t, "-");
		for (i = 0; i < argc; i++)
			if ((rc = count_stream(t, argv[i])) != 0)
				status = rc;
	} else {
		header_set(&h, "kind", "text");
		header_set(&h, "tokenizer", "qwen3");
		snprintf(num, sizeof(num), "%zu", o.chunk.max_tokens);
		header_set(&h, "max_tokens", num);
		w = writer_open(stdout, o.binary, &h);
		ck = chunker_new(t, &o.chunk);
		if (argc == 0)
			status = chunk_file(w, ck, &o, "-");
		for (i = 0; i < argc; i++)
			if ((rc = chunk_file(w, ck, &o, argv[i])) != 0)
				status = rc;
		writer_close(w);
		chunker_free(ck);
		header_free(&h);
	}
	tok_close(t);
	if (ferror(stdout) || fclose(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return status;
}
