/* results: result lines in and out, and a string table to group them. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "results.h"
#include "util.h"

/* Cut *p at the next TAB; return the field, moving *p past it (NULL: end). */
static char *
next_field(char **p)
{
	char	*f = *p, *tab;

	if (f == NULL)
		return NULL;
	if ((tab = strchr(f, '\t')) != NULL) {
		*tab = '\0';
		*p = tab + 1;
	} else
		*p = NULL;
	return f;
}

int
results_parse(char *line, struct result *r, const char **errstr)
{
	char		*p = line, *rank, *score, *end;
	const char	*e;

	r->qid = next_field(&p);
	rank = next_field(&p);
	r->id = next_field(&p);
	score = next_field(&p);
	if (score == NULL) {
		*errstr = "expected query_id, rank, id and score";
		return -1;
	}
	r->payload = p != NULL ? p : "";
	r->rank = (size_t)num_parse(rank, 1, INT64_MAX, &e);
	if (e != NULL) {
		*errstr = "rank is not a positive integer";
		return -1;
	}
	r->score = strtod(score, &end);
	if (*score == '\0' || *end != '\0' || !isfinite(r->score)) {
		*errstr = "score is not a finite number";
		return -1;
	}
	return 0;
}

void
results_escape(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	size_t	 i;
	char	 c;

	if (*len + 2 * n + 1 > *cap) {
		*cap = 2 * (*len + 2 * n + 1);
		*buf = xreallocarray(*buf, *cap, 1);
	}
	for (i = 0; i < n; i++) {
		switch (c = s[i]) {
		case '\t':
			c = 't';
			break;
		case '\n':
			c = 'n';
			break;
		case '\r':
			c = 'r';
			break;
		case '\\':
			break;
		default:
			(*buf)[(*len)++] = c;
			continue;
		}
		(*buf)[(*len)++] = '\\';
		(*buf)[(*len)++] = c;
	}
	(*buf)[*len] = '\0';
}

int
results_put_field(FILE *fp, const char *s, size_t len)
{
	size_t	 i, start = 0;
	const char *esc;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\\':
			esc = "\\\\";
			break;
		default:
			continue;
		}
		if (fwrite(s + start, 1, i - start, fp) != i - start ||
		    fputs(esc, fp) == EOF)
			return -1;
		start = i + 1;
	}
	if (fwrite(s + start, 1, len - start, fp) != len - start)
		return -1;
	return 0;
}

/* FNV-1a. */
static size_t
hash(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

void
strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
}

void
strtab_free(struct strtab *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		free(t->str[i]);
	free(t->str);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* The slot holding s, or the empty slot where it belongs. */
static size_t
lookup(const struct strtab *t, const char *s)
{
	size_t	 i = hash(s) & (t->nslots - 1);

	while (t->slot[i] != 0 && strcmp(t->str[t->slot[i] - 1], s) != 0)
		i = (i + 1) & (t->nslots - 1);
	return i;
}

size_t
strtab_find(const struct strtab *t, const char *s)
{
	size_t	 i;

	if (t->nslots == 0)
		return (size_t)-1;
	i = lookup(t, s);
	return t->slot[i] == 0 ? (size_t)-1 : t->slot[i] - 1;
}

size_t
strtab_add(struct strtab *t, const char *s)
{
	size_t	 i, j;

	if (2 * (t->n + 1) > t->nslots) {
		/* Keep the table at most half full: rebuild twice as large. */
		free(t->slot);
		t->nslots = t->nslots == 0 ? 64 : 2 * t->nslots;
		t->slot = xcalloc(t->nslots, sizeof(*t->slot));
		for (j = 0; j < t->n; j++)
			t->slot[lookup(t, t->str[j])] = j + 1;
	}
	i = lookup(t, s);
	if (t->slot[i] != 0)
		return t->slot[i] - 1;
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 64 : 2 * t->cap;
		t->str = xreallocarray(t->str, t->cap, sizeof(*t->str));
	}
	t->str[t->n] = xstrdup(s);
	t->slot[i] = ++t->n;
	return t->n - 1;
}

void
results_set_init(struct results_set *rs)
{
	memset(rs, 0, sizeof(*rs));
	strtab_init(&rs->queries);
}

void
results_set_free(struct results_set *rs)
{
	size_t	 i;

	for (i = 0; i < rs->n; i++) {
		free(rs->e[i].id);
		free(rs->e[i].score_text);
		free(rs->e[i].payload);
	}
	free(rs->e);
	strtab_free(&rs->queries);
	memset(rs, 0, sizeof(*rs));
}

int
results_read(struct results_set *rs, FILE *fp, const char *name,
    const char **errstr, int *status)
{
	static char		 msg[1024];
	char			*line = NULL, *score;
	size_t			 cap = 0, lineno = 0;
	ssize_t			 len;
	struct result		 r;
	struct results_entry	*e;
	const char		*why;

	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (memchr(line, '\0', len) != NULL) {
			why = "NUL byte in line";
			goto bad;
		}
		if (results_parse(line, &r, &why) == -1)
			goto bad;
		if (rs->n == rs->cap) {
			rs->cap = rs->cap == 0 ? 1024 : 2 * rs->cap;
			rs->e = xreallocarray(rs->e, rs->cap, sizeof(*rs->e));
		}
		e = &rs->e[rs->n++];
		e->query = strtab_add(&rs->queries, r.qid);
		e->list = rs->nlists;
		e->rank = r.rank;
		e->score = r.score;
		e->fused = 0;
		e->id = xstrdup(r.id);
		/* The score as written, so that a merge changes no digit. */
		score = r.id + strlen(r.id) + 1;
		e->score_text = xstrdup(score);
		e->payload = xstrdup(r.payload);
	}
	free(line);
	if (ferror(fp)) {
		snprintf(msg, sizeof(msg), "%s: read error", name);
		*errstr = msg;
		*status = 74;
		return -1;
	}
	rs->nlists++;
	return 0;
bad:
	snprintf(msg, sizeof(msg), "%s:%zu: %s", name, lineno, why);
	free(line);
	*errstr = msg;
	*status = 65;
	return -1;
}

static int	sort_ascending;

/* Query, then best score, then earlier list, then better rank. */
static int
merge_cmp(const void *a, const void *b)
{
	const struct results_entry *x = a, *y = b;

	if (x->query != y->query)
		return x->query < y->query ? -1 : 1;
	if (x->score != y->score)
		return (x->score > y->score) != sort_ascending ? -1 : 1;
	if (x->list != y->list)
		return x->list < y->list ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

static int
write_line(const struct results_set *rs, const struct results_entry *e,
    size_t rank, const char *score, FILE *fp)
{
	if (fprintf(fp, "%s\t%zu\t%s\t%s", rs->queries.str[e->query], rank,
	    e->id, score) < 0)
		return -1;
	if (e->payload[0] != '\0' && fprintf(fp, "\t%s", e->payload) < 0)
		return -1;
	return fputc('\n', fp) == EOF ? -1 : 0;
}

int
results_merge(struct results_set *rs, size_t k, int ascending, FILE *fp)
{
	size_t	 i, rank = 0;

	sort_ascending = ascending;
	qsort(rs->e, rs->n, sizeof(*rs->e), merge_cmp);
	for (i = 0; i < rs->n; i++) {
		rank = i > 0 && rs->e[i].query == rs->e[i - 1].query ?
		    rank + 1 : 1;
		if (rank <= k && write_line(rs, &rs->e[i], rank,
		    rs->e[i].score_text, fp) == -1)
			return -1;
	}
	return 0;
}

/* Query, then id, then list: the entries of one id side by side. */
static int
id_cmp(const void *a, const void *b)
{
	const struct results_entry *x = a, *y = b;
	int	 c;

	if (x->query != y->query)
		return x->query < y->query ? -1 : 1;
	if ((c = strcmp(x->id, y->id)) != 0)
		return c;
	if (x->list != y->list)
		return x->list < y->list ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Query, then fused score, then best rank, then earlier list. */
static int
fused_cmp(const void *a, const void *b)
{
	const struct results_entry *x = a, *y = b;

	if (x->query != y->query)
		return x->query < y->query ? -1 : 1;
	if (x->fused != y->fused)
		return x->fused > y->fused ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->list > y->list) - (x->list < y->list);
}

int
results_fuse(struct results_set *rs, enum results_fusion how,
    const double *weight, size_t k, int ascending, FILE *fp)
{
	double	*lo, *hi, w, term, span;
	size_t	 nq = rs->queries.n, i, j, n, slot, rank = 0;
	char	 buf[NUMFMT_FLOAT_MAX + 1];

	/* Each list's score range per query, for FUSE_SUM. */
	lo = xreallocarray(NULL, rs->nlists * nq + 1, sizeof(*lo));
	hi = xreallocarray(NULL, rs->nlists * nq + 1, sizeof(*hi));
	for (i = 0; i < rs->nlists * nq; i++) {
		lo[i] = INFINITY;
		hi[i] = -INFINITY;
	}
	for (i = 0; i < rs->n; i++) {
		slot = rs->e[i].list * nq + rs->e[i].query;
		lo[slot] = fmin(lo[slot], rs->e[i].score);
		hi[slot] = fmax(hi[slot], rs->e[i].score);
	}
	for (i = 0; i < rs->n; i++) {
		struct results_entry *e = &rs->e[i];

		w = weight != NULL ? weight[e->list] : 1;
		slot = e->list * nq + e->query;
		span = hi[slot] - lo[slot];
		if (how == FUSE_RRF)
			term = 1.0 / (RESULTS_RRF_K + (double)e->rank);
		else if (span == 0)
			term = 1;
		else
			term = ascending ? (hi[slot] - e->score) / span :
			    (e->score - lo[slot]) / span;
		e->fused = w * term;
	}
	free(lo);
	free(hi);

	/* Fold the entries of one id into its first, best ranked one. */
	qsort(rs->e, rs->n, sizeof(*rs->e), id_cmp);
	for (i = n = 0; i < rs->n; i = j) {
		for (j = i + 1; j < rs->n && rs->e[j].query == rs->e[i].query &&
		    strcmp(rs->e[j].id, rs->e[i].id) == 0; j++) {
			rs->e[i].fused += rs->e[j].fused;
			if (rs->e[j].rank < rs->e[i].rank)
				rs->e[i].rank = rs->e[j].rank;
		}
		if (n != i) {
			struct results_entry tmp = rs->e[n];

			rs->e[n] = rs->e[i];
			rs->e[i] = tmp;
		}
		n++;
	}
	qsort(rs->e, n, sizeof(*rs->e), fused_cmp);
	for (i = 0; i < n; i++) {
		rank = i > 0 && rs->e[i].query == rs->e[i - 1].query ?
		    rank + 1 : 1;
		if (rank > k)
			continue;
		numfmt_float(buf, (float)rs->e[i].fused);
		if (write_line(rs, &rs->e[i], rank, buf, fp) == -1)
			return -1;
	}
	return 0;
}
