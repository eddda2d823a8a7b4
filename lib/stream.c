/*
 * stream: read and write the ds record stream, TSV and binary forms.
 * docs/FORMAT.md is the specification this file implements.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include "numfmt.h"
#include "stream.h"
#include "utf8.h"
#include "util.h"

/* 0x89 "DSB" CR LF 0x1a LF: not text, and damaged by text-mode copies. */
static const unsigned char magic[8] = {
	0x89, 'D', 'S', 'B', '\r', '\n', 0x1a, '\n'
};
#define BIN_VERSION	1
/* A frame's size field below this; the magic's first four bytes read as
 * a size are above it, which is how a concatenated stream shows. */
#define FRAME_MAX	(UINT32_C(1) << 30)

struct stream {
	FILE		*fp;
	int		 own;		/* fclose at the end */
	char		*name;
	struct stream_opts opts;
	int		 binary;
	struct header	 hdr;		/* the first header, completed */
	enum stream_kind kind;		/* of the records, once known */
	size_t		 dim;		/* of dense records, once known */
	char		*line;		/* TSV: the getline buffer */
	size_t		 line_cap;
	ssize_t		 pending;	/* TSV: a first line read while probing */
	unsigned char	*frame;		/* binary: the frame buffer */
	size_t		 frame_cap;
	uintmax_t	 lineno;	/* lines or frames read */
	uintmax_t	 bytes;
	uintmax_t	 body_off;	/* binary: the last dense body's offset */
	int		 eof;
	char		 err[512];
	int		 sniffing;	/* judging syntax only, for the kind */
	struct header	 later;		/* scratch for headers met later */
};

/*
 * Give fp a 1 MiB stdio buffer: frames of a few kilobytes each then move
 * in large blocks instead of one system call each.  glibc ignores the
 * size unless it is given the buffer, and a buffer must outlive its FILE,
 * so the buffers live until exit.  A terminal keeps its line buffering.
 */
static void
big_buffer(FILE *fp)
{
	static char	*bufs[16];
	static size_t	 nbufs;

	if (nbufs == sizeof(bufs) / sizeof(bufs[0]) || isatty(fileno(fp)))
		return;
	bufs[nbufs] = xmalloc(1 << 20);
	if (setvbuf(fp, bufs[nbufs], _IOFBF, 1 << 20) == 0)
		nbufs++;
	else
		free(bufs[nbufs]);
}

/* ---- headers ---- */

const char *
kind_name(enum stream_kind k)
{
	switch (k) {
	case KIND_TEXT:
		return "text";
	case KIND_DENSE:
		return "dense";
	case KIND_SPARSE:
		return "sparse";
	default:
		return "unknown";
	}
}

static enum stream_kind
kind_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return KIND_TEXT;
	if (strcmp(s, "dense") == 0)
		return KIND_DENSE;
	if (strcmp(s, "sparse") == 0)
		return KIND_SPARSE;
	return KIND_UNKNOWN;
}

const char *
header_get(const struct header *h, const char *key)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->words[i].key, key) == 0)
			return h->words[i].value;
	return NULL;
}

void
header_set(struct header *h, const char *key, const char *value)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->words[i].key, key) == 0) {
			free(h->words[i].value);
			h->words[i].value = xstrdup(value);
			return;
		}
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 8;
		h->words = xreallocarray(h->words, h->cap, sizeof(*h->words));
	}
	h->words[h->n].key = xstrdup(key);
	h->words[h->n].value = xstrdup(value);
	h->n++;
}

void
header_unset(struct header *h, const char *key)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->words[i].key, key) == 0) {
			free(h->words[i].key);
			free(h->words[i].value);
			memmove(h->words + i, h->words + i + 1,
			    (h->n - i - 1) * sizeof(*h->words));
			h->n--;
			return;
		}
}

enum stream_kind
header_kind(const struct header *h)
{
	const char	*v;

	return (v = header_get(h, "kind")) == NULL ? KIND_UNKNOWN :
	    kind_parse(v);
}

size_t
header_dim(const struct header *h)
{
	const char	*v;

	return (v = header_get(h, "dim")) == NULL ? 0 :
	    (size_t)strtoull(v, NULL, 10);
}

void
header_copy(struct header *dst, const struct header *src)
{
	size_t	 i;

	if (dst == src)
		return;
	header_free(dst);
	for (i = 0; i < src->n; i++)
		header_set(dst, src->words[i].key, src->words[i].value);
}

int
header_compatible(const struct header *a, const struct header *b,
    const char **errstr)
{
	static char	 buf[512];
	static const char *keys[] = { "kind", "dim", "model" };
	const char	*va, *vb;
	size_t		 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		va = header_get(a, keys[i]);
		vb = header_get(b, keys[i]);
		if (va != NULL && vb != NULL && strcmp(va, vb) != 0) {
			snprintf(buf, sizeof(buf), "%s=%s does not match %s=%s",
			    keys[i], vb, keys[i], va);
			*errstr = buf;
			return -1;
		}
	}
	return 0;
}

void
header_free(struct header *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++) {
		free(h->words[i].key);
		free(h->words[i].value);
	}
	free(h->words);
	h->words = NULL;
	h->n = h->cap = 0;
}

/*
 * Parse the words of a header (the text after "#ds", or a binary
 * header's text) into h.  Returns 0, or -1 with a message in err.
 */
static int
header_parse(struct header *h, const char *s, size_t len, char *err,
    size_t errlen)
{
	const char	*p = s, *end = s + len, *w, *eq;
	char		*key, *val;
	size_t		 vlen;
	const char	*errstr;

	header_free(h);
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		for (w = p; p < end && *p != ' '; p++)
			;
		if ((eq = memchr(w, '=', (size_t)(p - w))) == NULL ||
		    eq == w) {
			snprintf(err, errlen, "header word '%.*s' is not "
			    "key=value", (int)(p - w > 40 ? 40 : p - w), w);
			return -1;
		}
		key = xstrndup(w, (size_t)(eq - w));
		val = xmalloc((size_t)(p - eq));
		vlen = 0;
		for (eq++; eq < p; eq++) {
			if (*eq == '\\' && eq + 1 < p) {
				switch (eq[1]) {
				case 's': val[vlen++] = ' '; eq++; continue;
				case 't': val[vlen++] = '\t'; eq++; continue;
				case 'n': val[vlen++] = '\n'; eq++; continue;
				case 'r': val[vlen++] = '\r'; eq++; continue;
				case '\\': val[vlen++] = '\\'; eq++; continue;
				}
			}
			val[vlen++] = *eq;
		}
		val[vlen] = '\0';
		if (header_get(h, key) != NULL) {
			snprintf(err, errlen, "header key '%s' given twice",
			    key);
			free(key);
			free(val);
			return -1;
		}
		errstr = NULL;
		if (strcmp(key, "kind") == 0 && kind_parse(val) == KIND_UNKNOWN)
			errstr = "kind must be text, dense or sparse";
		else if (strcmp(key, "dim") == 0) {
			num_parse(val, 1, INT32_MAX, &errstr);
			if (errstr != NULL)
				errstr = "dim must be a positive integer";
		}
		if (errstr != NULL) {
			snprintf(err, errlen, "header: %s, not '%s'", errstr,
			    val);
			free(key);
			free(val);
			return -1;
		}
		header_set(h, key, val);
		free(key);
		free(val);
	}
	return 0;
}

/* ---- records ---- */

void
record_init(struct record *r)
{
	memset(r, 0, sizeof(*r));
}

void
record_free(struct record *r)
{
	size_t	 i;

	free(r->id.s);
	for (i = 0; i < r->pl_cap; i++)
		free(r->payload[i].s);
	free(r->payload);
	free(r->pl_caps);
	free(r->text.s);
	free(r->vec);
	free(r->idx);
	free(r->val);
	record_init(r);
}

/* Copy s into f, growing its buffer (capacity *cap) as needed. */
static void
field_set(struct field *f, size_t *cap, const char *s, size_t len)
{
	if (len + 1 > *cap) {
		*cap = len + 1 > 2 * *cap ? len + 1 : 2 * *cap;
		f->s = xreallocarray(f->s, *cap, 1);
	}
	if (len > 0)
		memcpy(f->s, s, len);
	f->s[len] = '\0';
	f->len = len;
}

void
record_set_id(struct record *r, const char *s, size_t len)
{
	field_set(&r->id, &r->id_cap, s, len);
}

/* The next payload slot, its buffer kept from earlier records. */
static struct field *
payload_slot(struct record *r, size_t **cap)
{
	size_t	 n;

	if (r->npayload == r->pl_cap) {
		n = r->pl_cap ? r->pl_cap * 2 : 4;
		r->payload = xreallocarray(r->payload, n, sizeof(*r->payload));
		r->pl_caps = xreallocarray(r->pl_caps, n, sizeof(*r->pl_caps));
		memset(r->payload + r->pl_cap, 0,
		    (n - r->pl_cap) * sizeof(*r->payload));
		memset(r->pl_caps + r->pl_cap, 0,
		    (n - r->pl_cap) * sizeof(*r->pl_caps));
		r->pl_cap = n;
	}
	*cap = &r->pl_caps[r->npayload];
	return &r->payload[r->npayload++];
}

void
record_add_payload(struct record *r, const char *s, size_t len)
{
	struct field	*f;
	size_t		*cap;

	f = payload_slot(r, &cap);
	field_set(f, cap, s, len);
}

void
record_clear_payload(struct record *r)
{
	r->npayload = 0;
}

void
record_set_text(struct record *r, const char *s, size_t len)
{
	r->kind = KIND_TEXT;
	field_set(&r->text, &r->text_cap, s, len);
}

/* Room for n floats in r->vec. */
static void
vec_reserve(struct record *r, size_t n)
{
	if (n > r->vec_cap) {
		r->vec_cap = n > 2 * r->vec_cap ? n : 2 * r->vec_cap;
		r->vec = xreallocarray(r->vec, r->vec_cap, sizeof(float));
	}
}

/* Room for n sparse pairs. */
static void
sparse_reserve(struct record *r, size_t n)
{
	if (n > r->sp_cap) {
		r->sp_cap = n > 2 * r->sp_cap ? n : 2 * r->sp_cap;
		r->idx = xreallocarray(r->idx, r->sp_cap, sizeof(uint32_t));
		r->val = xreallocarray(r->val, r->sp_cap, sizeof(float));
	}
}

void
record_set_dense(struct record *r, const float *v, size_t dim)
{
	r->kind = KIND_DENSE;
	vec_reserve(r, dim);
	if (dim > 0)
		memcpy(r->vec, v, dim * sizeof(float));
	r->dim = dim;
}

void
record_set_sparse(struct record *r, const uint32_t *idx, const float *val,
    size_t nnz)
{
	r->kind = KIND_SPARSE;
	sparse_reserve(r, nnz);
	if (nnz > 0) {
		memcpy(r->idx, idx, nnz * sizeof(uint32_t));
		memcpy(r->val, val, nnz * sizeof(float));
	}
	r->nnz = nnz;
}

void
record_copy(struct record *dst, const struct record *src)
{
	size_t	 i;

	record_set_id(dst, src->id.s, src->id.len);
	record_clear_payload(dst);
	for (i = 0; i < src->npayload; i++)
		record_add_payload(dst, src->payload[i].s,
		    src->payload[i].len);
	switch (src->kind) {
	case KIND_TEXT:
		record_set_text(dst, src->text.s, src->text.len);
		break;
	case KIND_DENSE:
		record_set_dense(dst, src->vec, src->dim);
		break;
	case KIND_SPARSE:
		record_set_sparse(dst, src->idx, src->val, src->nnz);
		break;
	default:
		dst->kind = KIND_UNKNOWN;
	}
	dst->line = src->line;
}

/* ---- reading ---- */

/* Set the error message "NAME: fmt" or "NAME:LINE: fmt"; return -1. */
static int
fail(struct stream *st, int *status, int code, int with_line,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (!with_line)
		n = snprintf(st->err, sizeof(st->err), "%s: ", st->name);
	else if (st->binary)
		n = snprintf(st->err, sizeof(st->err), "%s: frame %ju: ",
		    st->name, st->lineno);
	else
		n = snprintf(st->err, sizeof(st->err), "%s:%ju: ", st->name,
		    st->lineno);
	if (n < 0 || (size_t)n >= sizeof(st->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(st->err + n, sizeof(st->err) - (size_t)n, fmt, ap);
	va_end(ap);
	*status = code;
	return -1;
}

/*
 * Check a header met in the stream.  The first becomes the stream's;
 * a later one must be compatible with it.
 */
static int
take_header(struct stream *st, const char *s, size_t len, int first,
    int *status)
{
	char		 msg[256];
	const char	*why;
	struct header	*h = first ? &st->hdr : &st->later;

	if (header_parse(h, s, len, msg, sizeof(msg)) == -1)
		return fail(st, status, EX_DATAERR, 1, "%s", msg);
	if (first) {
		st->kind = header_kind(h);
		st->dim = header_dim(h);
		if (st->kind != KIND_DENSE && st->kind != KIND_SPARSE &&
		    st->dim != 0 && st->kind != KIND_UNKNOWN)
			return fail(st, status, EX_DATAERR, 1,
			    "header: dim= given for a %s stream",
			    kind_name(st->kind));
		if (st->opts.expect != KIND_UNKNOWN &&
		    st->kind != KIND_UNKNOWN && st->kind != st->opts.expect)
			return fail(st, status, EX_DATAERR, 1,
			    "expected a %s stream, found kind=%s",
			    kind_name(st->opts.expect), kind_name(st->kind));
		if (st->kind == KIND_UNKNOWN)
			st->kind = st->opts.expect;
		return 0;
	}
	if (header_compatible(&st->hdr, h, &why) == -1)
		return fail(st, status, EX_DATAERR, 1,
		    "header disagrees with the first: %s", why);
	return 0;
}

static int	read_binary_header(struct stream *, int, int *);

struct stream *
stream_fopen(FILE *fp, const char *name, const struct stream_opts *opts,
    const char **errstr, int *status)
{
	static char	 openerr[512];
	struct stream	*st;
	int		 c;

	st = xcalloc(1, sizeof(*st));
	st->fp = fp;
	st->name = xstrdup(name == NULL || strcmp(name, "-") == 0 ?
	    "stdin" : name);
	if (opts != NULL)
		st->opts = *opts;
	st->kind = st->opts.expect;
	st->pending = -1;
	big_buffer(fp);

	if ((c = getc(fp)) == EOF) {
		if (ferror(fp)) {
			fail(st, status, EX_IOERR, 0, "%s", strerror(errno));
			goto bad;
		}
		st->eof = 1;
		return st;
	}
	if (c == magic[0]) {
		st->binary = 1;
		if (read_binary_header(st, 1, status) == -1)
			goto bad;
		return st;
	}
	if (ungetc(c, fp) == EOF) {
		fail(st, status, EX_IOERR, 0, "%s", strerror(errno));
		goto bad;
	}
	if (c == '#') {
		st->pending = getline(&st->line, &st->line_cap, fp);
		if (st->pending < 0) {
			fail(st, status, EX_IOERR, 0, "%s", strerror(errno));
			goto bad;
		}
		if (st->pending >= 3 && memcmp(st->line, "#ds", 3) == 0 &&
		    (st->pending == 3 || st->line[3] == ' ' ||
		    st->line[3] == '\n' || st->line[3] == '\r')) {
			st->lineno = 1;
			st->bytes = (uintmax_t)st->pending;
			while (st->pending > 3 &&
			    (st->line[st->pending - 1] == '\n' ||
			    st->line[st->pending - 1] == '\r'))
				st->pending--;
			if (take_header(st, st->line + 3,
			    (size_t)st->pending - 3, 1, status) == -1)
				goto bad;
			st->pending = -1;
		}
	}
	return st;
bad:
	snprintf(openerr, sizeof(openerr), "%s", st->err);
	*errstr = openerr;
	st->fp = NULL;
	stream_close(st);
	return NULL;
}

struct stream *
stream_open(const char *path, const struct stream_opts *opts,
    const char **errstr, int *status)
{
	static char	 openerr[512];
	FILE		*fp;
	struct stream	*st;

	if (path == NULL || strcmp(path, "-") == 0)
		return stream_fopen(stdin, "-", opts, errstr, status);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(openerr, sizeof(openerr), "%s: %s", path,
		    strerror(errno));
		*errstr = openerr;
		*status = EX_NOINPUT;
		return NULL;
	}
	if ((st = stream_fopen(fp, path, opts, errstr, status)) == NULL) {
		fclose(fp);
		return NULL;
	}
	st->own = 1;
	return st;
}

const struct header *
stream_header(const struct stream *st)
{
	return &st->hdr;
}

const char *
stream_name(const struct stream *st)
{
	return st->name;
}

int
stream_is_binary(const struct stream *st)
{
	return st->binary;
}

uintmax_t
stream_bytes(const struct stream *st)
{
	return st->bytes;
}

uintmax_t
stream_body_offset(const struct stream *st)
{
	return st->binary ? st->body_off : 0;
}

void
stream_close(struct stream *st)
{
	if (st == NULL)
		return;
	if (st->own && st->fp != NULL)
		fclose(st->fp);
	header_free(&st->hdr);
	header_free(&st->later);
	free(st->name);
	free(st->line);
	free(st->frame);
	free(st);
}

/*
 * Undo the field escapes \t \n \r \\ of s[0..len) into f.  A backslash
 * before any other byte, or at the end, stands for itself.
 */
static void
unescape(struct field *f, size_t *cap, const char *s, size_t len)
{
	char	*p, *q, *end;

	field_set(f, cap, s, len);
	if ((p = memchr(f->s, '\\', len)) == NULL)
		return;
	end = f->s + len;
	for (q = p; p < end; p++) {
		if (*p == '\\' && p + 1 < end) {
			switch (p[1]) {
			case 't': *q++ = '\t'; p++; continue;
			case 'n': *q++ = '\n'; p++; continue;
			case 'r': *q++ = '\r'; p++; continue;
			case '\\': *q++ = '\\'; p++; continue;
			}
		}
		*q++ = *p;
	}
	*q = '\0';
	f->len = (size_t)(q - f->s);
}

/* Parse a dense body: floats separated by spaces. */
static int
parse_dense(struct stream *st, struct record *r, const char *s, size_t len,
    int *status)
{
	const char	*p = s, *end = s + len, *w;
	size_t		 n = 0, used, cap;
	float		 v;

	/*
	 * As many as dim= says, but no more than the line can hold (a value
	 * and a space are two bytes at least): a header is no reason to
	 * allocate.
	 */
	cap = st->dim ? st->dim : 64;
	vec_reserve(r, cap < len / 2 + 1 ? cap : len / 2 + 1);
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		used = numfmt_parse_float(p, (size_t)(end - p), &v);
		if (used == 0 || (p + used < end && p[used] != ' ')) {
			for (w = p; w < end && *w != ' '; w++)
				;
			return fail(st, status, EX_DATAERR, 1,
			    "value %zu is not a number: '%.*s'", n + 1,
			    (int)(w - p > 40 ? 40 : w - p), p);
		}
		if (!isfinite(v) && !st->opts.allow_nonfinite && !st->sniffing)
			return fail(st, status, EX_DATAERR, 1,
			    "value %zu is not finite (%.*s)", n + 1,
			    (int)used, p);
		if (n == r->vec_cap)
			vec_reserve(r, n + 1);
		r->vec[n++] = v;
		p += used;
	}
	if (st->dim != 0 && n != st->dim)
		return fail(st, status, EX_DATAERR, 1,
		    "expected %zu floats, found %zu", st->dim, n);
	if (n == 0)
		return fail(st, status, EX_DATAERR, 1, "empty vector");
	r->kind = KIND_DENSE;
	r->dim = n;
	return 0;
}

/* The checks on sparse pair n (ix:v) beyond its syntax. */
static int
check_pair(struct stream *st, const struct record *r, size_t n, uint64_t ix,
    float v, size_t used, const char *p, int *status)
{
	if (!isfinite(v) && !st->opts.allow_nonfinite)
		return fail(st, status, EX_DATAERR, 1,
		    "pair %zu: value is not finite (%.*s)", n + 1,
		    (int)used, p);
	if (n > 0 && ix <= r->idx[n - 1])
		return fail(st, status, EX_DATAERR, 1,
		    ix == r->idx[n - 1] ? "duplicate index %" PRIu64 :
		    "index %" PRIu64 " after %" PRIu32
		    ": indexes must ascend", ix, r->idx[n - 1]);
	if (st->dim != 0 && ix >= st->dim)
		return fail(st, status, EX_DATAERR, 1,
		    "index %" PRIu64 " out of range (dim=%zu)", ix,
		    st->dim);
	return 0;
}

/* Parse a sparse body: index:value pairs, indexes strictly ascending. */
static int
parse_sparse(struct stream *st, struct record *r, const char *s, size_t len,
    int *status)
{
	const char	*p = s, *end = s + len, *w;
	size_t		 n = 0, used;
	uint64_t	 ix;
	float		 v;

	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		w = p;
		for (ix = 0; p < end && *p >= '0' && *p <= '9' &&
		    ix <= UINT32_MAX; p++)
			ix = ix * 10 + (uint64_t)(*p - '0');
		if (p == w || p == end || *p != ':' || ix > UINT32_MAX) {
			while (p < end && *p != ' ')
				p++;
			return fail(st, status, EX_DATAERR, 1,
			    "pair %zu is not index:value: '%.*s'", n + 1,
			    (int)(p - w > 40 ? 40 : p - w), w);
		}
		p++;
		used = numfmt_parse_float(p, (size_t)(end - p), &v);
		if (used == 0 || (p + used < end && p[used] != ' ')) {
			while (p < end && *p != ' ')
				p++;
			return fail(st, status, EX_DATAERR, 1,
			    "pair %zu is not index:value: '%.*s'", n + 1,
			    (int)(p - w > 40 ? 40 : p - w), w);
		}
		if (!st->sniffing && check_pair(st, r, n, ix, v, used, p,
		    status) == -1)
			return -1;
		if (n == r->sp_cap)
			sparse_reserve(r, n + 1);
		r->idx[n] = (uint32_t)ix;
		r->val[n++] = v;
		p += used;
	}
	r->kind = KIND_SPARSE;
	r->nnz = n;
	return 0;
}

/*
 * Parse a body of the stream's kind.  A stream that has not said its
 * kind takes it from its first record: numbers make it dense, index:value
 * pairs sparse, anything else text.
 */
static int
parse_body(struct stream *st, struct record *r, const char *s, size_t len,
    int *status)
{
	char	 saved[sizeof(st->err)];
	char	 num[32];

	if (st->kind == KIND_UNKNOWN) {
		memcpy(saved, st->err, sizeof(saved));
		st->sniffing = 1;
		if (parse_dense(st, r, s, len, status) == 0)
			st->kind = KIND_DENSE;
		else if (memchr(s, ':', len) != NULL &&
		    parse_sparse(st, r, s, len, status) == 0)
			st->kind = KIND_SPARSE;
		else
			st->kind = KIND_TEXT;
		st->sniffing = 0;
		memcpy(st->err, saved, sizeof(saved));
		header_set(&st->hdr, "kind", kind_name(st->kind));
	}
	switch (st->kind) {
	case KIND_DENSE:
		if (parse_dense(st, r, s, len, status) == -1)
			return -1;
		if (st->dim == 0) {
			st->dim = r->dim;
			snprintf(num, sizeof(num), "%zu", st->dim);
			header_set(&st->hdr, "dim", num);
		}
		return 0;
	case KIND_SPARSE:
		return parse_sparse(st, r, s, len, status);
	default:
		unescape(&r->text, &r->text_cap, s, len);
		r->kind = KIND_TEXT;
		return 0;
	}
}

static int
read_tsv(struct stream *st, struct record *r, int *status)
{
	ssize_t		 len;
	char		*line, *tab, *next, num[32];
	size_t		 bad, *cap;
	uintmax_t	 start;
	struct field	*f;

	for (;;) {
		if (st->pending >= 0) {
			len = st->pending;
			st->pending = -1;
		} else if ((len = getline(&st->line, &st->line_cap,
		    st->fp)) == -1) {
			if (ferror(st->fp))
				return fail(st, status, EX_IOERR, 0, "%s",
				    strerror(errno));
			st->eof = 1;
			return 0;
		}
		start = st->bytes;
		st->bytes += (uintmax_t)len;
		st->lineno++;
		line = st->line;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len >= 3 && memcmp(line, "#ds", 3) == 0 &&
		    (len == 3 || line[3] == ' ')) {
			if (take_header(st, line + 3, (size_t)len - 3,
			    0, status) == -1)
				return -1;
			continue;
		}
		break;
	}
	if ((bad = utf8_valid_prefix(line, (size_t)len)) != (size_t)len)
		return fail(st, status, EX_DATAERR, 1,
		    "invalid UTF-8 at byte offset %ju", start + bad);
	r->line = st->lineno;
	r->npayload = 0;
	if ((tab = memchr(line, '\t', (size_t)len)) == NULL) {
		snprintf(num, sizeof(num), "%ju", st->lineno);
		record_set_id(r, num, strlen(num));
		return parse_body(st, r, line, (size_t)len, status) == -1 ?
		    -1 : 1;
	}
	unescape(&r->id, &r->id_cap, line, (size_t)(tab - line));
	for (;;) {
		line = tab + 1;
		next = memchr(line, '\t', (size_t)(st->line + len - line));
		if (next == NULL)
			break;
		f = payload_slot(r, &cap);
		unescape(f, cap, line, (size_t)(next - line));
		tab = next;
	}
	return parse_body(st, r, line, (size_t)(st->line + len - line),
	    status) == -1 ? -1 : 1;
}

/* ---- binary form ---- */

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Copy n little-endian 32-bit words from src to dst. */
static void
copy_le32(void *dst, const void *src, size_t n)
{
	uint32_t	*d = dst;
	const unsigned char *s = src;
	size_t		 i;

	if (n == 0)
		return;
	if (host_little_endian()) {
		memcpy(dst, src, n * 4);
		return;
	}
	for (i = 0; i < n; i++)
		d[i] = get_u32(s + 4 * i);
}

/* Read exactly n bytes.  Returns n, or fewer at the end of input. */
static size_t
read_bytes(struct stream *st, void *buf, size_t n)
{
	size_t	 got;

	got = fread(buf, 1, n, st->fp);
	st->bytes += got;
	return got;
}

/*
 * Read a binary header whose first `have` magic bytes were read already
 * and matched.
 */
static int
read_binary_header(struct stream *st, int have, int *status)
{
	unsigned char	 b[8];
	uint32_t	 version, hlen;
	char		*text;
	int		 rc;

	st->bytes += (uintmax_t)(have == 1 ? 1 : 0);
	if (read_bytes(st, b, 8 - (size_t)have) != 8 - (size_t)have ||
	    memcmp(b, magic + have, 8 - (size_t)have) != 0) {
		if (ferror(st->fp))
			return fail(st, status, EX_IOERR, 0, "%s",
			    strerror(errno));
		return fail(st, status, EX_DATAERR, 0,
		    "bad magic: not a ds binary stream");
	}
	if (read_bytes(st, b, 8) != 8)
		return fail(st, status, EX_DATAERR, 0,
		    "truncated binary header");
	version = get_u32(b);
	hlen = get_u32(b + 4);
	if (version != BIN_VERSION)
		return fail(st, status, EX_DATAERR, 0,
		    "unsupported binary version %" PRIu32 " (this reads %d)",
		    version, BIN_VERSION);
	if (hlen > 65536)
		return fail(st, status, EX_DATAERR, 0,
		    "binary header of %" PRIu32 " bytes is too long", hlen);
	text = xmalloc((size_t)hlen + 1);
	if (read_bytes(st, text, hlen) != hlen) {
		free(text);
		return fail(st, status, EX_DATAERR, 0,
		    "truncated binary header");
	}
	text[hlen] = '\0';
	rc = take_header(st, text, hlen, have == 1, status);
	free(text);
	if (rc == -1)
		return -1;
	if (have == 1 && header_kind(&st->hdr) == KIND_UNKNOWN)
		return fail(st, status, EX_DATAERR, 0,
		    "binary header has no kind=");
	return 0;
}

/* A bounds-checked cursor over one frame. */
struct cursor {
	const unsigned char	*p, *end;
};

static int
cur_u32(struct cursor *c, uint32_t *v)
{
	if (c->end - c->p < 4)
		return -1;
	*v = get_u32(c->p);
	c->p += 4;
	return 0;
}

/* A length-prefixed byte string; its bytes stay in the frame. */
static int
cur_bytes(struct cursor *c, const unsigned char **s, uint32_t *len)
{
	if (cur_u32(c, len) == -1 || (size_t)(c->end - c->p) < *len)
		return -1;
	*s = c->p;
	c->p += *len;
	return 0;
}

static int
check_utf8(struct stream *st, const unsigned char *s, size_t len,
    const char *what, int *status)
{
	size_t	 bad;

	if ((bad = utf8_valid_prefix((const char *)s, len)) != len)
		return fail(st, status, EX_DATAERR, 1,
		    "invalid UTF-8 in %s at byte %zu", what, bad);
	return 0;
}

/* Decode one frame's contents (st->frame, n bytes) into r. */
static int
decode_frame(struct stream *st, struct record *r, size_t n, int *status)
{
	struct cursor	 c;
	const unsigned char *s;
	uint32_t	 len, np, i, cnt;
	struct field	*f;
	size_t		*cap;

	/* An empty first frame leaves st->frame NULL: no arithmetic on it. */
	if (n == 0)
		goto short_frame;
	c.p = st->frame;
	c.end = st->frame + n;
	if (cur_bytes(&c, &s, &len) == -1)
		goto short_frame;
	if (check_utf8(st, s, len, "the id", status) == -1)
		return -1;
	record_set_id(r, (const char *)s, len);
	if (cur_u32(&c, &np) == -1)
		goto short_frame;
	r->npayload = 0;
	for (i = 0; i < np; i++) {
		if (cur_bytes(&c, &s, &len) == -1)
			goto short_frame;
		if (check_utf8(st, s, len, "a payload field", status) == -1)
			return -1;
		f = payload_slot(r, &cap);
		field_set(f, cap, (const char *)s, len);
	}
	if (cur_u32(&c, &cnt) == -1)
		goto short_frame;
	switch (st->kind) {
	case KIND_TEXT:
		if ((size_t)(c.end - c.p) < cnt)
			goto short_frame;
		if (check_utf8(st, c.p, cnt, "the text", status) == -1)
			return -1;
		record_set_text(r, (const char *)c.p, cnt);
		c.p += cnt;
		break;
	case KIND_DENSE:
		if ((size_t)(c.end - c.p) / 4 < cnt)
			goto short_frame;
		if (st->dim != 0 && cnt != st->dim)
			return fail(st, status, EX_DATAERR, 1,
			    "expected %zu floats, found %" PRIu32, st->dim,
			    cnt);
		if (cnt == 0)
			return fail(st, status, EX_DATAERR, 1, "empty vector");
		vec_reserve(r, cnt);
		st->body_off = st->bytes - (uintmax_t)(c.end - c.p);
		copy_le32(r->vec, c.p, cnt);
		r->kind = KIND_DENSE;
		r->dim = cnt;
		c.p += 4 * (size_t)cnt;
		if (!st->opts.allow_nonfinite)
			for (i = 0; i < cnt; i++)
				if (!isfinite(r->vec[i]))
					return fail(st, status, EX_DATAERR, 1,
					    "value %" PRIu32 " is not finite",
					    i + 1);
		if (st->dim == 0) {
			char	 num[32];

			st->dim = cnt;
			snprintf(num, sizeof(num), "%zu", st->dim);
			header_set(&st->hdr, "dim", num);
		}
		break;
	case KIND_SPARSE:
		if ((size_t)(c.end - c.p) / 8 < cnt)
			goto short_frame;
		sparse_reserve(r, cnt);
		copy_le32(r->idx, c.p, cnt);
		copy_le32(r->val, c.p + 4 * (size_t)cnt, cnt);
		c.p += 8 * (size_t)cnt;
		r->kind = KIND_SPARSE;
		r->nnz = cnt;
		for (i = 0; i < cnt; i++) {
			if (i > 0 && r->idx[i] <= r->idx[i - 1])
				return fail(st, status, EX_DATAERR, 1,
				    "sparse indexes not ascending at pair %"
				    PRIu32, i + 1);
			if (st->dim != 0 && r->idx[i] >= st->dim)
				return fail(st, status, EX_DATAERR, 1,
				    "index %" PRIu32 " out of range (dim=%zu)",
				    r->idx[i], st->dim);
			if (!st->opts.allow_nonfinite && !isfinite(r->val[i]))
				return fail(st, status, EX_DATAERR, 1,
				    "pair %" PRIu32 ": value is not finite",
				    i + 1);
		}
		break;
	default:
		return fail(st, status, EX_DATAERR, 1, "unknown kind");
	}
	if (c.p != c.end)
		return fail(st, status, EX_DATAERR, 1,
		    "%zu bytes left over after the body",
		    (size_t)(c.end - c.p));
	return 0;
short_frame:
	return fail(st, status, EX_DATAERR, 1,
	    "lengths inside the frame overrun its size");
}

static int
read_binary(struct stream *st, struct record *r, int *status)
{
	unsigned char	 b[4];
	size_t		 got, want, size;

	for (;;) {
		got = read_bytes(st, b, 4);
		if (got == 0) {
			if (ferror(st->fp))
				return fail(st, status, EX_IOERR, 0, "%s",
				    strerror(errno));
			st->eof = 1;
			return 0;
		}
		st->lineno++;
		if (got < 4)
			return fail(st, status, EX_DATAERR, 1,
			    "truncated frame");
		if (memcmp(b, magic, 4) == 0) {
			st->lineno--;
			if (read_binary_header(st, 4, status) == -1)
				return -1;
			continue;
		}
		break;
	}
	size = get_u32(b);
	if (size >= FRAME_MAX)
		return fail(st, status, EX_DATAERR, 1,
		    "frame size %zu is too large", size);
	/* Grow with the data that arrives, not with what the size claims. */
	for (got = 0; got < size; got += want) {
		if (got == st->frame_cap) {
			st->frame_cap = st->frame_cap ? 2 * st->frame_cap :
			    65536;
			st->frame = xreallocarray(st->frame, st->frame_cap, 1);
		}
		want = (st->frame_cap < size ? st->frame_cap : size) - got;
		if (read_bytes(st, st->frame + got, want) != want) {
			if (ferror(st->fp))
				return fail(st, status, EX_IOERR, 0, "%s",
				    strerror(errno));
			return fail(st, status, EX_DATAERR, 1,
			    "truncated frame");
		}
	}
	r->line = st->lineno;
	return decode_frame(st, r, size, status) == -1 ? -1 : 1;
}

int
stream_read(struct stream *st, struct record *r, const char **errstr,
    int *status)
{
	int	 rc;

	if (st->eof)
		return 0;
	rc = st->binary ? read_binary(st, r, status) :
	    read_tsv(st, r, status);
	if (rc == -1)
		*errstr = st->err;
	return rc;
}

/* ---- writing ---- */

struct writer {
	FILE		*fp;
	int		 binary;
	enum stream_kind kind;
	size_t		 dim;
	unsigned char	*buf;
	size_t		 len, cap;	/* the record being written */
	int		 failed;	/* a write failed */
};

static void
out_reserve(struct writer *w, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = w->len + n > 2 * w->cap ? w->len + n : 2 * w->cap;
		w->buf = xreallocarray(w->buf, w->cap, 1);
	}
}

static void
out_put(struct writer *w, const void *s, size_t n)
{
	if (n == 0)
		return;
	out_reserve(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void
out_u32(struct writer *w, uint32_t v)
{
	out_reserve(w, 4);
	put_u32(w->buf + w->len, v);
	w->len += 4;
}

/* Append n 32-bit words little-endian. */
static void
out_le32(struct writer *w, const void *src, size_t n)
{
	const uint32_t	*s = src;
	size_t		 i;

	if (n == 0)
		return;
	out_reserve(w, 4 * n);
	if (host_little_endian())
		memcpy(w->buf + w->len, src, 4 * n);
	else
		for (i = 0; i < n; i++)
			put_u32(w->buf + w->len + 4 * i, s[i]);
	w->len += 4 * n;
}

/* Append s escaped as a TSV field (or, in a header, a value: spaced). */
static void
out_escaped(struct writer *w, const char *s, size_t len, int header)
{
	size_t	 i;
	char	 c;

	out_reserve(w, 2 * len);
	for (i = 0; i < len; i++) {
		c = s[i];
		switch (c) {
		case '\t': c = 't'; break;
		case '\n': c = 'n'; break;
		case '\r': c = 'r'; break;
		case '\\': break;
		case ' ':
			if (header) {
				c = 's';
				break;
			}
			/* FALLTHROUGH */
		default:
			w->buf[w->len++] = (unsigned char)c;
			continue;
		}
		w->buf[w->len++] = '\\';
		w->buf[w->len++] = (unsigned char)c;
	}
}

/* The header's words as text: "key=value key=value". */
static void
out_header_words(struct writer *w, const struct header *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++) {
		if (i > 0)
			out_put(w, " ", 1);
		out_put(w, h->words[i].key, strlen(h->words[i].key));
		out_put(w, "=", 1);
		out_escaped(w, h->words[i].value, strlen(h->words[i].value),
		    1);
	}
}

/* Hand the record in w->buf to stdio. */
static int
hand_over(struct writer *w)
{
	if (w->len > 0 && fwrite(w->buf, 1, w->len, w->fp) != w->len)
		w->failed = 1;
	w->len = 0;
	return w->failed ? -1 : 0;
}

int
writer_default_binary(void)
{
	const char	*v;

	return (v = getenv("DS_FORMAT")) != NULL && strcmp(v, "binary") == 0;
}

struct writer *
writer_open(FILE *fp, int binary, const struct header *h)
{
	struct writer	*w;
	size_t		 hstart;

	w = xcalloc(1, sizeof(*w));
	w->fp = fp;
	big_buffer(fp);
	w->binary = binary == -1 ? writer_default_binary() : binary;
	w->kind = header_kind(h);
	w->dim = header_dim(h);
	if (w->binary) {
		assert(w->kind != KIND_UNKNOWN);
		out_put(w, magic, sizeof(magic));
		out_u32(w, BIN_VERSION);
		out_u32(w, 0);
		hstart = w->len;
		out_header_words(w, h);
		put_u32(w->buf + hstart - 4, (uint32_t)(w->len - hstart));
	} else if (h->n > 0) {
		out_put(w, "#ds ", 4);
		out_header_words(w, h);
		out_put(w, "\n", 1);
	}
	hand_over(w);
	return w;
}

static void
tsv_body(struct writer *w, const struct record *r)
{
	char	 num[NUMFMT_FLOAT_MAX + 1];
	size_t	 i, n;

	switch (r->kind) {
	case KIND_TEXT:
		out_escaped(w, r->text.s, r->text.len, 0);
		break;
	case KIND_DENSE:
		out_reserve(w, r->dim * (NUMFMT_FLOAT_MAX + 1));
		for (i = 0; i < r->dim; i++) {
			if (i > 0)
				w->buf[w->len++] = ' ';
			n = numfmt_float((char *)w->buf + w->len, r->vec[i]);
			w->len += n;
		}
		break;
	case KIND_SPARSE:
		out_reserve(w, r->nnz * (NUMFMT_FLOAT_MAX + 13));
		for (i = 0; i < r->nnz; i++) {
			n = (size_t)snprintf(num, sizeof(num), "%s%" PRIu32
			    ":", i > 0 ? " " : "", r->idx[i]);
			memcpy(w->buf + w->len, num, n);
			w->len += n;
			n = numfmt_float((char *)w->buf + w->len, r->val[i]);
			w->len += n;
		}
		break;
	default:
		break;
	}
}

static void
binary_frame(struct writer *w, const struct record *r)
{
	size_t	 start, i;

	out_u32(w, 0);
	start = w->len;
	out_u32(w, (uint32_t)r->id.len);
	out_put(w, r->id.s, r->id.len);
	out_u32(w, (uint32_t)r->npayload);
	for (i = 0; i < r->npayload; i++) {
		out_u32(w, (uint32_t)r->payload[i].len);
		out_put(w, r->payload[i].s, r->payload[i].len);
	}
	switch (r->kind) {
	case KIND_TEXT:
		out_u32(w, (uint32_t)r->text.len);
		out_put(w, r->text.s, r->text.len);
		break;
	case KIND_DENSE:
		out_u32(w, (uint32_t)r->dim);
		out_le32(w, r->vec, r->dim);
		break;
	case KIND_SPARSE:
		out_u32(w, (uint32_t)r->nnz);
		out_le32(w, r->idx, r->nnz);
		out_le32(w, r->val, r->nnz);
		break;
	default:
		break;
	}
	put_u32(w->buf + start - 4, (uint32_t)(w->len - start));
}

int
writer_write(struct writer *w, const struct record *r)
{
	size_t	 i;

	assert(w->kind == KIND_UNKNOWN || r->kind == w->kind);
	assert(r->kind != KIND_DENSE || w->dim == 0 || r->dim == w->dim);
	w->len = 0;
	if (w->binary)
		binary_frame(w, r);
	else {
		out_escaped(w, r->id.s, r->id.len, 0);
		out_put(w, "\t", 1);
		for (i = 0; i < r->npayload; i++) {
			out_escaped(w, r->payload[i].s, r->payload[i].len, 0);
			out_put(w, "\t", 1);
		}
		tsv_body(w, r);
		out_put(w, "\n", 1);
	}
	return hand_over(w);
}

int
writer_flush(struct writer *w)
{
	if (fflush(w->fp) == EOF) {
		w->failed = 1;
		return -1;
	}
	return 0;
}

int
writer_close(struct writer *w)
{
	int	 rc;

	if (w == NULL)
		return 0;
	rc = w->failed ? -1 : 0;
	free(w->buf);
	free(w);
	return rc;
}
