/* json: jsmn tokens over a borrowed buffer, and a JSON writer. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "json.h"
#include "numfmt.h"
#include "util.h"

/*
 * An array of numbers is read straight into nums while the text is
 * tokenised, and jsmn skips over it: an embedding of 1024 floats is one
 * token, not 1025, and its numbers are parsed once.
 */
struct span {
	int	 tok;		/* the array's token */
	size_t	 at;		/* json_feed: its '[' in the kept text */
	size_t	 off, n;	/* its numbers: nums[off .. off + n) */
};

/* Where json_feed stands in the text that arrives. */
enum feed {
	FEED_TEXT,		/* outside strings and number arrays */
	FEED_PRIMITIVE,		/* in a number, true, false or null */
	FEED_STRING,		/* in a string */
	FEED_ESCAPE,		/* in a string, after a backslash */
	FEED_BRACKET,		/* after a '[', before its first element */
	FEED_NUMBER,		/* in an array of numbers, before one */
	FEED_AFTER,		/* in an array of numbers, after one */
	FEED_PLAIN		/* kept as it comes, left to json_end */
};

struct json {
	jsmntok_t	*toks;
	size_t		 cap;
	int		 n;
	const char	*buf;
	float		*nums;
	size_t		 nnums, nums_cap;
	struct span	*spans;
	size_t		 nspans, spans_cap;
	/*
	 * json_feed: the text kept (all but the numbers of the arrays read
	 * on the way, whose brackets stay), and the state between pieces.
	 */
	char		*text;
	size_t		 tlen, tcap;
	enum feed	 state;
	size_t		 arr_at;	/* the open array's '[' in text */
	size_t		 arr_nums;	/* its first number in nums */
	char		*raw;		/* its text from earlier pieces */
	size_t		 rlen, rcap;
	char		*carry;		/* a number cut at a piece's end */
	size_t		 clen, ccap;
	size_t		 plain_at;	/* FEED_PLAIN: from here in text */
};

static const double	pow10_tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};
/* Their inverses, each within half a unit: a product, not a division. */
static const double	inv10_tab[] = {
	1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10,
	1e-11, 1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20,
	1e-21, 1e-22
};

/*
 * If s[0..8) are eight ASCII digits, store their value in *v and return
 * 1.  Eight bytes at once: each byte minus '0' must be below 10, and the
 * digits combine pairwise, then in fours, then all eight.
 */
static int
eight_digits(const char *s, uint64_t *v)
{
	uint64_t	x, t;

	memcpy(&x, s, 8);
	/* Little-endian: the first digit is the low byte. */
	t = x - UINT64_C(0x3030303030303030);
	if (((x & UINT64_C(0xf0f0f0f0f0f0f0f0)) |
	    (((x + UINT64_C(0x0606060606060606)) &
	    UINT64_C(0xf0f0f0f0f0f0f0f0)) >> 4)) !=
	    UINT64_C(0x3333333333333333))
		return 0;
	t = t * 10 + (t >> 8);	/* pairs in bytes 0, 2, 4, 6 */
	t = ((t & UINT64_C(0x000000ff000000ff)) *
	    (100 + (UINT64_C(1000000) << 32)) +
	    ((t >> 16) & UINT64_C(0x000000ff000000ff)) *
	    (1 + (UINT64_C(10000) << 32))) >> 32;
	*v = t;
	return 1;
}

static inline unsigned
lowest_byte(uint64_t flags)
{
	return (unsigned)__builtin_ctzll(flags) / 8;
}

/* The first byte of s[16..32) that is a comma, or 16 (little-endian). */
static inline unsigned
comma_after16(const char *s)
{
	const uint64_t	ones = UINT64_C(0x0101010101010101);
	const uint64_t	low7 = 0x7f * ones;
	uint64_t	a, b, za, zb;

	memcpy(&a, s + 16, 8);
	memcpy(&b, s + 24, 8);
	a ^= ',' * ones;
	b ^= ',' * ones;
	/* 0x80 in exactly the bytes that were commas (now zero). */
	za = ~(((a & low7) + low7) | a | low7);
	zb = ~(((b & low7) + low7) | b | low7);
	if (za != 0)
		return lowest_byte(za);
	return zb != 0 ? 8 + lowest_byte(zb) : 16;
}

/*
 * Read numbers of the shape of nearly every number in an embedding,
 * "0.ddd" or "-0.ddd" with some twenty digits and no exponent (a double
 * written in full, as DashScope does), each followed by a comma, from
 * s[i..] into out (room for max) while they start at or before last (32
 * bytes are read from each).  Sets *n to the count and returns where it
 * stopped: at anything else, which is left to the general reader.  The
 * comma is found first, so that reading one number does not wait for the
 * one before.  Kept apart, so that the loop has its registers to itself.
 */
#ifdef __SSE2__
/*
 * With SSE2, which every x86-64 has, the numbers of 16 to 29 fraction
 * digits: sixteen bytes compared at once check the digits, and the first
 * sixteen fraction digits combine in pairs, fours and eights with three
 * multiply-adds (what fraction does below, in fewer instructions).
 */
static size_t __attribute__((noinline))
run_of_fractions(const char *s, size_t i, size_t last, float *out,
    size_t max, size_t *n)
{
	const __m128i	zero = _mm_setzero_si128(), ascii0 = _mm_set1_epi8('0');
	const __m128i	nine = _mm_set1_epi8(9);
	const __m128i	by10 = _mm_set1_epi32(10 | 1 << 16);
	const __m128i	by100 = _mm_set1_epi32(100 | 1 << 16);
	const __m128i	by10000 = _mm_set1_epi32(10000 | 1 << 16);
	__m128i		a, t, u, lo, hi;
	size_t		k = 0, neg;
	unsigned	cm, nd, digits;
	uint64_t	m, bits, v;
	uint32_t	fb;
	float		r;
	double		d;

	for (; k < max && i <= last; k++) {
		/*
		 * Bytes 16 to 31: the comma, and the digits before it.  The
		 * comma, which says where the next number starts, is found
		 * in general registers: through pmovmskb the loop runs at
		 * two thirds the speed.
		 */
		a = _mm_loadu_si128((const __m128i *)(s + i + 16));
		cm = comma_after16(s + i);
		cm = cm < 16 ? 1u << cm : 0;
		t = _mm_sub_epi8(a, ascii0);
		digits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_max_epu8(t, nine), nine));
		neg = s[i] == '-';
		if (cm == 0 || s[i + neg] != '0' || s[i + neg + 1] != '.')
			break;
		/*
		 * After the first sixteen fraction digits, the first byte
		 * that is not a digit must be the comma: more digits than
		 * that, or fewer, or anything else, go to the general reader.
		 */
		nd = ~digits & (0xffffu << (neg + 2));
		if ((nd & -nd) != (cm & -cm))
			break;
		/* The first sixteen fraction digits, each minus '0'. */
		t = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)
		    (s + i + neg + 2)), ascii0);
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(t, nine),
		    nine)) != 0xffff)
			break;
		lo = _mm_madd_epi16(_mm_unpacklo_epi8(t, zero), by10);
		hi = _mm_madd_epi16(_mm_unpackhi_epi8(t, zero), by10);
		u = _mm_madd_epi16(_mm_packs_epi32(lo, hi), by100);
		u = _mm_madd_epi16(_mm_packs_epi32(u, u), by10000);
		v = (uint64_t)_mm_cvtsi128_si64(u);
		m = (v & 0xffffffff) * 100000000 + (v >> 32);
		/* Digits dropped after the sixteenth need 13 kept. */
		if ((nd & -nd) > (1u << (neg + 2)) &&
		    m < UINT64_C(1000000000000))
			break;
		d = (double)(int64_t)m * 1e-16;
		memcpy(&bits, &d, sizeof(bits));
		/* The 29 bits a float drops; 1 << 28 is a midpoint. */
		if (((bits & ((UINT64_C(1) << 29) - 1)) -
		    ((UINT64_C(1) << 28) - 8192)) <= 16384)
			break;
		r = (float)d;
		memcpy(&fb, &r, sizeof(fb));
		fb |= (uint32_t)neg << 31;
		memcpy(out + k, &fb, sizeof(fb));
		i += 17 + (unsigned)__builtin_ctz(cm);	/* after the comma */
	}
	*n = k;
	return i;
}
#else
static const uint64_t	pow10_int[] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000
};

/* Eight digits, each byte already minus '0', to their value. */
static inline uint64_t
digits8(uint64_t t)
{
	t = t * 10 + (t >> 8);
	return ((t & UINT64_C(0x000000ff000000ff)) *
	    (100 + (UINT64_C(1000000) << 32)) +
	    ((t >> 16) & UINT64_C(0x000000ff000000ff)) *
	    (1 + (UINT64_C(10000) << 32))) >> 32;
}

/*
 * The bytes of t (each minus '0') that are not digits, as 0x80 in each.
 * Above the first such byte the flags may be wrong (borrows and carries
 * cross into it), so only the lowest one counts.
 */
static inline uint64_t
nondigits(uint64_t t)
{
	return ((t + UINT64_C(0x7676767676767676)) | t) &
	    UINT64_C(0x8080808080808080);
}

/*
 * One number "0.ddd" or "-0.ddd" with 13 to 24 fraction digits, given its
 * length q: read eight digits at a time, with no branch per digit.  With
 * more than 16 fraction digits the first 16 make an integer and the rest
 * only have to be digits, which is exact enough when the integer keeps 13 significant
 * digits (the value is 1e-4 or more): the double is then within 2^13 of
 * its units of the decimal, and unless it lies that close to a midpoint
 * between two floats, rounding it gives the float the decimal rounds to.
 * With 16 or fewer the integer is exact and the scaling rounds once.
 * Returns 1 with *out set, or 0 to leave the number to the general
 * reader.  s needs 32 readable bytes (little-endian hosts).
 */
static inline int
fraction(const char *s, size_t q, float *out)
{
	const uint64_t	zeros = UINT64_C(0x3030303030303030);
	uint64_t	w1, w2, w3, m, bits, keep;
	size_t		neg, nd;
	uint32_t	fb;
	float		r;
	double		d;

	neg = s[0] == '-';
	if (s[neg] != '0' || s[neg + 1] != '.')
		return 0;
	nd = q - neg - 2;		/* fraction digits, 13 to 29 */
	memcpy(&w1, s + neg + 2, 8);
	memcpy(&w2, s + neg + 10, 8);
	memcpy(&w3, s + neg + 18, 8);
	w1 -= zeros;
	w2 -= zeros;
	w3 -= zeros;
	if (nd >= 16) {
		if (nd > 24)
			return 0;
		/* Bytes of w3 that must be digits: the first nd - 16. */
		keep = nd == 16 ? 0 : ~UINT64_C(0) >> (8 * (24 - nd));
		if ((nondigits(w1) | nondigits(w2) | (nondigits(w3) & keep)) !=
		    0)
			return 0;
		m = digits8(w1) * 100000000 + digits8(w2);
		if (nd > 16 && m < UINT64_C(1000000000000))
			return 0;
		d = (double)(int64_t)m * 1e-16;
	} else {
		/* 13 to 15 digits: the last 16 - nd bytes of w2 are not. */
		keep = ~UINT64_C(0) >> (8 * (16 - nd));
		if ((nondigits(w1) | (nondigits(w2) & keep)) != 0)
			return 0;
		m = digits8(w1) * pow10_int[nd - 8] +
		    digits8(w2 << (8 * (16 - nd)));
		d = (double)(int64_t)m * inv10_tab[nd];
	}
	memcpy(&bits, &d, sizeof(bits));
	/* The 29 bits a float drops; 1 << 28 is a midpoint. */
	if (((bits & ((UINT64_C(1) << 29) - 1)) -
	    ((UINT64_C(1) << 28) - 8192)) <= 16384)
		return 0;
	r = (float)d;
	memcpy(&fb, &r, sizeof(fb));
	fb |= (uint32_t)neg << 31;
	memcpy(out, &fb, sizeof(fb));
	return 1;
}

static size_t __attribute__((noinline))
run_of_fractions(const char *s, size_t i, size_t last, float *out,
    size_t max, size_t *n)
{
	size_t		k = 0;
	unsigned	q;

	while (k < max && i <= last && (q = comma_after16(s + i)) < 16 &&
	    fraction(s + i, 16 + q, out + k)) {
		k++;
		i += 17 + q;
	}
	*n = k;
	return i;
}

#endif

/*
 * Read one JSON number from s[0..len) as the nearest float.  The digits
 * (the first 19) go into an integer that becomes a double, scaled by a
 * power of ten: three roundings, so the double is within a few of its
 * units of the decimal, far closer than float's half unit.  Only when it
 * lies that close to a midpoint between two floats could the rounding go
 * either way; then, and for exponents out of the exact range,
 * numfmt_parse_float decides.  Returns the bytes used, 0 if s does not
 * start with a JSON number.
 */
static size_t
number(const char *s, size_t len, float *out)
{
	uint64_t	m = 0, bits, low;
	size_t		i = 0, d0;
	int		e = 0, ndig = 0, neg = 0;
	double		d;

	if (i < len && s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i >= len || s[i] < '0' || s[i] > '9')
		return 0;
	if (s[i] == '0')
		i++;
	else
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (ndig < 19) {
				m = m * 10 + (uint64_t)(s[i] - '0');
				ndig++;
			} else
				e++;
		}
	if (i < len && s[i] == '.') {
		uint64_t	eight;

		for (d0 = ++i; m == 0 && i < len && s[i] == '0'; i++)
			e--;
		while (ndig + 8 <= 19 && i + 8 <= len &&
		    eight_digits(s + i, &eight)) {
			m = m * 100000000 + eight;
			if (m != 0)
				ndig += 8;	/* leading zeros were skipped */
			e -= 8;
			i += 8;
		}
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (m == 0 && s[i] == '0') {
				e--;
				continue;
			}
			if (ndig < 19) {
				m = m * 10 + (uint64_t)(s[i] - '0');
				ndig++;
				e--;
			}
		}
		if (i == d0)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		int	eneg = 0, ev = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (d0 = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (ev < 100000)
				ev = ev * 10 + (s[i] - '0');
		if (i == d0)
			return 0;
		e += eneg ? -ev : ev;
	}
	if (m == 0) {
		*out = neg ? -0.0f : 0.0f;
		return i;
	}
	if (e < -22 || e > 22)
		goto slow;
	d = (double)m;
	d = e < 0 ? d * inv10_tab[-e] : d * pow10_tab[e];
	if (d < FLT_MIN || d > FLT_MAX)
		goto slow;
	memcpy(&bits, &d, sizeof(bits));
	/* The 29 bits a float drops; 1 << 28 is a midpoint. */
	low = bits & ((UINT64_C(1) << 29) - 1);
	if (low + 16 >= (UINT64_C(1) << 28) && low <= (UINT64_C(1) << 28) + 16)
		goto slow;
	*out = neg ? -(float)d : (float)d;
	return i;
slow:
	return numfmt_parse_float(s, i, out) == i ? i : 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Room for one more number at least. */
static void
grow_nums(struct json *j)
{
	if (j->nnums == j->nums_cap) {
		j->nums_cap = j->nums_cap == 0 ? 4096 : 2 * j->nums_cap;
		j->nums = xreallocarray(j->nums, j->nums_cap, sizeof(float));
	}
}

/*
 * If s[from..] (just after a '[') is a flat array of finite numbers,
 * append them to j->nums, set *count and return the offset of its ']';
 * else return 0 and leave nums as it was.
 */
static size_t
scan_numbers(struct json *j, const char *s, size_t len, size_t from,
    size_t *count)
{
	size_t		i = from, used, start = j->nnums;
	float		f;
	static int	le = -1;

	if (le == -1)
		le = host_little_endian();
	for (;;) {
		grow_nums(j);
		/* The common case first, while it lasts. */
		if (le && len >= 32) {
			i = run_of_fractions(s, i, len - 32,
			    j->nums + j->nnums, j->nums_cap - j->nnums, &used);
			j->nnums += used;
			if (j->nnums == j->nums_cap)
				continue;
		}
		while (i < len && is_space(s[i]))
			i++;
		if ((used = number(s + i, len - i, &f)) == 0 || !isfinite(f))
			break;
		i += used;
		j->nums[j->nnums++] = f;
		while (i < len && is_space(s[i]))
			i++;
		if (i < len && s[i] == ',') {
			i++;
			continue;
		}
		if (i < len && s[i] == ']') {
			*count = j->nnums - start;
			return i;
		}
		break;
	}
	j->nnums = start;
	return 0;
}

/*
 * Where the depth check stands: containers open, and whether inside a
 * string (1) or just after a backslash in one (2).
 */
struct depth {
	int	open, str;
};

/*
 * Go on counting the containers that s[from..to) opens and closes, outside
 * strings; 1 when more than JSON_MAX_DEPTH are open at once.  jsmn keeps
 * no stack, but each close bracket looks back over the tokens inside it:
 * deep nesting costs time in the square of the depth, and no answer read
 * here needs more than a few levels.  Run over what jsmn is about to read,
 * not over the number arrays it skips, it costs little.
 */
static int
too_deep(struct depth *d, const char *s, size_t from, size_t to)
{
	size_t	i;

	for (i = from; i < to; i++) {
		if (d->str != 0) {
			if (d->str == 2)
				d->str = 1;
			else if (s[i] == '\\')
				d->str = 2;
			else if (s[i] == '"')
				d->str = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			d->str = 1;
			break;
		case '[':
		case '{':
			if (++d->open > JSON_MAX_DEPTH)
				return 1;
			break;
		case ']':
		case '}':
			d->open--;
			break;
		}
	}
	return 0;
}

/* Run jsmn over buf[0..len), growing the token array as it asks. */
static int
run_jsmn(struct json *j, jsmn_parser *p, const char *buf, size_t len)
{
	int	r;

	/* jsmn resumes where it stopped once given more tokens. */
	while ((r = jsmn_parse(p, buf, len, j->toks, (unsigned)j->cap)) ==
	    JSMN_ERROR_NOMEM) {
		if (j->cap > INT32_MAX / 2)
			return JSMN_ERROR_INVAL;
		j->cap *= 2;
		j->toks = xreallocarray(j->toks, j->cap, sizeof(*j->toks));
	}
	return r;
}

struct json *
json_new(void)
{
	return xcalloc(1, sizeof(struct json));
}

void
json_free(struct json *j)
{
	if (j == NULL)
		return;
	free(j->toks);
	free(j->nums);
	free(j->spans);
	free(j->text);
	free(j->raw);
	free(j->carry);
	free(j);
}

static const struct span *span_of(const struct json *, int);

/*
 * 1 if the tokens form the tree their sizes say.  jsmn, even strict,
 * takes some malformed texts ("[{}, : {}]" makes the object a key), and
 * then the children found by position (json_next) disagree with the
 * count in size (json_size).  One pass with a stack of open containers:
 * every object's children must be string keys each followed by a value,
 * and every container must have as many as its size says.
 */
static int
tree_ok(const struct json *j)
{
	struct open {
		int	 tok;
		int	 kids;		/* arrays: elements; objects: keys */
		int	 want_value;	/* objects: a key was just read */
	}		*stack = NULL, *top;
	size_t		 depth = 0, cap = 0;
	int		 i, ok = 0;

	for (i = 0; i < j->n; i++) {
		/* Close the containers that end before token i. */
		for (; depth > 0; depth--) {
			top = &stack[depth - 1];
			if (j->toks[i].start < j->toks[top->tok].end)
				break;
			if (top->kids != j->toks[top->tok].size ||
			    top->want_value)
				goto out;
		}
		if (depth > 0) {
			top = &stack[depth - 1];
			if (j->toks[top->tok].type != JSMN_OBJECT)
				top->kids++;
			else if (top->want_value)
				top->want_value = 0;
			else if (j->toks[i].type != JSMN_STRING)
				goto out;
			else {
				top->kids++;
				top->want_value = 1;
				continue;
			}
		} else if (i > 0)
			goto out;
		if ((j->toks[i].type == JSMN_OBJECT ||
		    j->toks[i].type == JSMN_ARRAY) && span_of(j, i) == NULL) {
			if (depth == cap) {
				cap = cap ? 2 * cap : 64;
				stack = xreallocarray(stack, cap,
				    sizeof(*stack));
			}
			stack[depth].tok = i;
			stack[depth].kids = 0;
			stack[depth].want_value = 0;
			depth++;
		}
	}
	for (; depth > 0; depth--) {
		top = &stack[depth - 1];
		if (top->kids != j->toks[top->tok].size || top->want_value)
			goto out;
	}
	ok = 1;
out:
	free(stack);
	return ok;
}

/* Add a span for the array of token tok, '[' at at, numbers from off. */
static void
add_span(struct json *j, int tok, size_t at, size_t off, size_t n)
{
	if (j->nspans == j->spans_cap) {
		j->spans_cap = j->spans_cap == 0 ? 64 : 2 * j->spans_cap;
		j->spans = xreallocarray(j->spans, j->spans_cap,
		    sizeof(*j->spans));
	}
	j->spans[j->nspans].tok = tok;
	j->spans[j->nspans].at = at;
	j->spans[j->nspans].off = off;
	j->spans[j->nspans].n = n;
	j->nspans++;
}

/*
 * Tokenise buf[0..len) into j.  The spans j holds already (json_feed's)
 * are arrays whose numbers were read on the way: the text has their '['
 * and, right after it, their ']'.  From scan_at on, arrays of numbers
 * are looked for here, as json_parse does for a whole text.
 */
static int
tokenise(struct json *j, const char *buf, size_t len, size_t scan_at,
    const char **errstr)
{
	jsmn_parser	 p;
	struct depth	 depth = { 0, 0 };
	const char	*q;
	size_t		 from = scan_at, k, m, close, count, mark;
	size_t		 checked = 0, known = j->nspans, ki = 0;
	int		 r, i, t;

	j->n = 0;
	j->buf = buf;
	if (j->cap == 0) {
		j->cap = 1024;
		j->toks = xreallocarray(NULL, j->cap, sizeof(*j->toks));
	}
	/* No JSON text has one; jsmn would take it for the end. */
	if (len > 0 && memchr(buf, '\0', len) != NULL) {
		*errstr = "malformed";
		return -1;
	}
	jsmn_init(&p);
	for (;;) {
		if (ki < known) {
			k = j->spans[ki].at;
			close = k + 1;
			count = j->spans[ki].n;
			mark = j->spans[ki].off;
		} else {
			if (from >= len || (q = memchr(buf + from, '[',
			    len - from)) == NULL)
				break;
			k = (size_t)(q - buf);
			from = k + 1;
			for (m = k + 1; m < len && is_space(buf[m]); m++)
				;
			if (m == len || (buf[m] != '-' && (buf[m] < '0' ||
			    buf[m] > '9')))
				continue;
			mark = j->nnums;
			if ((close = scan_numbers(j, buf, len, k + 1,
			    &count)) == 0)
				continue;
		}
		/* Tokenise up to the '[' and check it opened an array. */
		if (too_deep(&depth, buf, checked, k + 1))
			goto deep;
		checked = k + 1;
		r = run_jsmn(j, &p, buf, k + 1);
		if (r < 0 && r != JSMN_ERROR_PART)
			goto bad;
		t = (int)p.toknext - 1;
		if (t < 0 || p.pos != k + 1 || j->toks[t].type != JSMN_ARRAY ||
		    j->toks[t].start != (int)k) {
			/* Its numbers are gone from the text: no going back. */
			if (ki < known) {
				*errstr = "malformed";
				return -1;
			}
			j->nnums = mark;	/* a '[' inside a string */
			continue;
		}
		j->toks[t].size = (int)count;
		if (ki < known)
			j->spans[ki++].tok = t;
		else
			add_span(j, t, k, mark, count);
		p.pos = (unsigned)close;	/* jsmn goes on at the ']' */
		if (from < close + 1)
			from = close + 1;
		checked = close;
	}
	if (too_deep(&depth, buf, checked, len)) {
deep:
		*errstr = "nested too deeply";
		return -1;
	}
	r = run_jsmn(j, &p, buf, len);
bad:
	if (r == JSMN_ERROR_PART) {
		*errstr = "truncated";
		return -1;
	}
	if (r < 0) {
		*errstr = "malformed";
		return -1;
	}
	r = (int)p.toknext;
	if (r == 0) {
		*errstr = "empty";
		return -1;
	}
	for (i = 0; i < r; i++)
		if (j->toks[i].end < 0) {
			*errstr = "truncated";
			return -1;
		}
	/* One value only: a second top-level token is garbage after it. */
	for (i = 1; i < r; i++)
		if (j->toks[i].start >= j->toks[0].end) {
			*errstr = "malformed";
			return -1;
		}
	j->n = r;
	if (!tree_ok(j)) {
		j->n = 0;
		*errstr = "malformed";
		return -1;
	}
	return 0;
}

int
json_parse(struct json *j, const char *buf, size_t len, const char **errstr)
{
	j->nnums = j->nspans = 0;
	return tokenise(j, buf, len, 0, errstr);
}

/* Append s[0..n) to the growing buffer *buf (length *len, room *cap). */
static void
append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (n > *cap - *len) {
		if (*cap == 0)
			*cap = 4096;
		while (n > *cap - *len)
			*cap *= 2;
		*buf = xreallocarray(*buf, *cap, 1);
	}
	if (n > 0)
		memcpy(*buf + *len, s, n);
	*len += n;
}

static void
keep(struct json *j, const char *s, size_t n)
{
	append(&j->text, &j->tlen, &j->tcap, s, n);
}

void
json_begin(struct json *j)
{
	j->n = 0;
	j->nnums = j->nspans = 0;
	j->tlen = j->rlen = j->clen = 0;
	j->state = FEED_TEXT;
}

/* A byte that may be part of a JSON number. */
static int
is_numchar(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
	    c == 'e' || c == 'E';
}

/*
 * The open array is not all numbers: keep its text as it came (the part
 * from earlier pieces is in raw, the rest is this piece's from a0 on),
 * and the rest of the document, for json_end to read as json_parse
 * would.  Returns where to go on in the piece: a0.
 */
static size_t
plain_from(struct json *j, size_t a0)
{
	keep(j, j->raw, j->rlen);
	j->nnums = j->arr_nums;
	j->rlen = j->clen = 0;
	j->plain_at = j->arr_at;
	j->state = FEED_PLAIN;
	return a0;
}

/*
 * Read the numbers of the open array from s[i..len); its text in this
 * piece starts at a0.  A number that reaches the end of the piece waits
 * in carry for the rest.  Returns where it stopped: the end of the
 * piece, just after the array's ']', or a0 (see plain_from).
 */
static size_t
feed_numbers(struct json *j, const char *s, size_t len, size_t i, size_t a0)
{
	size_t	e, used;
	float	f;

	for (;;) {
		grow_nums(j);
		if (j->clen > 0) {
			for (e = i; e < len && is_numchar(s[e]); e++)
				;
			append(&j->carry, &j->clen, &j->ccap, s + i, e - i);
			if ((i = e) == len)
				return len;
			if (number(j->carry, j->clen, &f) != j->clen ||
			    !isfinite(f))
				return plain_from(j, a0);
			j->nums[j->nnums++] = f;
			j->clen = 0;
			j->state = FEED_AFTER;
			continue;
		}
		if (j->state == FEED_NUMBER) {
			while (i < len && is_space(s[i]))
				i++;
			if (i == len)
				return len;
			/* The common case first, while it lasts. */
			if (host_little_endian() && len - i >= 32) {
				i = run_of_fractions(s, i, len - 32, j->nums +
				    j->nnums, j->nums_cap - j->nnums, &used);
				j->nnums += used;
				if (used > 0)
					continue;
			}
			for (e = i; e < len && is_numchar(s[e]); e++)
				;
			if (e == len) {
				append(&j->carry, &j->clen, &j->ccap, s + i,
				    e - i);
				return len;
			}
			if (e == i || number(s + i, e - i, &f) != e - i ||
			    !isfinite(f))
				return plain_from(j, a0);
			j->nums[j->nnums++] = f;
			i = e;
			j->state = FEED_AFTER;
		}
		while (i < len && is_space(s[i]))
			i++;
		if (i == len)
			return len;
		if (s[i] == ',') {
			i++;
			j->state = FEED_NUMBER;
			continue;
		}
		if (s[i] != ']')
			return plain_from(j, a0);
		keep(j, "]", 1);
		add_span(j, -1, j->arr_at, j->arr_nums, j->nnums - j->arr_nums);
		j->rlen = 0;
		j->state = FEED_TEXT;
		return i + 1;
	}
}

/*
 * Where jsmn (strict) starts a primitive, and where one ends: strings and
 * brackets are told apart from the rest as jsmn does, so that both see
 * the same arrays.
 */
static int
starts_primitive(char c)
{
	return c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' ||
	    c == 'n';
}

static int
ends_primitive(char c)
{
	return is_space(c) || c == ',' || c == ']' || c == '}';
}

void
json_feed(struct json *j, const char *s, size_t len)
{
	size_t	i = 0, e, a0 = 0;

	while (i < len) {
		switch (j->state) {
		case FEED_PLAIN:
			keep(j, s + i, len - i);
			i = len;
			break;
		case FEED_TEXT:
			for (e = i; e < len && s[e] != '"' && s[e] != '[' &&
			    !starts_primitive(s[e]); e++)
				;
			if (e == len) {
				keep(j, s + i, e - i);
				i = e;
				break;
			}
			keep(j, s + i, e + 1 - i);
			if (s[e] == '"')
				j->state = FEED_STRING;
			else if (s[e] != '[')
				j->state = FEED_PRIMITIVE;
			else {
				j->state = FEED_BRACKET;
				j->arr_at = j->tlen - 1;
				j->rlen = 0;
			}
			i = e + 1;
			break;
		case FEED_PRIMITIVE:
			for (e = i; e < len && !ends_primitive(s[e]); e++)
				;
			keep(j, s + i, e - i);
			if (e < len)
				j->state = FEED_TEXT;
			i = e;
			break;
		case FEED_STRING:
			for (e = i; e < len && s[e] != '"' && s[e] != '\\';
			    e++)
				;
			if (e < len) {
				j->state = s[e] == '"' ? FEED_TEXT :
				    FEED_ESCAPE;
				e++;
			}
			keep(j, s + i, e - i);
			i = e;
			break;
		case FEED_ESCAPE:
			keep(j, s + i, 1);
			i++;
			j->state = FEED_STRING;
			break;
		case FEED_BRACKET:
			/* Spaces wait in raw, in case this is no number array. */
			if (is_space(s[i])) {
				append(&j->raw, &j->rlen, &j->rcap, s + i, 1);
				i++;
				break;
			}
			if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
				j->state = FEED_NUMBER;
				j->arr_nums = j->nnums;
				a0 = i;
			} else {
				keep(j, j->raw, j->rlen);
				j->rlen = 0;
				j->state = FEED_TEXT;
			}
			break;
		case FEED_NUMBER:
		case FEED_AFTER:
			i = feed_numbers(j, s, len, i, a0);
			break;
		}
	}
	/* An array still open: its text so far, in case it is not all numbers. */
	if (j->state == FEED_NUMBER || j->state == FEED_AFTER)
		append(&j->raw, &j->rlen, &j->rcap, s + a0, len - a0);
}

int
json_end(struct json *j, const char **errstr)
{
	/*
	 * Cut inside an array of numbers, the text kept ends at its '[':
	 * malformed if something before it is, else truncated.
	 */
	if (j->state == FEED_NUMBER || j->state == FEED_AFTER) {
		if (tokenise(j, j->text, j->tlen, j->tlen, errstr) == 0) {
			j->n = 0;
			*errstr = "truncated";
		}
		return -1;
	}
	return tokenise(j, j->text, j->tlen, j->state == FEED_PLAIN ?
	    j->plain_at : j->tlen, errstr);
}

/* The numbers of array t, if it was read as one span, else NULL. */
static const struct span *
span_of(const struct json *j, int t)
{
	size_t	lo = 0, hi = j->nspans, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (j->spans[mid].tok == t)
			return &j->spans[mid];
		if (j->spans[mid].tok < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

enum json_type
json_type(const struct json *j, int t)
{
	char	c;

	if (t < 0 || t >= j->n)
		return JSON_NONE;
	switch (j->toks[t].type) {
	case JSMN_OBJECT:
		return JSON_OBJECT;
	case JSMN_ARRAY:
		return JSON_ARRAY;
	case JSMN_STRING:
		return JSON_STRING;
	case JSMN_PRIMITIVE:
		c = j->buf[j->toks[t].start];
		if (c == 't')
			return JSON_TRUE;
		if (c == 'f')
			return JSON_FALSE;
		if (c == 'n')
			return JSON_NULL;
		return JSON_NUMBER;
	default:
		return JSON_NONE;
	}
}

size_t
json_size(const struct json *j, int t)
{
	enum json_type	ty = json_type(j, t);

	if (ty != JSON_OBJECT && ty != JSON_ARRAY)
		return 0;
	return (size_t)j->toks[t].size;
}

/* The token after t's whole subtree. */
static int
skip(const struct json *j, int t)
{
	int	end = j->toks[t].end, i = t + 1;

	while (i < j->n && j->toks[i].start < end)
		i++;
	return i;
}

int
json_first(const struct json *j, int t)
{
	if (json_size(j, t) == 0 || span_of(j, t) != NULL)
		return -1;
	return t + 1;
}

int
json_next(const struct json *j, int parent, int t)
{
	int	i;

	if (parent < 0 || parent >= j->n || t <= parent || t >= j->n)
		return -1;
	i = skip(j, t);
	if (i < j->n && j->toks[i].start < j->toks[parent].end)
		return i;
	return -1;
}

int
json_get(const struct json *j, int t, const char *key)
{
	int	k;

	if (json_type(j, t) != JSON_OBJECT)
		return -1;
	for (k = json_first(j, t); k != -1; k = json_next(j, t, k + 1))
		if (k + 1 < j->n && json_streq(j, k, key))
			return k + 1;
	return -1;
}

static unsigned
hexval(const char *s)
{
	unsigned	v = 0;
	int		i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return 0x110000;
	}
	return v;
}

static size_t
put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Unescape s[0..len) into o (room for len + 1); returns the length. */
static size_t
unescape(char *o, const char *s, size_t len)
{
	size_t		i = 0, k = 0;
	unsigned	cp, lo;

	while (i < len) {
		if (s[i] != '\\' || i + 1 >= len) {
			o[k++] = s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b': o[k++] = '\b'; i += 2; continue;
		case 'f': o[k++] = '\f'; i += 2; continue;
		case 'n': o[k++] = '\n'; i += 2; continue;
		case 'r': o[k++] = '\r'; i += 2; continue;
		case 't': o[k++] = '\t'; i += 2; continue;
		case '"': case '\\': case '/':
			o[k++] = s[i + 1];
			i += 2;
			continue;
		case 'u':
			if (i + 6 > len || (cp = hexval(s + i + 2)) > 0xffff)
				break;
			i += 6;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len &&
			    s[i] == '\\' && s[i + 1] == 'u' &&
			    (lo = hexval(s + i + 2)) >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 6;
			} else if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;	/* a lone surrogate */
			/* Escapes never expand: 6 or 12 bytes give <= 4. */
			k += put_utf8(o + k, cp);
			continue;
		default:
			break;
		}
		o[k++] = s[i++];
	}
	o[k] = '\0';
	return k;
}

int
json_streq(const struct json *j, int t, const char *s)
{
	const jsmntok_t	*tk;
	const char	*p;
	size_t		 len, slen = strlen(s);
	char		 small[256];
	size_t		 k;

	if (json_type(j, t) != JSON_STRING)
		return 0;
	tk = &j->toks[t];
	p = j->buf + tk->start;
	len = (size_t)(tk->end - tk->start);
	if (memchr(p, '\\', len) == NULL)
		return len == slen && memcmp(p, s, len) == 0;
	if (len >= sizeof(small))
		return 0;	/* keys we look up are short */
	k = unescape(small, p, len);
	return k == slen && memcmp(small, s, k) == 0;
}

char *
json_strdup(const struct json *j, int t)
{
	const jsmntok_t	*tk;
	size_t		 len;
	char		*o;

	if (t < 0 || t >= j->n)
		return xstrdup("");
	tk = &j->toks[t];
	len = (size_t)(tk->end - tk->start);
	o = xmalloc(len + 1);
	if (tk->type == JSMN_STRING)
		unescape(o, j->buf + tk->start, len);
	else {
		memcpy(o, j->buf + tk->start, len);
		o[len] = '\0';
	}
	return o;
}

/* JSON's number grammar (RFC 8259 section 6), which strtod is wider than. */
static int
is_number(const char *s, size_t len)
{
	size_t	i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else {
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == len;
}

int
json_integer(const struct json *j, int t, long long *out)
{
	const jsmntok_t	*tk;
	long long	 v = 0;
	int		 i, neg = 0;

	if (json_type(j, t) != JSON_NUMBER)
		return -1;
	tk = &j->toks[t];
	i = tk->start;
	if (j->buf[i] == '-') {
		neg = 1;
		i++;
	}
	if (i >= tk->end)
		return -1;
	for (; i < tk->end; i++) {
		char c = j->buf[i];

		if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

int
json_number(const struct json *j, int t, double *out)
{
	const jsmntok_t	*tk;
	char		 tmp[64];
	size_t		 len;

	if (json_type(j, t) != JSON_NUMBER)
		return -1;
	tk = &j->toks[t];
	len = (size_t)(tk->end - tk->start);
	if (len >= sizeof(tmp) || !is_number(j->buf + tk->start, len))
		return -1;
	memcpy(tmp, j->buf + tk->start, len);
	tmp[len] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

long
json_floats(const struct json *j, int t, float *out, size_t max)
{
	size_t		 n, k;
	const jsmntok_t	*tk;
	const struct span *sp;

	if (json_type(j, t) != JSON_ARRAY)
		return -1;
	n = (size_t)j->toks[t].size;
	if (n > max)
		return -1;
	if ((sp = span_of(j, t)) != NULL) {
		memcpy(out, j->nums + sp->off, n * sizeof(float));
		return (long)n;
	}
	if ((size_t)t + n >= (size_t)j->n)
		return -1;
	/* The elements of a flat array are the n tokens that follow it. */
	for (k = 0; k < n; k++) {
		const char	*s;
		size_t		 len;
		char		 c;

		tk = &j->toks[t + 1 + k];
		if (tk->type != JSMN_PRIMITIVE)
			return -1;
		s = j->buf + tk->start;
		len = (size_t)(tk->end - tk->start);
		c = s[0];
		if (c != '-' && (c < '0' || c > '9'))
			return -1;
		if (numfmt_parse_float(s, len, &out[k]) != len ||
		    !isfinite(out[k]))
			return -1;
	}
	return (long)n;
}

static void
reserve(struct json_out *o, size_t more)
{
	size_t	need = o->len + more + 1;

	if (need <= o->cap)
		return;
	if (o->cap == 0)
		o->cap = 1024;
	while (o->cap < need)
		o->cap *= 2;
	o->buf = xreallocarray(o->buf, o->cap, 1);
}

void
json_out_raw(struct json_out *o, const char *s, size_t len)
{
	reserve(o, len);
	memcpy(o->buf + o->len, s, len);
	o->len += len;
	o->buf[o->len] = '\0';
}

void
json_out_str(struct json_out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i;
	char		*p;

	reserve(o, len * 6 + 2);	/* every byte escaped at worst */
	p = o->buf + o->len;
	*p++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': *p++ = '\\'; *p++ = '"'; break;
		case '\\': *p++ = '\\'; *p++ = '\\'; break;
		case '\n': *p++ = '\\'; *p++ = 'n'; break;
		case '\r': *p++ = '\\'; *p++ = 'r'; break;
		case '\t': *p++ = '\\'; *p++ = 't'; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				*p++ = '\\';
				*p++ = 'u';
				*p++ = '0';
				*p++ = '0';
				*p++ = hex[c >> 4];
				*p++ = hex[c & 15];
			} else
				*p++ = (char)c;
		}
	}
	*p++ = '"';
	o->len = (size_t)(p - o->buf);
	o->buf[o->len] = '\0';
}

void
json_out_int(struct json_out *o, long long v)
{
	char	tmp[32];
	int	n = snprintf(tmp, sizeof(tmp), "%lld", v);

	json_out_raw(o, tmp, (size_t)n);
}

void
json_out_free(struct json_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}
