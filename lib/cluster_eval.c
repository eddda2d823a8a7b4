/* cluster_eval: external scores, silhouette and distinctive words. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_eval.h"
#include "mat.h"
#include "util.h"

/* n choose 2, in double. */
static double
pairs(double n)
{
	return n * (n - 1) / 2;
}

void
cluster_eval_external(const uint32_t *label, size_t nlabel,
    const uint32_t *assign, size_t k, size_t n, struct cluster_scores *s)
{
	uint64_t	*tab, *rowsum, *colsum, best;
	double		 mi, hl, hc, p, sumij, sumi, sumj, expect, maxidx;
	size_t		 i, j, hit;

	memset(s, 0, sizeof(*s));
	if (n == 0)
		return;
	tab = xcalloc(nlabel * k, sizeof(uint64_t));
	rowsum = xcalloc(nlabel, sizeof(uint64_t));
	colsum = xcalloc(k, sizeof(uint64_t));
	for (i = 0; i < n; i++) {
		tab[label[i] * k + assign[i]]++;
		rowsum[label[i]]++;
		colsum[assign[i]]++;
	}
	hit = 0;
	for (j = 0; j < k; j++) {
		best = 0;
		for (i = 0; i < nlabel; i++)
			if (tab[i * k + j] > best)
				best = tab[i * k + j];
		hit += best;
	}
	s->purity = (double)hit / (double)n;

	mi = hl = hc = 0;
	sumij = 0;
	for (i = 0; i < nlabel; i++)
		for (j = 0; j < k; j++) {
			if (tab[i * k + j] == 0)
				continue;
			p = (double)tab[i * k + j] / (double)n;
			mi += p * log(p * (double)n * (double)n /
			    ((double)rowsum[i] * (double)colsum[j]));
			sumij += pairs((double)tab[i * k + j]);
		}
	sumi = 0;
	for (i = 0; i < nlabel; i++)
		if (rowsum[i] > 0) {
			p = (double)rowsum[i] / (double)n;
			hl -= p * log(p);
			sumi += pairs((double)rowsum[i]);
		}
	sumj = 0;
	for (j = 0; j < k; j++)
		if (colsum[j] > 0) {
			p = (double)colsum[j] / (double)n;
			hc -= p * log(p);
			sumj += pairs((double)colsum[j]);
		}
	if (hl + hc <= 0)
		s->nmi = 1;
	else
		s->nmi = fmax(0, mi / ((hl + hc) / 2));
	expect = sumi * sumj / pairs((double)n);
	maxidx = (sumi + sumj) / 2;
	/* Both partitions trivial (or n < 2): they agree perfectly. */
	if (maxidx == expect)
		s->ari = 1;
	else
		s->ari = (sumij - expect) / (maxidx - expect);
	free(tab);
	free(rowsum);
	free(colsum);
}

/* Rows per GEMM block of the silhouette's distance matrix. */
#define SIL_BLOCK 256

int
cluster_eval_silhouette(const float *x, size_t n, size_t dim,
    const uint32_t *assign, int cosine, size_t sample, double *out,
    const char **errstr)
{
	float		*s, *snorm, *dot;
	uint32_t	*sa, kmax;
	double		*sumd, total, a, b, d;
	size_t		*cnt, m, i, j, b0, b1, present;

	m = n < sample ? n : sample;
	if (m == 0) {
		*errstr = "no records";
		return -1;
	}
	s = xreallocarray(NULL, m, dim * sizeof(float));
	sa = xreallocarray(NULL, m, sizeof(uint32_t));
	snorm = xreallocarray(NULL, m, sizeof(float));
	kmax = 0;
	for (i = 0; i < m; i++) {
		/* Evenly spaced rows: i * n / m, computed without overflow. */
		size_t	 r = (size_t)((double)i * (double)n / (double)m);

		memcpy(s + i * dim, x + r * dim, dim * sizeof(float));
		sa[i] = assign[r];
		if (sa[i] + 1 > kmax)
			kmax = sa[i] + 1;
	}
	mat_row_norms2(s, m, dim, snorm);
	cnt = xcalloc(kmax, sizeof(size_t));
	for (i = 0; i < m; i++)
		cnt[sa[i]]++;
	present = 0;
	for (j = 0; j < kmax; j++)
		if (cnt[j] > 0)
			present++;
	if (present < 2) {
		free(s);
		free(sa);
		free(snorm);
		free(cnt);
		*errstr = "the silhouette needs at least two clusters";
		return -1;
	}
	sumd = xreallocarray(NULL, kmax, sizeof(double));
	dot = xreallocarray(NULL, m < SIL_BLOCK ? m : SIL_BLOCK,
	    m * sizeof(float));
	total = 0;
	for (b0 = 0; b0 < m; b0 = b1) {
		b1 = b0 + SIL_BLOCK < m ? b0 + SIL_BLOCK : m;
		mat_gemm_abt(s + b0 * dim, b1 - b0, s, m, dim, 1, 0, dot, m);
		for (i = b0; i < b1; i++) {
			memset(sumd, 0, kmax * sizeof(double));
			for (j = 0; j < m; j++) {
				if (j == i)
					continue;
				d = dot[(i - b0) * m + j];
				if (cosine)
					d = 1 - d;
				else {
					d = (double)snorm[i] + snorm[j] - 2 * d;
					d = d > 0 ? sqrt(d) : 0;
				}
				sumd[sa[j]] += d;
			}
			if (cnt[sa[i]] < 2)
				continue;
			a = sumd[sa[i]] / (double)(cnt[sa[i]] - 1);
			b = INFINITY;
			for (j = 0; j < kmax; j++)
				if (j != sa[i] && cnt[j] > 0 &&
				    sumd[j] / (double)cnt[j] < b)
					b = sumd[j] / (double)cnt[j];
			if (a < b)
				total += 1 - a / b;
			else if (a > b)
				total += b / a - 1;
		}
	}
	*out = total / (double)m;
	free(s);
	free(sa);
	free(snorm);
	free(cnt);
	free(sumd);
	free(dot);
	return 0;
}

/* Common English function words: they say nothing about a topic. */
static const char *const stopwords[] = {
	"about", "after", "all", "also", "and", "any", "are", "been",
	"but", "can", "could", "did", "does", "each", "for", "from", "had",
	"has", "have", "her", "his", "how", "into", "its", "may", "more",
	"most", "not", "now", "one", "only", "other", "our", "out", "over",
	"she", "should", "some", "such", "than", "that", "the", "their",
	"them", "then", "there", "these", "they", "this", "those", "through",
	"too", "two", "use", "used", "very", "was", "were", "what", "when",
	"where", "which", "while", "who", "why", "will", "with", "would",
	"you", "your"
};

static int
is_stopword(const char *w)
{
	size_t	 lo = 0, hi = sizeof(stopwords) / sizeof(stopwords[0]), mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(w, stopwords[mid]);
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* An open-addressing table: words to ids, and (word, cluster) to counts. */
struct words {
	char		**word;		/* by id */
	uint64_t	*total;		/* by id: count over all clusters */
	size_t		 n, cap;
	uint32_t	*slot;		/* id + 1, or 0 for empty */
	size_t		 nslot;
};

static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	 h = 1469598103934665603ULL;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
words_grow(struct words *w)
{
	size_t	 i, h, nslot;
	uint32_t *slot;

	nslot = w->nslot ? 2 * w->nslot : 1024;
	slot = xcalloc(nslot, sizeof(uint32_t));
	for (i = 0; i < w->n; i++) {
		h = hash_bytes(w->word[i], strlen(w->word[i])) & (nslot - 1);
		while (slot[h] != 0)
			h = (h + 1) & (nslot - 1);
		slot[h] = (uint32_t)i + 1;
	}
	free(w->slot);
	w->slot = slot;
	w->nslot = nslot;
}

static uint32_t
words_id(struct words *w, const char *s, size_t len)
{
	size_t	 h;
	uint32_t id;

	if (2 * (w->n + 1) > w->nslot)
		words_grow(w);
	h = hash_bytes(s, len) & (w->nslot - 1);
	while ((id = w->slot[h]) != 0) {
		if (strncmp(w->word[id - 1], s, len) == 0 &&
		    w->word[id - 1][len] == '\0')
			return id - 1;
		h = (h + 1) & (w->nslot - 1);
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 1024;
		w->word = xreallocarray(w->word, w->cap, sizeof(char *));
		w->total = xreallocarray(w->total, w->cap, sizeof(uint64_t));
	}
	w->word[w->n] = xstrndup(s, len);
	w->total[w->n] = 0;
	w->slot[h] = (uint32_t)w->n + 1;
	return (uint32_t)w->n++;
}

/* (word, cluster) -> count. */
struct pairs {
	uint64_t	*key;		/* word << 32 | cluster, + 1; 0 empty */
	uint64_t	*count;
	size_t		 n, nslot;
};

static void
pairs_add(struct pairs *p, uint64_t key)
{
	size_t		 h, i, nslot;
	uint64_t	*nk, *nc;

	key++;
	if (2 * (p->n + 1) > p->nslot) {
		nslot = p->nslot ? 2 * p->nslot : 4096;
		nk = xcalloc(nslot, sizeof(uint64_t));
		nc = xcalloc(nslot, sizeof(uint64_t));
		for (i = 0; i < p->nslot; i++) {
			if (p->key[i] == 0)
				continue;
			h = (p->key[i] * 0x9e3779b97f4a7c15ULL >> 20) &
			    (nslot - 1);
			while (nk[h] != 0)
				h = (h + 1) & (nslot - 1);
			nk[h] = p->key[i];
			nc[h] = p->count[i];
		}
		free(p->key);
		free(p->count);
		p->key = nk;
		p->count = nc;
		p->nslot = nslot;
	}
	h = (key * 0x9e3779b97f4a7c15ULL >> 20) & (p->nslot - 1);
	while (p->key[h] != 0 && p->key[h] != key)
		h = (h + 1) & (p->nslot - 1);
	if (p->key[h] == 0) {
		p->key[h] = key;
		p->n++;
	}
	p->count[h]++;
}

static int
word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

char **
cluster_eval_terms(const char *const *texts, const uint32_t *assign,
    size_t n, size_t k, size_t nterm)
{
	struct words	 w;
	struct pairs	 p;
	char		 buf[256], **out;
	const char	*t, *start;
	uint64_t	*ctotal;
	double		*bestw, avg, weight;
	size_t		 i, len, digits, c, id, slot, r, q;
	uint32_t	 wid;

	memset(&w, 0, sizeof(w));
	memset(&p, 0, sizeof(p));
	ctotal = xcalloc(k, sizeof(uint64_t));
	for (i = 0; i < n; i++) {
		for (t = texts[i]; *t != '\0';) {
			if (!word_byte((unsigned char)*t)) {
				t++;
				continue;
			}
			start = t;
			digits = 0;
			while (word_byte((unsigned char)*t)) {
				if (isdigit((unsigned char)*t))
					digits++;
				t++;
			}
			len = (size_t)(t - start);
			if (len < 3 || len >= sizeof(buf) || digits == len)
				continue;
			for (r = 0; r < len; r++)
				buf[r] = (char)tolower((unsigned char)start[r]);
			buf[len] = '\0';
			if (is_stopword(buf))
				continue;
			wid = words_id(&w, buf, len);
			w.total[wid]++;
			ctotal[assign[i]]++;
			pairs_add(&p, (uint64_t)wid << 32 | assign[i]);
		}
	}
	avg = 0;
	for (c = 0; c < k; c++)
		avg += (double)ctotal[c];
	avg /= (double)(k ? k : 1);

	/* Keep each cluster's nterm best in a small sorted list. */
	out = xcalloc(k * nterm, sizeof(char *));
	bestw = xcalloc(k * nterm, sizeof(double));
	for (slot = 0; slot < p.nslot; slot++) {
		if (p.key[slot] == 0)
			continue;
		id = (size_t)((p.key[slot] - 1) >> 32);
		c = (size_t)((p.key[slot] - 1) & 0xffffffffU);
		weight = (double)p.count[slot] / (double)ctotal[c] *
		    log(1 + avg / (double)w.total[id]);
		for (r = 0; r < nterm; r++) {
			char	*o = out[c * nterm + r];

			/* Ties go to the word first in byte order. */
			if (o == NULL || weight > bestw[c * nterm + r] ||
			    (weight == bestw[c * nterm + r] &&
			    strcmp(w.word[id], o) < 0))
				break;
		}
		if (r == nterm)
			continue;
		for (q = nterm - 1; q > r; q--) {
			out[c * nterm + q] = out[c * nterm + q - 1];
			bestw[c * nterm + q] = bestw[c * nterm + q - 1];
		}
		out[c * nterm + r] = w.word[id];
		bestw[c * nterm + r] = weight;
	}
	/* Copy the winners out, then drop the tables. */
	for (r = 0; r < k * nterm; r++)
		if (out[r] != NULL)
			out[r] = xstrdup(out[r]);
	for (i = 0; i < w.n; i++)
		free(w.word[i]);
	free(w.word);
	free(w.total);
	free(w.slot);
	free(p.key);
	free(p.count);
	free(ctotal);
	free(bestw);
	return out;
}

void
cluster_eval_terms_free(char **terms, size_t k, size_t nterm)
{
	size_t	 i;

	if (terms == NULL)
		return;
	for (i = 0; i < k * nterm; i++)
		free(terms[i]);
	free(terms);
}
