/* chunk: documents into chunks that fit a token budget (see chunk.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "tok.h"
#include "utf8.h"
#include "util.h"

/* Boundaries, strongest first. */
enum {
	LV_HEAD,	/* before a Markdown heading (and the document's end) */
	LV_PARA,	/* after blank lines */
	LV_LINE,
	LV_SENT,
	LV_WORD,
	LV_TOKEN
};

struct cut {
	size_t	pos;
	int	level;
};

struct atom {
	size_t	start, end, ntok;
	int	level;		/* of the boundary at end */
};

struct heading {
	size_t	pos;		/* where its line starts */
	int	depth;		/* number of # */
	size_t	text, len;	/* its text, in the document */
};

struct chunker {
	struct tok		*tok;
	struct chunk_opts	 o;
	size_t			 budget;	/* tokens for new text */
	size_t			 maxlen;	/* bytes of the longest token */
	const char		*doc;
	size_t			 len;
	struct cut		*lines;
	size_t			 nlines, lcap;
	struct atom		*atoms;
	size_t			 natoms, acap;
	struct chunk		*chunks;
	size_t			 nchunks, ccap;
	struct heading		*heads;
	size_t			 nheads, hcap;
	char			*pool;		/* heading paths */
	size_t			 plen, pcap;
	size_t			*pathoff;	/* per chunk, into pool */
	struct cut		*cuts;		/* scratch for one split */
	size_t			 ncuts, cutcap;
	struct tok_ids		 ids;
};

struct chunker *
chunker_new(struct tok *t, const struct chunk_opts *o)
{
	struct chunker	*c;
	size_t		 i, n, len;

	c = xcalloc(1, sizeof(*c));
	c->tok = t;
	c->o = *o;
	c->budget = o->max_tokens - o->overlap;
	n = tok_vocab_size(t);
	for (i = 0; i < n; i++)
		if (tok_token(t, (uint32_t)i, &len) != NULL && len > c->maxlen)
			c->maxlen = len;
	c->ids.want_offs = 1;
	return c;
}

void
chunker_free(struct chunker *c)
{
	if (c == NULL)
		return;
	free(c->lines);
	free(c->atoms);
	free(c->chunks);
	free(c->heads);
	free(c->pool);
	free(c->pathoff);
	free(c->cuts);
	tok_ids_free(&c->ids);
	free(c);
}

static size_t
count(struct chunker *c, size_t a, size_t b)
{
	return tok_count(c->tok, c->doc + a, b - a);
}

static int
is_blank(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* Leading spaces of a line, if at most 3 (Markdown's indent limit). */
static size_t
indent(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < 4 && s[i] == ' '; i++)
		;
	return i;
}

/* The depth of an ATX heading line (1-6), or 0. */
static int
heading_depth(const char *s, size_t n)
{
	size_t	i = indent(s, n), d = 0;

	if (i > 3)
		return 0;
	while (i < n && s[i] == '#' && d < 7) {
		i++;
		d++;
	}
	if (d == 0 || d > 6)
		return 0;
	if (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
	    s[i] != '\r')
		return 0;
	return (int)d;
}

static int
is_fence(const char *s, size_t n)
{
	size_t	i = indent(s, n);

	return i <= 3 && i + 3 <= n && (memcmp(s + i, "```", 3) == 0 ||
	    memcmp(s + i, "~~~", 3) == 0);
}

static void
add_heading(struct chunker *c, size_t pos, const char *s, size_t n, int d)
{
	size_t	a, z;

	a = indent(s, n) + (size_t)d;
	z = n;
	while (z > a && (s[z - 1] == '\n' || s[z - 1] == '\r' ||
	    s[z - 1] == ' ' || s[z - 1] == '\t'))
		z--;
	/* A closing sequence of # goes, when space comes before it. */
	while (z > a && s[z - 1] == '#')
		z--;
	if (z < n && s[z] == '#' && z > a && s[z - 1] != ' ' &&
	    s[z - 1] != '\t')
		while (z < n && s[z] == '#')
			z++;
	while (z > a && (s[z - 1] == ' ' || s[z - 1] == '\t'))
		z--;
	while (a < z && (s[a] == ' ' || s[a] == '\t'))
		a++;
	if (c->nheads == c->hcap) {
		c->hcap = c->hcap ? 2 * c->hcap : 32;
		c->heads = xreallocarray(c->heads, c->hcap, sizeof(*c->heads));
	}
	c->heads[c->nheads].pos = pos;
	c->heads[c->nheads].depth = d;
	c->heads[c->nheads].text = pos + a;
	c->heads[c->nheads].len = z - a;
	c->nheads++;
}

/* Find each line start and how strong a boundary it is. */
static void
scan_lines(struct chunker *c)
{
	const char	*s = c->doc, *nl;
	size_t		 pos = 0, n;
	int		 fenced = 0, prev_blank = 0, d, level;

	c->nlines = 0;
	c->nheads = 0;
	while (pos < c->len) {
		nl = memchr(s + pos, '\n', c->len - pos);
		n = nl ? (size_t)(nl - (s + pos)) + 1 : c->len - pos;
		d = fenced ? 0 : heading_depth(s + pos, n);
		if (d > 0)
			level = LV_HEAD;
		else if (prev_blank && !is_blank(s + pos, n))
			level = LV_PARA;
		else
			level = LV_LINE;
		if (pos > 0) {
			if (c->nlines == c->lcap) {
				c->lcap = c->lcap ? 2 * c->lcap : 256;
				c->lines = xreallocarray(c->lines, c->lcap,
				    sizeof(*c->lines));
			}
			c->lines[c->nlines].pos = pos;
			c->lines[c->nlines].level = level;
			c->nlines++;
		}
		if (d > 0 && c->o.headings)
			add_heading(c, pos, s + pos, n, d);
		if (is_fence(s + pos, n))
			fenced = !fenced;
		prev_blank = is_blank(s + pos, n);
		pos += n;
	}
}

static void
add_cut(struct chunker *c, size_t pos, int level)
{
	if (c->ncuts == c->cutcap) {
		c->cutcap = c->cutcap ? 2 * c->cutcap : 64;
		c->cuts = xreallocarray(c->cuts, c->cutcap, sizeof(*c->cuts));
	}
	c->cuts[c->ncuts].pos = pos;
	c->cuts[c->ncuts].level = level;
	c->ncuts++;
}

static int
is_closer(uint32_t cp)
{
	return cp == '"' || cp == '\'' || cp == ')' || cp == ']' ||
	    cp == 0x2019 || cp == 0x201D || cp == 0x300D || cp == 0x300F ||
	    cp == 0xFF09 || cp == 0x00BB;
}

/* Cut points of one level strictly inside (a, b), into c->cuts. */
static void
find_cuts(struct chunker *c, size_t a, size_t b, int level)
{
	const char	*s = c->doc;
	size_t		 lo, hi, mid, i, k, q;
	uint32_t	 cp;
	int		 sp, prev_sp, ascii;

	c->ncuts = 0;
	if (level <= LV_LINE) {
		lo = 0;
		hi = c->nlines;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (c->lines[mid].pos <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < c->nlines && c->lines[i].pos < b; i++)
			if (c->lines[i].level == level)
				add_cut(c, c->lines[i].pos, level);
		return;
	}
	if (level == LV_SENT) {
		for (i = a; i < b; ) {
			k = utf8_decode(s + i, b - i, &cp);
			ascii = cp < 0x80;
			i += k;
			if (!utf8_is_sentence_end(cp))
				continue;
			q = i;
			while (q < b && (k = utf8_decode(s + q, b - q, &cp)) > 0 &&
			    (is_closer(cp) || utf8_is_sentence_end(cp)))
				q += k;
			i = q;
			/* "3.14" and "e.g.x" are no sentence ends. */
			if (ascii && (q >= b || (s[q] != ' ' && s[q] != '\t')))
				continue;
			while (q < b && (s[q] == ' ' || s[q] == '\t'))
				q++;
			/* At a line's end the line boundary serves. */
			if (q < b && s[q] != '\n' && s[q] != '\r')
				add_cut(c, q, level);
			i = q;
		}
		return;
	}
	/* Words: after each run of white space. */
	prev_sp = 0;
	for (i = a; i < b; i += k) {
		k = utf8_decode(s + i, b - i, &cp);
		sp = utf8_is_space(cp);
		if (!sp && prev_sp && i > a)
			add_cut(c, i, level);
		prev_sp = sp;
	}
}

static void
add_atom(struct chunker *c, size_t a, size_t b, size_t ntok, int level)
{
	if (c->natoms == c->acap) {
		c->acap = c->acap ? 2 * c->acap : 256;
		c->atoms = xreallocarray(c->atoms, c->acap, sizeof(*c->atoms));
	}
	c->atoms[c->natoms].start = a;
	c->atoms[c->natoms].end = b;
	c->atoms[c->natoms].ntok = ntok;
	c->atoms[c->natoms].level = level;
	c->natoms++;
}

/* Back to the start of the UTF-8 character at or before p. */
static size_t
char_start(const char *s, size_t p)
{
	while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80)
		p--;
	return p;
}

/*
 * Cut [a, b) between tokens into atoms of at most budget tokens.  Each
 * step encodes a window that grows until it holds more than budget
 * tokens, so that a long line costs linear time, not quadratic.
 */
static void
split_tokens(struct chunker *c, size_t a, size_t b, int end_level)
{
	size_t	cut, n, step, win = 8 * c->budget + 64;

	while (a < b) {
		for (;;) {
			if (win > b - a)
				win = b - a;
			c->ids.n = 0;
			tok_encode(c->tok, c->doc + a, win, &c->ids);
			if (c->ids.n > c->budget || win == b - a)
				break;
			win *= 2;
		}
		if (c->ids.n <= c->budget) {
			add_atom(c, a, b, c->ids.n, end_level);
			return;
		}
		cut = a + c->ids.offs[c->budget];
		cut = char_start(c->doc, cut);
		if (cut <= a) {
			/* A character longer than the budget: take it whole. */
			cut = a + 1;
			while (cut < b &&
			    ((unsigned char)c->doc[cut] & 0xC0) == 0x80)
				cut++;
		}
		/* Counting a prefix alone may differ: shrink until it fits. */
		step = 1;
		while ((n = count(c, a, cut)) > c->budget && cut > a + 1) {
			cut = char_start(c->doc, cut > a + step ? cut - step :
			    a + 1);
			if (cut <= a)
				cut = a + 1;
			step *= 2;
		}
		add_atom(c, a, cut, n, LV_TOKEN);
		/* The next window: this step's bytes and a quarter more. */
		win = (cut - a) + (cut - a) / 4 + 64;
		a = cut;
	}
}

/* Make atoms of [a, b), none over budget, cutting at level and finer. */
static void
atomize(struct chunker *c, size_t a, size_t b, int end_level, int level)
{
	struct cut	*cuts;
	size_t		 n, i, from, ncuts;

	if (a >= b)
		return;
	if ((b - a) / c->maxlen <= c->budget &&
	    (n = count(c, a, b)) <= c->budget) {
		add_atom(c, a, b, n, end_level);
		return;
	}
	if (level == LV_TOKEN) {
		split_tokens(c, a, b, end_level);
		return;
	}
	find_cuts(c, a, b, level);
	if (c->ncuts == 0) {
		atomize(c, a, b, end_level, level + 1);
		return;
	}
	/* Recursion reuses c->cuts: work on a copy. */
	ncuts = c->ncuts;
	cuts = xreallocarray(NULL, ncuts, sizeof(*cuts));
	memcpy(cuts, c->cuts, ncuts * sizeof(*cuts));
	from = a;
	for (i = 0; i < ncuts; i++) {
		atomize(c, from, cuts[i].pos, level, level + 1);
		from = cuts[i].pos;
	}
	atomize(c, from, b, end_level, level + 1);
	free(cuts);
}

static void
add_chunk(struct chunker *c, size_t a, size_t b, size_t ntok)
{
	if (c->nchunks == c->ccap) {
		c->ccap = c->ccap ? 2 * c->ccap : 64;
		c->chunks = xreallocarray(c->chunks, c->ccap,
		    sizeof(*c->chunks));
	}
	c->chunks[c->nchunks].start = a;
	c->chunks[c->nchunks].end = b;
	c->chunks[c->nchunks].ntokens = ntok;
	c->chunks[c->nchunks].heading = NULL;
	c->nchunks++;
}

/*
 * Pack atoms from i into one chunk: of the atoms that fit, end at the
 * strongest boundary that leaves the chunk at least half full (the last
 * such), or take all that fit.  Returns the index after the chunk.
 */
static size_t
pack(struct chunker *c, size_t i)
{
	size_t	j, k, best, sum, exact;
	int	best_level;

	sum = 0;
	for (j = i; j < c->natoms && sum + c->atoms[j].ntok <= c->budget; j++)
		sum += c->atoms[j].ntok;
	if (j == i)
		j = i + 1;	/* cannot happen: atoms fit the budget */
	for (;;) {
		best = j - 1;
		if (j < c->natoms) {
			best_level = LV_TOKEN + 1;
			sum = 0;
			for (k = i; k < j; k++) {
				sum += c->atoms[k].ntok;
				if (2 * sum >= c->budget &&
				    c->atoms[k].level <= best_level) {
					best = k;
					best_level = c->atoms[k].level;
				}
			}
		}
		/* An atom alone was counted exactly already. */
		if (best == i) {
			exact = c->atoms[i].ntok;
			break;
		}
		exact = count(c, c->atoms[i].start, c->atoms[best].end);
		if (exact <= c->budget)
			break;
		j = best;
	}
	add_chunk(c, c->atoms[i].start, c->atoms[best].end, exact);
	return best + 1;
}

/* Merge chunks under min_tokens into a neighbour when the sum fits. */
static void
merge_small(struct chunker *c)
{
	size_t	i, n;

	for (i = 0; i < c->nchunks && c->nchunks > 1; ) {
		if (c->chunks[i].ntokens >= c->o.min_tokens) {
			i++;
			continue;
		}
		if (i > 0 && (n = count(c, c->chunks[i - 1].start,
		    c->chunks[i].end)) <= c->budget) {
			c->chunks[i - 1].end = c->chunks[i].end;
			c->chunks[i - 1].ntokens = n;
		} else if (i + 1 < c->nchunks && (n = count(c,
		    c->chunks[i].start, c->chunks[i + 1].end)) <= c->budget) {
			c->chunks[i + 1].start = c->chunks[i].start;
			c->chunks[i + 1].ntokens = n;
		} else {
			i++;
			continue;
		}
		memmove(c->chunks + i, c->chunks + i + 1,
		    (c->nchunks - i - 1) * sizeof(*c->chunks));
		c->nchunks--;
	}
}

/* Start each chunk after the first with the end of the one before. */
static void
add_overlap(struct chunker *c)
{
	size_t	i, k, pos, ps, pe, n;

	for (i = c->nchunks - 1; i > 0; i--) {
		ps = c->chunks[i - 1].start;
		pe = c->chunks[i - 1].end;
		c->ids.n = 0;
		tok_encode(c->tok, c->doc + ps, pe - ps, &c->ids);
		k = c->ids.n > c->o.overlap ? c->ids.n - c->o.overlap : 0;
		for (;;) {
			pos = k < c->ids.n ? ps + c->ids.offs[k] : pe;
			while (pos < pe &&
			    ((unsigned char)c->doc[pos] & 0xC0) == 0x80)
				pos++;
			n = count(c, pos, c->chunks[i].end);
			if (n <= c->o.max_tokens || k >= c->ids.n)
				break;
			k++;
		}
		c->chunks[i].start = pos;
		c->chunks[i].ntokens = n;
	}
}

static void
pool_add(struct chunker *c, const char *s, size_t n)
{
	if (c->plen + n + 1 > c->pcap) {
		c->pcap = 2 * (c->plen + n + 1);
		c->pool = xreallocarray(c->pool, c->pcap, 1);
	}
	memcpy(c->pool + c->plen, s, n);
	c->plen += n;
}

/* The heading path at the start of each chunk's own text. */
static void
set_headings(struct chunker *c, const size_t *starts)
{
	size_t	stack[6], i, h = 0;
	int	d, k;

	for (k = 0; k < 6; k++)
		stack[k] = SIZE_MAX;
	c->plen = 0;
	c->pathoff = xreallocarray(c->pathoff, c->nchunks + 1,
	    sizeof(*c->pathoff));
	for (i = 0; i < c->nchunks; i++) {
		/* A heading ends those at its depth and deeper. */
		while (h < c->nheads && c->heads[h].pos <= starts[i]) {
			d = c->heads[h].depth;
			stack[d - 1] = h;
			for (k = d; k < 6; k++)
				stack[k] = SIZE_MAX;
			h++;
		}
		c->pathoff[i] = c->plen;
		for (k = 0; k < 6; k++) {
			if (stack[k] == SIZE_MAX)
				continue;
			if (c->plen > c->pathoff[i])
				pool_add(c, " > ", 3);
			pool_add(c, c->doc + c->heads[stack[k]].text,
			    c->heads[stack[k]].len);
		}
		pool_add(c, "", 0);
		c->pool[c->plen++] = '\0';
	}
	for (i = 0; i < c->nchunks; i++)
		c->chunks[i].heading = c->pool + c->pathoff[i];
}

size_t
chunker_split(struct chunker *c, const char *doc, size_t len,
    const struct chunk **out)
{
	size_t	i, *starts = NULL;

	c->doc = doc;
	c->len = len;
	c->natoms = 0;
	c->nchunks = 0;
	*out = c->chunks;
	if (len == 0)
		return 0;
	scan_lines(c);
	atomize(c, 0, len, LV_HEAD, LV_HEAD);
	for (i = 0; i < c->natoms; )
		i = pack(c, i);
	if (c->o.min_tokens > 0)
		merge_small(c);
	if (c->o.headings) {
		starts = xreallocarray(NULL, c->nchunks, sizeof(*starts));
		for (i = 0; i < c->nchunks; i++)
			starts[i] = c->chunks[i].start;
	}
	if (c->o.overlap > 0 && c->nchunks > 1)
		add_overlap(c);
	if (c->o.headings) {
		set_headings(c, starts);
		free(starts);
	}
	*out = c->chunks;
	return c->nchunks;
}
