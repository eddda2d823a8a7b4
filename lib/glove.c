/* glove: map a GloVe model file, tokenize text to its vocabulary, SIF. */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datadir.h"
#include "glove.h"
#include "util.h"

struct glove {
	char			*path;
	const unsigned char	*map;
	size_t			 size;
	size_t			 dim, nwords, slots, max_probe, max_word;
	int			 type;
	double			 ah, zb;	/* SIF a * Zipf h, Zipf b */
	const char		*pool;
	size_t			 pool_size;
	const uint32_t		*woff, *hash;
	const float		*pc, *scale;
	const float		*vf;		/* GLOVE_F32 rows */
	const signed char	*vq;		/* GLOVE_I8 rows */
};

static char	errbuf[1024];

static const char *
fail(int *status, int code, const char *path, const char *what)
{
	snprintf(errbuf, sizeof(errbuf), "%s: %s", path, what);
	*status = code;
	return errbuf;
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static float
rdf32(const unsigned char *p)
{
	uint32_t	u = rd32(p);
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

uint64_t
glove_hash(const char *s, size_t len)
{
	return hash_fnv1a64(s, len);
}

/*
 * Is the section [off, off + count * size) inside the file, after the
 * header, and aligned for its element type?  Counts come from the
 * checked header, so the product cannot overflow 64 bits.
 */
static int
section_ok(uint64_t off, uint64_t count, uint64_t size, uint64_t align,
    uint64_t file_size)
{
	uint64_t	len = count * size;

	return off >= GLOVE_HEADER_SIZE && off % align == 0 &&
	    off <= file_size && len <= file_size - off;
}

struct glove *
glove_open(const char *path, const char **errstr, int *status)
{
	struct glove		*g;
	struct stat		 st;
	const unsigned char	*h;
	void			*map;
	uint64_t		 pool_off, pool_size, woff_off, hash_off, pc_off;
	uint64_t		 scale_off, vec_off, file_size, esize;
	size_t			 i;
	double			 norm2;
	float			 a, zb, zh;
	int			 fd;

	if ((fd = open(path, O_RDONLY)) == -1) {
		*errstr = fail(status, 66, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		*errstr = fail(status, 74, path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		*errstr = fail(status, 66, path, "not a regular file");
		close(fd);
		return NULL;
	}
	if ((uintmax_t)st.st_size < GLOVE_HEADER_SIZE ||
	    (uintmax_t)st.st_size > SIZE_MAX) {
		*errstr = fail(status, 65, path, "too short to be a model file");
		close(fd);
		return NULL;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		*errstr = fail(status, 74, path, strerror(errno));
		return NULL;
	}
	g = xcalloc(1, sizeof(*g));
	g->map = h = map;
	g->size = (size_t)st.st_size;
	g->path = xstrdup(path);

	if (memcmp(h, GLOVE_MAGIC, sizeof(GLOVE_MAGIC)) != 0) {
		*errstr = fail(status, 65, path, "not a model file (bad magic)");
		goto bad;
	}
	if (glove_hash((const char *)h, 120) != rd64(h + 120)) {
		*errstr = fail(status, 65, path, "header checksum mismatch");
		goto bad;
	}
	if (rd32(h + 8) != GLOVE_VERSION) {
		*errstr = fail(status, 65, path, "unsupported version");
		goto bad;
	}
	if (!host_little_endian()) {
		*errstr = fail(status, 65, path, "needs a little-endian host");
		goto bad;
	}
	g->dim = rd32(h + 12);
	g->nwords = rd32(h + 16);
	g->type = (int)rd32(h + 20);
	g->slots = rd32(h + 24);
	g->max_probe = rd32(h + 28);
	g->max_word = rd32(h + 32);
	a = rdf32(h + 36);
	zb = rdf32(h + 40);
	zh = rdf32(h + 44);
	pool_off = rd64(h + 48);
	pool_size = rd64(h + 56);
	woff_off = rd64(h + 64);
	hash_off = rd64(h + 72);
	pc_off = rd64(h + 80);
	scale_off = rd64(h + 88);
	vec_off = rd64(h + 96);
	file_size = rd64(h + 104);

	if (file_size != (uint64_t)st.st_size) {
		*errstr = fail(status, 65, path,
		    "file size differs from its header (truncated?)");
		goto bad;
	}
	if (g->dim < 1 || g->dim > 4096 || g->nwords < 1 ||
	    g->nwords > 0x7fffffff || (g->type != GLOVE_F32 &&
	    g->type != GLOVE_I8) || g->slots <= g->nwords ||
	    (g->slots & (g->slots - 1)) != 0 || g->max_probe < 1 ||
	    g->max_probe > g->slots || g->max_word < 1 ||
	    g->max_word > GLOVE_MAX_WORD) {
		*errstr = fail(status, 65, path, "header counts out of range");
		goto bad;
	}
	if (!(isfinite(a) && a > 0 && isfinite(zb) && zb >= 0 &&
	    isfinite(zh) && zh > 0)) {
		*errstr = fail(status, 65, path,
		    "header weights out of range");
		goto bad;
	}
	esize = g->type == GLOVE_F32 ? 4 : 1;
	if (!section_ok(pool_off, pool_size, 1, 1, file_size) ||
	    pool_size < 2 ||
	    !section_ok(woff_off, g->nwords, 4, 4, file_size) ||
	    !section_ok(hash_off, g->slots, 4, 4, file_size) ||
	    !section_ok(pc_off, g->dim, 4, 4, file_size) ||
	    (g->type == GLOVE_I8 &&
	    !section_ok(scale_off, g->nwords, 4, 4, file_size)) ||
	    !section_ok(vec_off, (uint64_t)g->nwords * g->dim, esize, esize,
	    file_size)) {
		*errstr = fail(status, 65, path,
		    "a section lies outside the file");
		goto bad;
	}
	g->pool = (const char *)h + pool_off;
	g->pool_size = (size_t)pool_size;
	if (g->pool[g->pool_size - 1] != '\0') {
		*errstr = fail(status, 65, path,
		    "word pool is not terminated");
		goto bad;
	}
	g->woff = (const uint32_t *)(const void *)(h + woff_off);
	g->hash = (const uint32_t *)(const void *)(h + hash_off);
	g->pc = (const float *)(const void *)(h + pc_off);
	g->scale = g->type == GLOVE_I8 ?
	    (const float *)(const void *)(h + scale_off) : NULL;
	if (g->type == GLOVE_F32)
		g->vf = (const float *)(const void *)(h + vec_off);
	else
		g->vq = (const signed char *)(h + vec_off);

	/*
	 * The common component must be a finite unit vector, or zero
	 * in a file made without it (to measure what it brings).
	 */
	norm2 = 0;
	for (i = 0; i < g->dim; i++) {
		if (!isfinite(g->pc[i]))
			break;
		norm2 += (double)g->pc[i] * g->pc[i];
	}
	if (i < g->dim || (fabs(norm2 - 1) > 1e-3 && norm2 != 0)) {
		*errstr = fail(status, 65, path,
		    "common component is not a unit vector");
		goto bad;
	}
	g->ah = (double)a * zh;
	g->zb = zb;
	return g;
bad:
	glove_close(g);
	return NULL;
}

size_t
glove_dim(const struct glove *g)
{
	return g->dim;
}

size_t
glove_nwords(const struct glove *g)
{
	return g->nwords;
}

size_t
glove_mapped(const struct glove *g)
{
	return g->size;
}

void
glove_close(struct glove *g)
{
	if (g == NULL)
		return;
	munmap((void *)g->map, g->size);
	free(g->path);
	free(g);
}

/*
 * The row of word s[0..len), -1 when the vocabulary lacks it, -2 when
 * the table points outside the file.
 */
static long
lookup(const struct glove *g, const char *s, size_t len)
{
	size_t		slot, probe, idx;
	uint32_t	v, off;

	if (len == 0 || len > g->max_word)
		return -1;
	slot = (size_t)glove_hash(s, len) & (g->slots - 1);
	for (probe = 0; probe < g->max_probe; probe++) {
		if ((v = g->hash[slot]) == 0)
			return -1;
		idx = v - 1;
		if (idx >= g->nwords)
			return -2;
		if ((off = g->woff[idx]) >= g->pool_size)
			return -2;
		if (len < g->pool_size - off &&
		    g->pool[off + len] == '\0' &&
		    memcmp(g->pool + off, s, len) == 0)
			return (long)idx;
		slot = (slot + 1) & (g->slots - 1);
	}
	return -1;
}

/* What the tokenizer does with each token. */
struct sink {
	const struct glove	*g;
	float			*out;	/* glove_embed: the running sum */
	void	(*fn)(const char *, size_t, long, void *);
	void			*arg;
	long			 known;
	int			 corrupt;
};

static void
emit(struct sink *k, const char *s, size_t len)
{
	const struct glove	*g = k->g;
	float			*out;
	long			 idx;
	double			 x;
	float			 w;
	size_t			 i, d = g->dim;

	if ((idx = lookup(g, s, len)) == -2) {
		k->corrupt = 1;
		return;
	}
	if (k->fn != NULL)
		k->fn(s, len, idx, k->arg);
	if (idx < 0)
		return;
	k->known++;
	if ((out = k->out) == NULL)
		return;
	/*
	 * SIF weight a / (a + p) with p = 1 / (h * (rank + b)), written
	 * as x / (x + 1) with x = a * h * (rank + b).
	 */
	x = g->ah * ((double)idx + 1 + g->zb);
	w = (float)(x / (x + 1));
	/* Four at a time, which compilers turn into vector instructions. */
	if (g->type == GLOVE_F32) {
		const float	*v = g->vf + (size_t)idx * d;

		for (i = 0; i + 4 <= d; i += 4) {
			out[i] += w * v[i];
			out[i + 1] += w * v[i + 1];
			out[i + 2] += w * v[i + 2];
			out[i + 3] += w * v[i + 3];
		}
		for (; i < d; i++)
			out[i] += w * v[i];
	} else {
		const signed char	*q = g->vq + (size_t)idx * d;

		w *= g->scale[idx];
		for (i = 0; i + 4 <= d; i += 4) {
			out[i] += w * (float)q[i];
			out[i + 1] += w * (float)q[i + 1];
			out[i + 2] += w * (float)q[i + 2];
			out[i + 3] += w * (float)q[i + 3];
		}
		for (; i < d; i++)
			out[i] += w * (float)q[i];
	}
}

enum { CL_SPACE, CL_WORD, CL_APOS, CL_JOIN, CL_PUNCT };

/*
 * The class of the character at s[i] and its length in *n.  ASCII
 * letters and digits make words; hyphens and periods join word parts;
 * apostrophes split clitics off.  Outside ASCII the vocabulary holds
 * only a few punctuation marks and currency signs, so the typographic
 * spaces, quotes and dashes are told apart and everything else
 * (letters of other scripts, malformed bytes) is taken as part of a
 * word, which then is unknown as a whole.
 */
static int
classify(const unsigned char *s, size_t len, size_t i, size_t *n)
{
	unsigned char	c = s[i];
	uint32_t	cp;
	size_t		k, need;

	*n = 1;
	if (c < 0x80) {
		if (c <= ' ' || c == 0x7f)
			return CL_SPACE;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			return CL_WORD;
		if (c == '\'')
			return CL_APOS;
		if (c == '-' || c == '.')
			return CL_JOIN;
		return CL_PUNCT;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else
		return CL_WORD;
	if (len - i < need)
		return CL_WORD;
	for (k = 1; k < need; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return CL_WORD;
		cp = cp << 6 | (s[i + k] & 0x3f);
	}
	*n = need;
	if (cp == 0x85 || cp == 0xa0 || (cp >= 0x2000 && cp <= 0x200b) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000 || cp == 0xfeff)
		return CL_SPACE;
	if (cp == 0x2018 || cp == 0x2019)
		return CL_APOS;
	if (cp == 0x2010 || cp == 0x2011)
		return CL_JOIN;
	/* Latin-1 punctuation and signs, the general punctuation block. */
	if ((cp >= 0xa1 && cp <= 0xbf && cp != 0xaa && cp != 0xb2 &&
	    cp != 0xb3 && cp != 0xb5 && cp != 0xb9 && cp != 0xba) ||
	    cp == 0xd7 || cp == 0xf7 || (cp >= 0x2000 && cp <= 0x206f) ||
	    (cp >= 0x20a0 && cp <= 0x20cf) || (cp >= 0x3001 && cp <= 0x303f))
		return CL_PUNCT;
	return CL_WORD;
}

static int
is_joiner(int cl)
{
	return cl == CL_APOS || cl == CL_JOIN;
}

static int
isdigit_ascii(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static void	word(struct sink *, const char *, size_t);

/* A lower-cased word without apostrophes: whole, else by its parts. */
static void
word_parts(struct sink *k, const char *s, size_t len)
{
	size_t	i, start;
	long	idx;

	if (len == 0)
		return;
	if ((idx = lookup(k->g, s, len)) != -1 ||
	    (memchr(s, '-', len) == NULL && memchr(s, '.', len) == NULL)) {
		emit(k, s, len);
		return;
	}
	/* "mid-1990s" is a word; "cloud-native" is "cloud" and "native". */
	for (start = i = 0; i <= len; i++) {
		if (i == len || s[i] == '-' || s[i] == '.') {
			if (i > start)
				emit(k, s + start, i - start);
			start = i + 1;
		}
	}
}

/*
 * A lower-cased word, apostrophes as '.  The vocabulary has no clitics
 * ("n't", "'s"), so they become the words they stand for, or go.
 */
static void
word(struct sink *k, const char *s, size_t len)
{
	static const struct {
		const char	*suffix, *word;
	} clitics[] = {
		{ "re", "are" }, { "ve", "have" }, { "ll", "will" },
		{ "m", "am" }, { "d", "would" }
	};
	static const struct {
		const char	*stem, *word;
	} negations[] = {
		{ "ca", "can" }, { "wo", "will" }, { "sha", "shall" },
		{ "ai", "is" }
	};
	const char	*apos, *suf, *stem;
	size_t		 i, suflen, stemlen;

	if ((apos = memchr(s, '\'', len)) == NULL) {
		word_parts(k, s, len);
		return;
	}
	/* Split at the last apostrophe: "rock'n'roll" is rock'n + roll. */
	while ((suf = memchr(apos + 1, '\'', len - (size_t)(apos + 1 - s)))
	    != NULL)
		apos = suf;
	stem = s;
	stemlen = (size_t)(apos - s);
	suf = apos + 1;
	suflen = len - stemlen - 1;
	if (suflen == 1 && suf[0] == 't' && stemlen >= 2 &&
	    stem[stemlen - 1] == 'n') {
		stemlen--;
		for (i = 0; i < sizeof(negations) / sizeof(negations[0]); i++)
			if (strlen(negations[i].stem) == stemlen &&
			    memcmp(negations[i].stem, stem, stemlen) == 0) {
				stem = negations[i].word;
				stemlen = strlen(stem);
				break;
			}
		word(k, stem, stemlen);
		emit(k, "not", 3);
		return;
	}
	word(k, stem, stemlen);
	if (suflen == 1 && suf[0] == 's')
		return;
	for (i = 0; i < sizeof(clitics) / sizeof(clitics[0]); i++)
		if (strlen(clitics[i].suffix) == suflen &&
		    memcmp(clitics[i].suffix, suf, suflen) == 0) {
			emit(k, clitics[i].word, strlen(clitics[i].word));
			return;
		}
	word(k, suf, suflen);
}

/*
 * A run of word characters and inner joiners, s[0..len) as written:
 * lower-case it (and make the typographic apostrophes and hyphens
 * ASCII) into a buffer, then look it up.
 */
static void
run(struct sink *k, const unsigned char *s, size_t len)
{
	char	buf[4 * GLOVE_MAX_WORD];
	size_t	i, n, m, start;
	int	cl;

	for (i = m = 0; i < len; i += n) {
		cl = classify(s, len, i, &n);
		if (m == sizeof(buf))
			break;
		if (cl == CL_APOS)
			buf[m++] = '\'';
		else if (cl == CL_JOIN && n > 1)
			buf[m++] = '-';
		else if (n == 1 && s[i] >= 'A' && s[i] <= 'Z')
			buf[m++] = (char)(s[i] - 'A' + 'a');
		else if (n <= sizeof(buf) - m) {
			memcpy(buf + m, s + i, n);
			m += n;
		} else
			break;
	}
	if (i >= len) {
		word(k, buf, m);
		return;
	}
	/* Too long to be one word: each part between joiners on its own. */
	for (start = i = 0; i <= len; i += n) {
		cl = i < len ? classify(s, len, i, &n) : CL_SPACE;
		if (i == len || is_joiner(cl)) {
			if (i - start <= sizeof(buf))
				run(k, s + start, i - start);
			else
				emit(k, (const char *)s + start,
				    GLOVE_MAX_WORD + 1);
			start = i + n;
		}
		if (i == len)
			break;
	}
}

static long
tokenize(struct sink *k, const char *text, size_t len, const char **errstr)
{
	const unsigned char	*s = (const unsigned char *)text;
	size_t			 i, j, n, n2;
	int			 cl;

	for (i = 0; i < len && !k->corrupt; ) {
		cl = classify(s, len, i, &n);
		if (cl == CL_SPACE) {
			i += n;
			continue;
		}
		if (cl != CL_WORD) {
			/* Punctuation is a token of its own, as in GloVe. */
			emit(k, text + i, n);
			i += n;
			continue;
		}
		for (j = i + n; j < len; ) {
			cl = classify(s, len, j, &n);
			if (cl == CL_WORD) {
				j += n;
				continue;
			}
			if (is_joiner(cl) && j + n < len &&
			    classify(s, len, j + n, &n2) == CL_WORD) {
				j += n + n2;
				continue;
			}
			/* "1,000" and "10:30" are one (unknown) token. */
			if ((s[j] == ',' || s[j] == ':') && j + 1 < len &&
			    isdigit_ascii(s[j - 1]) && isdigit_ascii(s[j + 1])) {
				j += 2;
				continue;
			}
			break;
		}
		run(k, s + i, j - i);
		i = j;
	}
	if (k->corrupt) {
		*errstr = "a hash table entry points outside the file";
		return -1;
	}
	return k->known;
}

long
glove_tokens(const struct glove *g, const char *text, size_t len,
    void (*fn)(const char *, size_t, long, void *), void *arg,
    const char **errstr)
{
	struct sink	k;

	memset(&k, 0, sizeof(k));
	k.g = g;
	k.fn = fn;
	k.arg = arg;
	return tokenize(&k, text, len, errstr);
}

long
glove_embed(const struct glove *g, const char *text, size_t len,
    float *out, const char **errstr)
{
	struct sink	k;
	size_t		i;
	double		dot, norm2, norm;
	long		known;

	memset(&k, 0, sizeof(k));
	k.g = g;
	k.out = out;
	for (i = 0; i < g->dim; i++)
		out[i] = 0;
	if ((known = tokenize(&k, text, len, errstr)) <= 0)
		return known;
	/* Remove the common component, then scale to unit length. */
	dot = 0;
	for (i = 0; i < g->dim; i++)
		dot += (double)out[i] * g->pc[i];
	norm2 = 0;
	for (i = 0; i < g->dim; i++) {
		out[i] -= (float)dot * g->pc[i];
		norm2 += (double)out[i] * out[i];
	}
	if (!isfinite(norm2)) {
		*errstr = "a word vector is not finite";
		return -1;
	}
	if (norm2 > 0) {
		/*
		 * Divide in double: 1 / sqrt(norm2) of a tiny sum overflows
		 * a float, and a quotient of at most 1 cannot.
		 */
		norm = sqrt(norm2);
		for (i = 0; i < g->dim; i++)
			out[i] = (float)(out[i] / norm);
	}
	return known;
}

static char	perrbuf[1200];

static void *
provider_open(const struct model *m, const struct embed_opts *opts,
    const char **errstr, int *status)
{
	struct glove	*g;
	char		*path;

	path = datadir_path(m->file);
	g = glove_open(path, errstr, status);
	free(path);
	if (g == NULL) {
		snprintf(perrbuf, sizeof(perrbuf), "%s (run 'make data' to "
		    "fetch and convert the %s model)", *errstr, m->name);
		*errstr = perrbuf;
		return NULL;
	}
	if (g->dim != opts->dim) {
		snprintf(perrbuf, sizeof(perrbuf), "%s: has %zu dimensions, "
		    "not %zu (run 'make data' to rebuild it)", g->path, g->dim,
		    opts->dim);
		*errstr = perrbuf;
		*status = 65;
		glove_close(g);
		return NULL;
	}
	return g;
}

static int
provider_embed(void *state, struct embed_batch *b, const char **errstr,
    int *status)
{
	const struct glove	*g = state;
	const char		*why;
	size_t			 i;
	long			 known;

	for (i = 0; i < b->n; i++) {
		known = glove_embed(g, b->text[i], b->len[i],
		    b->vec + i * g->dim, &why);
		if (known < 0) {
			snprintf(perrbuf, sizeof(perrbuf), "%s: corrupt model "
			    "file: %s (run 'make data' to rebuild it)",
			    g->path, why);
			*errstr = perrbuf;
			*status = 65;
			return -1;
		}
		b->empty[i] = known == 0;
	}
	return 0;
}

static void
provider_close(void *state)
{
	glove_close(state);
}

const struct provider	glove_provider = {
	"glove", provider_open, provider_embed, provider_close
};
