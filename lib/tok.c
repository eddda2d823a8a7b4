/* tok: the Qwen3 byte-level BPE tokenizer (see tok.h). */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tok.h"
#include "utf8.h"
#include "util.h"

#define TOK_HEAD	32
#define TOK_MAXFILE	(256u << 20)
#define NONE		UINT32_MAX

/* Pieces up to this many bytes have their tokens cached. */
#define CACHE_KEY	32
#define CACHE_IDS	16
#define CACHE_SLOTS	(1u << 15)

/* Character classes of the split pattern. */
enum {
	CL_L = 1,	/* \p{L} */
	CL_N,		/* \p{N} */
	CL_NL,		/* \r or \n */
	CL_WS,		/* the rest of \s */
	CL_P		/* anything else */
};

struct cache_slot {
	uint32_t	hash;
	uint8_t		klen, nids;
	char		key[CACHE_KEY];
	uint32_t	ids[CACHE_IDS];
};

struct merge {
	uint64_t	key;		/* left id << 32 | right id */
	uint32_t	rank, res;	/* rank + 1, 0 when free; merged id */
};

/* A stretch of the normalised text that differs from the input. */
struct edit {
	size_t	nstart, nend;	/* in the normalised text */
	size_t	ostart, oend;	/* in the input */
};

struct tok {
	unsigned char	*file;
	uint32_t	 nvocab, nmerges, nadded;
	const uint32_t	*off;
	const uint32_t	*merges;
	const uint32_t	*added;
	const unsigned char *bytes;
	uint32_t	 byte_id[256];
	unsigned char	 added_first[256];
	unsigned char	*is_added;	/* nvocab flags */

	/* Merges by pair: open addressing, one slot one 16-byte load; a
	 * slot holds rank + 1, so that zeroed memory is an empty table. */
	struct merge	*mtab;
	size_t		 mmask;
	/* Merges of two single bytes, by (left << 8 | right): rank + 1 (0:
	 * none) and result, for the first pass over a piece. */
	struct merge	*bytepair;

	struct cache_slot *cache;

	/* Scratch, reused. */
	uint32_t	*bid, *bnext, *bprev;	/* the piece as a list */
	uint32_t	*brank, *bres;	/* merge of each node with its next */
	uint64_t	*heap;
	size_t		 bcap;
	char		*nbuf;		/* normalised text */
	size_t		 ncap;
	char		*sbuf;		/* a segment with U+FFFD put in */
	size_t		 scap;
	struct edit	*edits;
	size_t		 nedits, ecap;
	size_t		 ecur;		/* offset mapping cursor */
	struct tok_ids	 count;
	unsigned char	*inert;		/* 2 bits per code point below 0x30000 */
};

static unsigned char ascii_class[128];

static char errbuf[PATH_MAX + 128];

static const char *
fail(const char *path, const char *what)
{
	snprintf(errbuf, sizeof(errbuf), "%s: %s", path, what);
	return errbuf;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static size_t
mhash(uint64_t key, size_t mask)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

static void
init_classes(void)
{
	int	c;

	for (c = 0; c < 128; c++) {
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			ascii_class[c] = CL_L;
		else if (c >= '0' && c <= '9')
			ascii_class[c] = CL_N;
		else if (c == '\r' || c == '\n')
			ascii_class[c] = CL_NL;
		else if (c == ' ' || (c >= 0x09 && c <= 0x0D))
			ascii_class[c] = CL_WS;
		else
			ascii_class[c] = CL_P;
	}
}

static int
load(struct tok *t, size_t size, const char *path, const char **errstr)
{
	const unsigned char	*p = t->file;
	uint64_t		 need;
	uint32_t		 version, nbytes, sum, h, i, l, r, m;
	size_t			 j, slots;

	if (size < TOK_HEAD || memcmp(p, "dstok\0\0\1", 8) != 0) {
		*errstr = fail(path, "not a tokenizer file (bad magic)");
		return -1;
	}
	version = get32(p + 8);
	if (version != 1) {
		*errstr = fail(path, "unsupported tokenizer file version");
		return -1;
	}
	t->nvocab = get32(p + 12);
	t->nmerges = get32(p + 16);
	t->nadded = get32(p + 20);
	nbytes = get32(p + 24);
	sum = get32(p + 28);
	need = TOK_HEAD + 4 * ((uint64_t)t->nvocab + 1) +
	    12 * (uint64_t)t->nmerges + 4 * (uint64_t)t->nadded + nbytes;
	if (need != size) {
		*errstr = fail(path, need > size ? "truncated tokenizer file" :
		    "tokenizer file has trailing bytes");
		return -1;
	}
	if (t->nvocab < 256 || t->nvocab > (1u << 24)) {
		*errstr = fail(path, "bad vocabulary size");
		return -1;
	}
	h = 0x811C9DC5;
	for (j = TOK_HEAD; j < size; j++)
		h = (h ^ p[j]) * 0x01000193;
	if (h != sum) {
		*errstr = fail(path, "checksum mismatch (corrupt file)");
		return -1;
	}
	_Static_assert(sizeof(uint32_t) == 4, "uint32");
	{
		/* The numbers are little-endian; so must this machine be. */
		uint32_t one = 1;
		if (*(unsigned char *)&one != 1) {
			*errstr = fail(path, "big-endian machines not supported");
			return -1;
		}
	}
	t->off = (const uint32_t *)(p + TOK_HEAD);
	t->merges = t->off + t->nvocab + 1;
	t->added = t->merges + 3 * (size_t)t->nmerges;
	t->bytes = (const unsigned char *)(t->added + t->nadded);
	if (t->off[0] != 0 || t->off[t->nvocab] != nbytes) {
		*errstr = fail(path, "token offsets out of range");
		return -1;
	}
	for (i = 0; i < t->nvocab; i++)
		if (t->off[i] > t->off[i + 1]) {
			*errstr = fail(path, "token offsets not ascending");
			return -1;
		}
	t->is_added = xcalloc(t->nvocab, 1);
	for (i = 0; i < t->nadded; i++) {
		if (t->added[i] >= t->nvocab ||
		    t->off[t->added[i] + 1] == t->off[t->added[i]]) {
			*errstr = fail(path, "bad added token");
			return -1;
		}
		t->is_added[t->added[i]] = 1;
		t->added_first[t->bytes[t->off[t->added[i]]]] = 1;
	}
	for (j = 0; j < 256; j++)
		t->byte_id[j] = NONE;
	for (i = 0; i < t->nvocab; i++)
		if (!t->is_added[i] && t->off[i + 1] - t->off[i] == 1 &&
		    t->byte_id[t->bytes[t->off[i]]] == NONE)
			t->byte_id[t->bytes[t->off[i]]] = i;
	for (j = 0; j < 256; j++)
		if (t->byte_id[j] == NONE) {
			*errstr = fail(path, "a byte has no token");
			return -1;
		}
	/* At most 3/4 full. */
	for (slots = 1024; slots < (size_t)t->nmerges / 3 * 4 + 4; slots *= 2)
		;
	t->mmask = slots - 1;
	t->mtab = xcalloc(slots, sizeof(*t->mtab));
	t->bytepair = xcalloc(65536, sizeof(*t->bytepair));
	for (i = 0; i < t->nmerges; i++) {
		uint64_t key;

		l = t->merges[3 * (size_t)i];
		r = t->merges[3 * (size_t)i + 1];
		m = t->merges[3 * (size_t)i + 2];
		if (l >= t->nvocab || r >= t->nvocab || m >= t->nvocab ||
		    (uint64_t)t->off[l + 1] - t->off[l] + t->off[r + 1] -
		    t->off[r] != t->off[m + 1] - t->off[m] ||
		    memcmp(t->bytes + t->off[m], t->bytes + t->off[l],
		    t->off[l + 1] - t->off[l]) != 0 ||
		    memcmp(t->bytes + t->off[m] + (t->off[l + 1] - t->off[l]),
		    t->bytes + t->off[r], t->off[r + 1] - t->off[r]) != 0) {
			snprintf(errbuf, sizeof(errbuf), "%s: merge %u is bad",
			    path, i);
			*errstr = errbuf;
			return -1;
		}
		key = (uint64_t)l << 32 | r;
		/* A pair listed twice keeps its last rank, as the reference. */
		for (j = mhash(key, t->mmask); t->mtab[j].rank != 0 &&
		    t->mtab[j].key != key; j = (j + 1) & t->mmask)
			;
		t->mtab[j].key = key;
		t->mtab[j].rank = i + 1;
		t->mtab[j].res = m;
		if (t->off[l + 1] - t->off[l] == 1 &&
		    t->off[r + 1] - t->off[r] == 1 &&
		    t->byte_id[t->bytes[t->off[l]]] == l &&
		    t->byte_id[t->bytes[t->off[r]]] == r) {
			j = (size_t)t->bytes[t->off[l]] << 8 |
			    t->bytes[t->off[r]];
			t->bytepair[j].rank = i + 1;
			t->bytepair[j].res = m;
		}
	}
	return 0;
}

struct tok *
tok_open(const char *path, const char **errstr)
{
	struct tok	*t;
	struct stat	 st;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd, saved;

	if (ascii_class['a'] == 0)
		init_classes();
	if ((fd = open(path, O_RDONLY)) == -1) {
		saved = errno;
		*errstr = fail(path, strerror(errno));
		errno = saved;
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		*errstr = fail(path, strerror(errno));
		close(fd);
		errno = saved;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)TOK_MAXFILE) {
		*errstr = fail(path, S_ISREG(st.st_mode) ?
		    "too large for a tokenizer file" : "not a regular file");
		close(fd);
		errno = 0;
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->file = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, t->file + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	saved = errno;
	close(fd);
	errno = 0;
	if (got != (size_t)st.st_size) {
		errno = saved;
		*errstr = fail(path, "short read");
		tok_close(t);
		return NULL;
	}
	if (load(t, got, path, errstr) == -1) {
		tok_close(t);
		errno = 0;
		return NULL;
	}
	t->cache = xcalloc(CACHE_SLOTS, sizeof(*t->cache));
	t->inert = xcalloc(0x30000 / 4, 1);
	return t;
}

void
tok_close(struct tok *t)
{
	if (t == NULL)
		return;
	free(t->file);
	free(t->is_added);
	free(t->mtab);
	free(t->bytepair);
	free(t->cache);
	free(t->bid);
	free(t->bnext);
	free(t->bprev);
	free(t->brank);
	free(t->bres);
	free(t->heap);
	free(t->nbuf);
	free(t->sbuf);
	free(t->edits);
	free(t->inert);
	tok_ids_free(&t->count);
	free(t);
}

void
tok_ids_free(struct tok_ids *out)
{
	free(out->ids);
	free(out->offs);
	out->ids = NULL;
	out->offs = NULL;
	out->n = out->cap = 0;
}

const char *
tok_token(const struct tok *t, uint32_t id, size_t *len)
{
	if (id >= t->nvocab)
		return NULL;
	*len = t->off[id + 1] - t->off[id];
	return (const char *)t->bytes + t->off[id];
}

size_t
tok_vocab_size(const struct tok *t)
{
	return t->nvocab;
}

int
tok_is_added(const struct tok *t, uint32_t id)
{
	return id < t->nvocab && t->is_added[id];
}

static void
push(struct tok_ids *out, uint32_t id, size_t off)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? 2 * out->cap : 256;
		out->ids = xreallocarray(out->ids, out->cap, sizeof(*out->ids));
		if (out->want_offs)
			out->offs = xreallocarray(out->offs, out->cap,
			    sizeof(*out->offs));
	}
	out->ids[out->n] = id;
	if (out->want_offs)
		out->offs[out->n] = off;
	out->n++;
}

/* The input offset of position p of the normalised text. */
static size_t
map_off(struct tok *t, size_t p)
{
	const struct edit	*e;

	while (t->ecur < t->nedits && t->edits[t->ecur].nend <= p)
		t->ecur++;
	if (t->ecur < t->nedits && t->edits[t->ecur].nstart <= p)
		return t->edits[t->ecur].ostart;
	if (t->ecur == 0)
		return p;
	e = &t->edits[t->ecur - 1];
	return p - e->nend + e->oend;
}

static int
merge_lookup(const struct tok *t, uint32_t l, uint32_t r, uint32_t *res)
{
	uint64_t		 key = (uint64_t)l << 32 | r;
	const struct merge	*m;
	size_t			 j;

	for (j = mhash(key, t->mmask); (m = &t->mtab[j])->rank != 0;
	    j = (j + 1) & t->mmask)
		if (m->key == key) {
			*res = m->res;
			return (int)m->rank - 1;
		}
	return -1;
}

static void
heap_push(uint64_t *heap, size_t *n, uint64_t v)
{
	size_t	i = (*n)++, up;

	while (i > 0 && heap[up = (i - 1) / 2] > v) {
		heap[i] = heap[up];
		i = up;
	}
	heap[i] = v;
}

static uint64_t
heap_pop(uint64_t *heap, size_t *n)
{
	uint64_t	top = heap[0], v = heap[--*n];
	size_t		i = 0, c;

	while ((c = 2 * i + 1) < *n) {
		if (c + 1 < *n && heap[c + 1] < heap[c])
			c++;
		if (heap[c] >= v)
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = v;
	return top;
}

static void
pair_push(struct tok *t, size_t *nheap, uint32_t i)
{
	uint32_t	res = 0;
	int		rank;

	rank = merge_lookup(t, t->bid[i], t->bid[t->bnext[i]], &res);
	/* Remember the pair's merge, so that a pop needs no lookup. */
	t->brank[i] = rank >= 0 ? (uint32_t)rank : NONE;
	t->bres[i] = res;
	if (rank >= 0)
		heap_push(t->heap, nheap, (uint64_t)rank << 32 | i);
}

/*
 * Merge the bytes of one piece by rank, lowest first and leftmost among
 * equals: a heap of candidate pairs over a linked list, so that a piece of
 * n bytes costs O(n log n).  Leaves the list in t->bid/bnext from 0.
 */
static void
bpe(struct tok *t, const unsigned char *p, size_t n)
{
	size_t		nheap = 0, i;
	uint32_t	l, r;
	uint64_t	top;

	if (n > t->bcap) {
		t->bcap = n + n / 2;
		t->bid = xreallocarray(t->bid, t->bcap, sizeof(*t->bid));
		t->bnext = xreallocarray(t->bnext, t->bcap, sizeof(*t->bnext));
		t->bprev = xreallocarray(t->bprev, t->bcap, sizeof(*t->bprev));
		t->brank = xreallocarray(t->brank, t->bcap, sizeof(*t->brank));
		t->bres = xreallocarray(t->bres, t->bcap, sizeof(*t->bres));
		t->heap = xreallocarray(t->heap, t->bcap, 3 * sizeof(*t->heap));
	}
	for (i = 0; i < n; i++) {
		t->bid[i] = t->byte_id[p[i]];
		t->bnext[i] = i + 1 < n ? (uint32_t)i + 1 : NONE;
		t->bprev[i] = i > 0 ? (uint32_t)i - 1 : NONE;
	}
	for (i = 0; i + 1 < n; i++) {
		const struct merge *m = &t->bytepair[p[i] << 8 | p[i + 1]];

		t->brank[i] = m->rank - 1;	/* NONE when 0 */
		t->bres[i] = m->res;
		if (m->rank != 0)
			heap_push(t->heap, &nheap,
			    (uint64_t)(m->rank - 1) << 32 | i);
	}
	if (n > 0)
		t->brank[n - 1] = NONE;
	while (nheap > 0) {
		top = heap_pop(t->heap, &nheap);
		l = (uint32_t)top;
		r = t->bnext[l];
		/* Stale: l was merged away, or its pair changed since. */
		if (t->bid[l] == NONE || r == NONE ||
		    t->brank[l] != (uint32_t)(top >> 32))
			continue;
		t->bid[l] = t->bres[l];
		t->bid[r] = NONE;
		t->bnext[l] = t->bnext[r];
		if (t->bnext[r] != NONE)
			t->bprev[t->bnext[r]] = l;
		if (t->bprev[l] != NONE)
			pair_push(t, &nheap, t->bprev[l]);
		if (t->bnext[l] != NONE)
			pair_push(t, &nheap, l);
		else
			t->brank[l] = NONE;
		/* n - 1 pairs at first, two more per merge and at most
		 * n - 1 merges: the heap never holds more than 3n. */
	}
}

static uint32_t
piece_hash(const unsigned char *p, size_t n)
{
	uint32_t	h = 0x811C9DC5;
	size_t		i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x01000193;
	return h;
}

/* Tokens of the piece b[ps..pe) of the normalised text. */
static void
emit_piece(struct tok *t, const unsigned char *b, size_t ps, size_t pe,
    struct tok_ids *out)
{
	const unsigned char	*p = b + ps;
	struct cache_slot	*slot = NULL;
	size_t			 n = pe - ps, at, k;
	uint32_t		 h = 0, i;

	if (n == 1) {
		push(out, t->byte_id[p[0]], out->want_offs ? map_off(t, ps) : 0);
		return;
	}
	if (n <= CACHE_KEY) {
		h = piece_hash(p, n);
		slot = &t->cache[h & (CACHE_SLOTS - 1)];
		if (slot->hash == h && slot->klen == n &&
		    memcmp(slot->key, p, n) == 0) {
			at = ps;
			for (k = 0; k < slot->nids; k++) {
				push(out, slot->ids[k],
				    out->want_offs ? map_off(t, at) : 0);
				at += t->off[slot->ids[k] + 1] -
				    t->off[slot->ids[k]];
			}
			return;
		}
	}
	bpe(t, p, n);
	at = ps;
	k = 0;
	for (i = 0; i != NONE; i = t->bnext[i]) {
		push(out, t->bid[i], out->want_offs ? map_off(t, at) : 0);
		at += t->off[t->bid[i] + 1] - t->off[t->bid[i]];
		if (slot != NULL && k < CACHE_IDS)
			slot->ids[k] = t->bid[i];
		k++;
	}
	if (slot != NULL && k <= CACHE_IDS) {
		slot->hash = h;
		slot->klen = (uint8_t)n;
		slot->nids = (uint8_t)k;
		memcpy(slot->key, p, n);
	} else if (slot != NULL)
		slot->klen = 0;
}

/* The class of the character at b[i] (i < n); its length in *k. */
static int
char_class(const unsigned char *b, size_t n, size_t i, size_t *k)
{
	uint32_t	cp;

	if (b[i] < 0x80) {
		*k = 1;
		return ascii_class[b[i]];
	}
	*k = utf8_decode((const char *)b + i, n - i, &cp);
	/* CJK ideographs and Hangul syllables: all letters (Lo). */
	if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
	    (cp >= 0xAC00 && cp <= 0xD7A3))
		return CL_L;
	if (utf8_is_letter(cp))
		return CL_L;
	if (utf8_is_number(cp))
		return CL_N;
	if (utf8_is_space(cp))
		return CL_WS;
	return CL_P;
}

/* The end of the run of class cl (or, for CL_WS, any \s) from i. */
static size_t
run_end(const unsigned char *b, size_t n, size_t i, int cl)
{
	size_t	k;
	int	c;

	while (i < n) {
		c = char_class(b, n, i, &k);
		if (c != cl && !(cl == CL_WS && c == CL_NL))
			break;
		i += k;
	}
	return i;
}

static int
is_contraction(const unsigned char *b, size_t n, size_t i, size_t *len)
{
	int	c1, c2;

	if (i + 1 >= n)
		return 0;
	c1 = b[i + 1] | 0x20;
	if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
		*len = 2;
		return 1;
	}
	if (i + 2 >= n)
		return 0;
	c2 = b[i + 2] | 0x20;
	if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
	    (c1 == 'l' && c2 == 'l')) {
		*len = 3;
		return 1;
	}
	return 0;
}

/*
 * Cut the normalised text b[0..n) as the split pattern does, trying its
 * alternatives in order at each position, and encode each piece.
 */
static void
split(struct tok *t, const unsigned char *b, size_t n, struct tok_ids *out)
{
	size_t	i = 0, j, k, k2, last, nchars;
	int	c, c2;

	while (i < n) {
		c = char_class(b, n, i, &k);
		/* '(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]) */
		if (b[i] == '\'' && is_contraction(b, n, i, &j)) {
			j += i;
		} else if (c == CL_L) {
			/* \p{L}+ */
			j = run_end(b, n, i + k, CL_L);
		} else if (c != CL_NL && c != CL_N && i + k < n &&
		    char_class(b, n, i + k, &k2) == CL_L) {
			/* [^\r\n\p{L}\p{N}]\p{L}+ */
			j = run_end(b, n, i + k + k2, CL_L);
		} else if (c == CL_N) {
			/* \p{N} */
			j = i + k;
		} else if (c == CL_P || (b[i] == ' ' && i + 1 < n &&
		    char_class(b, n, i + 1, &k2) == CL_P)) {
			/*  ?[^\s\p{L}\p{N}]+[\r\n]* */
			j = run_end(b, n, c == CL_P ? i + k : i + 1 + k2, CL_P);
			while (j < n && (b[j] == '\r' || b[j] == '\n'))
				j++;
		} else {
			/* A run of white space: \s*[\r\n]+ ends after its last
			 * line break; \s+(?!\S) leaves its last character to
			 * the next piece unless at the end; else \s+. */
			last = 0;
			nchars = 0;
			for (j = i; j < n; j += k2) {
				c2 = char_class(b, n, j, &k2);
				if (c2 != CL_WS && c2 != CL_NL)
					break;
				nchars++;
				if (c2 == CL_NL)
					last = j + 1;
			}
			if (last != 0)
				j = last;
			else if (j < n && nchars >= 2) {
				/* Back off one character. */
				do
					j--;
				while ((b[j] & 0xC0) == 0x80);
			}
		}
		emit_piece(t, b, i, j, out);
		i = j;
	}
}

static int
is_inert(struct tok *t, uint32_t cp)
{
	unsigned char	*byte;
	int		 sh, v;

	if (cp < 0x300)
		return 1;
	if (cp >= 0x30000)
		return utf8_nfc_inert(cp);
	byte = &t->inert[cp >> 2];
	sh = (cp & 3) * 2;
	v = *byte >> sh & 3;
	if (v == 0) {
		v = utf8_nfc_inert(cp) ? 1 : 2;
		*byte |= v << sh;
	}
	return v == 1;
}

static void
nbuf_add(struct tok *t, size_t *nlen, const char *s, size_t len)
{
	if (len == 0)
		return;
	if (*nlen + len > t->ncap) {
		t->ncap = 2 * (*nlen + len) + 64;
		t->nbuf = xreallocarray(t->nbuf, t->ncap, 1);
	}
	memcpy(t->nbuf + *nlen, s, len);
	*nlen += len;
}

/* Normalise the segment s[a..z) into the buffer, recording the edit. */
static void
normalise_segment(struct tok *t, const char *s, size_t a, size_t z,
    size_t *nlen)
{
	char		*nfc;
	size_t		 i, k, slen = 0, len;
	uint32_t	 cp;

	if (t->scap < 3 * (z - a) + 4) {
		t->scap = 3 * (z - a) + 64;
		t->sbuf = xreallocarray(t->sbuf, t->scap, 1);
	}
	for (i = a; i < z; i += k) {
		k = utf8_decode(s + i, z - i, &cp);
		slen += utf8_encode(cp, t->sbuf + slen);
	}
	if (t->nedits == t->ecap) {
		t->ecap = t->ecap ? 2 * t->ecap : 16;
		t->edits = xreallocarray(t->edits, t->ecap, sizeof(*t->edits));
	}
	t->edits[t->nedits].nstart = *nlen;
	t->edits[t->nedits].ostart = a;
	if ((nfc = utf8_nfc(t->sbuf, slen, &len)) == NULL) {
		/* Out of memory inside utf8proc: as the allocators do. */
		fprintf(stderr, "out of memory\n");
		exit(71);
	}
	nbuf_add(t, nlen, nfc, len);
	free(nfc);
	t->edits[t->nedits].nend = *nlen;
	t->edits[t->nedits].oend = z;
	t->nedits++;
}

/*
 * Encode a stretch with no added token in it: normalise to NFC (only the
 * segments that need it, so that offsets stay exact elsewhere), then
 * split and merge.
 */
static void
encode_section(struct tok *t, const char *s, size_t len, struct tok_ids *out)
{
	const unsigned char	*b = (const unsigned char *)s;
	size_t			 i, k, seg = 0, clean = 0, nlen = 0, first;
	uint32_t		 cp;
	int			 need = 0;

	t->nedits = 0;
	t->ecur = 0;
	for (i = 0; i < len && b[i] < 0x80; i++)
		;
	first = i;
	if (first == len)
		goto plain;
	/* A segment starts at each inert character; only segments holding
	 * something else (or invalid UTF-8) can change. */
	seg = first > 0 ? first - 1 : 0;
	for (i = first; i < len; i += k) {
		if (b[i] < 0x80) {
			k = 1;
			cp = b[i];
		} else {
			k = utf8_decode(s + i, len - i, &cp);
			if (cp == 0xFFFD && !(k == 3 && b[i] == 0xEF &&
			    b[i + 1] == 0xBF && b[i + 2] == 0xBD)) {
				need = 1;
				continue;
			}
		}
		if (is_inert(t, cp)) {
			if (need) {
				nbuf_add(t, &nlen, s + clean, seg - clean);
				normalise_segment(t, s, seg, i, &nlen);
				clean = i;
				need = 0;
			}
			seg = i;
		} else
			need = 1;
	}
	if (need) {
		nbuf_add(t, &nlen, s + clean, seg - clean);
		normalise_segment(t, s, seg, len, &nlen);
		clean = len;
	}
	if (t->nedits > 0) {
		nbuf_add(t, &nlen, s + clean, len - clean);
		split(t, (const unsigned char *)t->nbuf, nlen, out);
	} else {
plain:
		split(t, b, len, out);
	}
}

void
tok_encode(struct tok *t, const char *s, size_t len, struct tok_ids *out)
{
	const unsigned char	*b = (const unsigned char *)s;
	size_t			 i = 0, start = 0, best, tl, from, j;
	uint32_t		 a, best_id = 0;

	while (i < len) {
		if (!t->added_first[b[i]]) {
			i++;
			continue;
		}
		/* The longest added token that starts here. */
		best = 0;
		for (a = 0; a < t->nadded; a++) {
			tl = t->off[t->added[a] + 1] - t->off[t->added[a]];
			if (tl > best && tl <= len - i &&
			    memcmp(s + i, t->bytes + t->off[t->added[a]], tl) == 0) {
				best = tl;
				best_id = t->added[a];
			}
		}
		if (best == 0) {
			i++;
			continue;
		}
		if (i > start) {
			from = out->n;
			encode_section(t, s + start, i - start, out);
			if (out->want_offs)
				for (j = from; j < out->n; j++)
					out->offs[j] += start;
		}
		push(out, best_id, i);
		i += best;
		start = i;
	}
	if (len > start) {
		from = out->n;
		encode_section(t, s + start, len - start, out);
		if (out->want_offs)
			for (j = from; j < out->n; j++)
				out->offs[j] += start;
	}
}

size_t
tok_count(struct tok *t, const char *s, size_t len)
{
	t->count.n = 0;
	tok_encode(t, s, len, &t->count);
	return t->count.n;
}
