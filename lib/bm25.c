/* bm25: document frequencies, BM25 weights, and the statistics file. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sysexits.h>

#include "bm25.h"
#include "utf8.h"
#include "util.h"

#define STATS_MAGIC	"#ds-bm25"
/*
 * The longest line of a statistics file: an index, a df and a word, at
 * most STATS_WORD_MAX bytes (a longer word is left out when saving: it
 * only names the term).  A longer line is refused before it is buffered.
 */
#define STATS_WORD_MAX	1024
#define STATS_LINE_MAX	(STATS_WORD_MAX + 64)

void
bm25_init(struct bm25 *s, enum terms_kind kind, uint64_t space)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->space = space;
}

void
bm25_free(struct bm25 *s)
{
	free(s->keys);
	free(s->df);
	memset(s, 0, sizeof(*s));
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

size_t
bm25_count(uint32_t *ids, size_t n, uint32_t *uniq, float *tf)
{
	size_t	 i, k = 0;

	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(*ids), cmp_u32);
	for (i = 0; i < n; i++) {
		if (k > 0 && uniq[k - 1] == ids[i]) {
			tf[k - 1]++;
			continue;
		}
		uniq[k] = ids[i];
		tf[k++] = 1;
	}
	return k;
}

static size_t
slot(const struct bm25 *s, uint32_t t)
{
	size_t	 i = (t * 2654435761u) & (s->cap - 1);

	while (s->df[i] != 0 && s->keys[i] != t)
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Add d to the document frequency of t. */
static void
df_add(struct bm25 *s, uint32_t t, uint64_t d)
{
	uint32_t	*okeys;
	uint64_t	*odf;
	size_t		 ocap, i, j;

	if (2 * (s->n + 1) > s->cap) {
		okeys = s->keys;
		odf = s->df;
		ocap = s->cap;
		s->cap = ocap ? 2 * ocap : 4096;
		s->keys = xcalloc(s->cap, sizeof(*s->keys));
		s->df = xcalloc(s->cap, sizeof(*s->df));
		for (i = 0; i < ocap; i++)
			if (odf[i] != 0) {
				j = slot(s, okeys[i]);
				s->keys[j] = okeys[i];
				s->df[j] = odf[i];
			}
		free(okeys);
		free(odf);
	}
	i = slot(s, t);
	if (s->df[i] == 0) {
		s->keys[i] = t;
		s->n++;
	}
	s->df[i] += d;
}

void
bm25_add(struct bm25 *s, const uint32_t *uniq, size_t n, uint64_t len)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		df_add(s, uniq[i], 1);
	s->docs++;
	s->tokens += len;
}

uint64_t
bm25_df(const struct bm25 *s, uint32_t t)
{
	return s->cap == 0 ? 0 : s->df[slot(s, t)];
}

double
bm25_idf(const struct bm25 *s, uint32_t t)
{
	double	 n = (double)bm25_df(s, t);

	if (n == 0)
		return 0;
	return log(1 + ((double)s->docs - n + 0.5) / (n + 0.5));
}

double
bm25_avglen(const struct bm25 *s)
{
	return s->docs == 0 ? 0 : (double)s->tokens / (double)s->docs;
}

void
bm25_weigh(const struct bm25 *s, const uint32_t *uniq, float *tf, size_t n,
    double len, double k1, double b)
{
	double	 avg = bm25_avglen(s), norm;
	size_t	 i;

	/* An empty corpus has no length to compare with: b has no effect. */
	norm = k1 * (1 - b + (avg > 0 ? b * len / avg : b));
	for (i = 0; i < n; i++)
		tf[i] = (float)(bm25_idf(s, uniq[i]) * tf[i] * (k1 + 1) /
		    (tf[i] + norm));
}

int
bm25_save(const struct bm25 *s, FILE *fp, struct terms *words)
{
	uint32_t	*ts;
	const char	*name;
	size_t		 i, k = 0;

	ts = xreallocarray(NULL, s->n ? s->n : 1, sizeof(*ts));
	for (i = 0; i < s->cap; i++)
		if (s->df[i] != 0)
			ts[k++] = s->keys[i];
	qsort(ts, k, sizeof(*ts), cmp_u32);
	fprintf(fp, "%s version=1 terms=%s space=%" PRIu64 " docs=%" PRIu64
	    " tokens=%" PRIu64 "\n", STATS_MAGIC, terms_kind_name(s->kind),
	    s->space, s->docs, s->tokens);
	for (i = 0; i < k; i++) {
		fprintf(fp, "%" PRIu32 "\t%" PRIu64, ts[i], bm25_df(s, ts[i]));
		if (words != NULL && s->kind == TERMS_WORDS &&
		    strlen(name = terms_name(words, ts[i])) <= STATS_WORD_MAX)
			fprintf(fp, "\t%s", name);
		fputc('\n', fp);
	}
	free(ts);
	return ferror(fp) ? -1 : 0;
}

static char	 errbuf[512];

static int
load_fail(const char *path, uintmax_t line, int *status, int code,
    const char **errstr, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = line ? snprintf(errbuf, sizeof(errbuf), "%s:%ju: ", path, line) :
	    snprintf(errbuf, sizeof(errbuf), "%s: ", path);
	if (n < 0 || (size_t)n >= sizeof(errbuf))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(errbuf + n, sizeof(errbuf) - (size_t)n, fmt, ap);
	va_end(ap);
	*errstr = errbuf;
	*status = code;
	return -1;
}

/* Parse an unsigned decimal that fills s exactly; -1 if it does not. */
static int
parse_u64(const char *s, uint64_t *v)
{
	char	*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/*
 * Read one line of fp into buf (room for STATS_LINE_MAX bytes and a NUL),
 * without its newline.  Returns its length, -1 at the end of the file,
 * or -2 when the line is longer than STATS_LINE_MAX.
 */
static ssize_t
read_line(FILE *fp, char *buf)
{
	size_t	n = 0;
	int	c;

	while ((c = getc_unlocked(fp)) != EOF && c != '\n') {
		if (n == STATS_LINE_MAX)
			return -2;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return c == EOF && n == 0 ? -1 : (ssize_t)n;
}

/* Read the header line's words; -1 with a message on any mismatch. */
static int
load_header(struct bm25 *s, char *line, const char *path, int *status,
    const char **errstr)
{
	char		*w, *save = NULL, *eq;
	uint64_t	 v, space = 0;
	int		 seen = 0;

	if (strncmp(line, STATS_MAGIC " ", sizeof(STATS_MAGIC)) != 0)
		return load_fail(path, 1, status, EX_DATAERR, errstr,
		    "not a ds-sparse statistics file");
	for (w = strtok_r(line + sizeof(STATS_MAGIC), " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if ((eq = strchr(w, '=')) == NULL)
			goto bad;
		*eq++ = '\0';
		if (strcmp(w, "terms") == 0) {
			if (strcmp(eq, terms_kind_name(s->kind)) != 0)
				return load_fail(path, 1, status, EX_DATAERR,
				    errstr, "statistics of terms=%s, not %s",
				    eq, terms_kind_name(s->kind));
			seen |= 1;
			continue;
		}
		if (parse_u64(eq, &v) == -1)
			goto bad;
		if (strcmp(w, "version") == 0) {
			if (v != 1)
				return load_fail(path, 1, status, EX_DATAERR,
				    errstr, "unsupported version %" PRIu64, v);
			seen |= 2;
		} else if (strcmp(w, "space") == 0) {
			space = v;
			seen |= 4;
		} else if (strcmp(w, "docs") == 0) {
			s->docs = v;
			seen |= 8;
		} else if (strcmp(w, "tokens") == 0) {
			s->tokens = v;
			seen |= 16;
		}
	}
	if (seen != 31)
		goto bad;
	if (space != s->space)
		return load_fail(path, 1, status, EX_DATAERR, errstr,
		    "statistics of a tokenizer with %" PRIu64 " terms, not "
		    "%" PRIu64 " (another tokenizer?)", space, s->space);
	return 0;
bad:
	return load_fail(path, 1, status, EX_DATAERR, errstr,
	    "malformed header: expected version, terms, space, docs, tokens");
}

int
bm25_load(struct bm25 *s, const char *path, struct terms *words,
    const char **errstr, int *status)
{
	FILE		*fp;
	char		*line, *tab, *tab2;
	ssize_t		 len;
	uintmax_t	 lineno = 0;
	uint64_t	 t, df, prev = 0;
	int		 rc = -1;

	if ((fp = fopen(path, "r")) == NULL)
		return load_fail(path, 0, status, EX_NOINPUT, errstr, "%s",
		    strerror(errno));
	line = xmalloc(STATS_LINE_MAX + 1);
	while ((len = read_line(fp, line)) != -1) {
		lineno++;
		if (len == -2) {
			load_fail(path, lineno, status, EX_DATAERR, errstr,
			    "line longer than %d bytes", STATS_LINE_MAX);
			goto out;
		}
		if (memchr(line, '\0', (size_t)len) != NULL) {
			load_fail(path, lineno, status, EX_DATAERR, errstr,
			    "NUL byte");
			goto out;
		}
		if (utf8_valid_prefix(line, (size_t)len) != (size_t)len) {
			load_fail(path, lineno, status, EX_DATAERR, errstr,
			    "invalid UTF-8");
			goto out;
		}
		if (lineno == 1) {
			if (load_header(s, line, path, status, errstr) == -1)
				goto out;
			continue;
		}
		tab2 = NULL;
		if ((tab = strchr(line, '\t')) != NULL) {
			*tab++ = '\0';
			if ((tab2 = strchr(tab, '\t')) != NULL)
				*tab2++ = '\0';
		}
		if (tab == NULL || parse_u64(line, &t) == -1 ||
		    parse_u64(tab, &df) == -1) {
			load_fail(path, lineno, status, EX_DATAERR, errstr,
			    "expected index<TAB>df");
			goto out;
		}
		if (t >= s->space || (lineno > 2 && t <= prev)) {
			load_fail(path, lineno, status, EX_DATAERR, errstr,
			    "index %" PRIu64 " %s", t, t >= s->space ?
			    "out of range" : "out of order");
			goto out;
		}
		if (df == 0 || df > s->docs) {
			load_fail(path, lineno, status, EX_DATAERR, errstr,
			    "df %" PRIu64 " out of range (docs=%" PRIu64 ")",
			    df, s->docs);
			goto out;
		}
		prev = t;
		df_add(s, (uint32_t)t, df);
		if (tab2 != NULL && *tab2 != '\0' && words != NULL)
			terms_learn(words, (uint32_t)t, tab2);
	}
	if (ferror(fp)) {
		load_fail(path, 0, status, EX_IOERR, errstr, "%s",
		    strerror(errno));
		goto out;
	}
	if (lineno == 0) {
		load_fail(path, 0, status, EX_DATAERR, errstr, "empty file");
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(fp);
	return rc;
}
