/*
 * numfmt: float32 <-> decimal text, exact and fast.
 *
 * Parsing takes Clinger's fast path: a decimal of at most 19 digits whose
 * power of ten is at most 22 in magnitude becomes a correctly rounded
 * double in one multiplication or division.  Rounding that double again
 * to float is exact unless it lies on a float midpoint, so that case, and
 * everything outside the fast path, goes to strtof(3).
 *
 * Formatting picks the shortest of the roundings of a number's first nine
 * significant digits that reads back as the same float (nine always do).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "util.h"

static const double pow10_tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* 10^-64 .. 10^64, to scale a float to nine digits without pow(3). */
static const double scale_tab[] = {
	1e-64, 1e-63, 1e-62, 1e-61, 1e-60, 1e-59,
	1e-58, 1e-57, 1e-56, 1e-55, 1e-54, 1e-53,
	1e-52, 1e-51, 1e-50, 1e-49, 1e-48, 1e-47,
	1e-46, 1e-45, 1e-44, 1e-43, 1e-42, 1e-41,
	1e-40, 1e-39, 1e-38, 1e-37, 1e-36, 1e-35,
	1e-34, 1e-33, 1e-32, 1e-31, 1e-30, 1e-29,
	1e-28, 1e-27, 1e-26, 1e-25, 1e-24, 1e-23,
	1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17,
	1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11,
	1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5,
	1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1,
	1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
	1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
	1e20, 1e21, 1e22, 1e23, 1e24, 1e25,
	1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
	1e32, 1e33, 1e34, 1e35, 1e36, 1e37,
	1e38, 1e39, 1e40, 1e41, 1e42, 1e43,
	1e44, 1e45, 1e46, 1e47, 1e48, 1e49,
	1e50, 1e51, 1e52, 1e53, 1e54, 1e55,
	1e56, 1e57, 1e58, 1e59, 1e60, 1e61,
	1e62, 1e63, 1e64,
};

static const uint32_t pow10_u32[] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
	1000000000
};

/*
 * m * 10^e as a correctly rounded float, when the fast path can decide.
 * Returns 1 and sets *out, or 0.
 */
static inline int
fast_decimal(uint64_t m, int e, int neg, float *out)
{
	double		 d;
	uint64_t	 bits;

	if (m == 0) {
		*out = neg ? -0.0f : 0.0f;
		return 1;
	}
	if (m > (UINT64_C(1) << 53) || e < -22 || e > 22)
		return 0;
	d = (double)m;
	d = e < 0 ? d / pow10_tab[-e] : d * pow10_tab[e];
	if (d < FLT_MIN || d > FLT_MAX)
		return 0;
	memcpy(&bits, &d, sizeof(bits));
	/* The 29 bits a float drops: exactly half is a float midpoint. */
	if ((bits & ((UINT64_C(1) << 29) - 1)) == (UINT64_C(1) << 28))
		return 0;
	*out = neg ? -(float)d : (float)d;
	return 1;
}

/* strtof on s[0..len), which need not be NUL-terminated. */
static size_t
slow_parse(const char *s, size_t len, float *out)
{
	char	 small[64], *buf, *end;
	size_t	 used;

	buf = len < sizeof(small) ? small : malloc(len + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtof(buf, &end);
	used = (size_t)(end - buf);
	if (buf != small)
		free(buf);
	return used;
}

/*
 * If s[0..8) are eight decimal digits, store their value in *v and return
 * 1 (SWAR: the bytes are checked and combined in pairs, then fours, then
 * eights, in one 64-bit word).  Little-endian hosts only.
 */
static inline int
eight_digits(const char *s, uint64_t *v)
{
	const uint64_t	 ones = UINT64_C(0x0101010101010101);
	uint64_t	 w;

	memcpy(&w, s, 8);
	/* Every byte in 0x30..0x39: high nibble 3, and adding 6 no carry. */
	if (((w & (0xF0 * ones)) | (((w + 0x06 * ones) & (0xF0 * ones)) >> 4))
	    != 0x33 * ones)
		return 0;
	w -= 0x30 * ones;
	w = w * 10 + (w >> 8);
	w = ((w & UINT64_C(0x000000FF000000FF)) *
	    (100 + (UINT64_C(1000000) << 32)) +
	    ((w >> 16) & UINT64_C(0x000000FF000000FF)) *
	    (1 + (UINT64_C(10000) << 32))) >> 32;
	*v = w;
	return 1;
}

size_t
numfmt_parse_float(const char *s, size_t len, float *out)
{
	uint64_t	 m = 0, v8;
	size_t		 i = 0, ndig, start, frac;
	int		 neg = 0, e = 0, ev, eneg;
	static int	 le = -1;

	if (le == -1)
		le = host_little_endian();

	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	start = i;
	/* Tight loops: leading zeros count as digits here, and a number of
	 * more than 19 digits in all takes the slow path. */
	for (; i < len && (unsigned char)(s[i] - '0') < 10; i++)
		m = m * 10 + (uint64_t)(s[i] - '0');
	ndig = i - start;
	if (i < len && s[i] == '.') {
		frac = ++i;
		while (le && i + 8 <= len && eight_digits(s + i, &v8)) {
			m = m * 100000000 + v8;
			i += 8;
		}
		for (; i < len && (unsigned char)(s[i] - '0') < 10; i++)
			m = m * 10 + (uint64_t)(s[i] - '0');
		e = -(int)(i - frac);
		ndig += i - frac;
	}
	if (ndig == 0)
		return i == start && start < len ? slow_parse(s, len, out) : 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t	 j = i + 1;

		eneg = 0;
		if (j < len && (s[j] == '-' || s[j] == '+'))
			eneg = s[j++] == '-';
		if (j < len && (unsigned char)(s[j] - '0') < 10) {
			for (ev = 0; j < len &&
			    (unsigned char)(s[j] - '0') < 10; j++)
				if (ev < 100000)
					ev = ev * 10 + (s[j] - '0');
			e += eneg ? -ev : ev;
			i = j;
		}
	}
	if (ndig <= 19 && fast_decimal(m, e, neg, out))
		return i;
	return slow_parse(s, i, out);
}

/* Write the decimal digits of v (ndig of them, v < 10^ndig) into buf. */
static void
put_digits(char *buf, uint32_t v, int ndig)
{
	int	 i;

	for (i = ndig - 1; i >= 0; i--) {
		buf[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Lay out p digits with decimal exponent e10 (of the first digit). */
static size_t
layout(char *buf, int neg, const char *dig, int p, int e10)
{
	char	*q = buf;
	int	 i, ae;

	if (neg)
		*q++ = '-';
	if (e10 < -5 || e10 >= 9) {
		*q++ = dig[0];
		if (p > 1) {
			*q++ = '.';
			memcpy(q, dig + 1, (size_t)p - 1);
			q += p - 1;
		}
		*q++ = 'e';
		*q++ = e10 < 0 ? '-' : '+';
		ae = e10 < 0 ? -e10 : e10;
		if (ae >= 10)
			*q++ = (char)('0' + ae / 10);
		else
			*q++ = '0';
		*q++ = (char)('0' + ae % 10);
	} else if (e10 < 0) {
		*q++ = '0';
		*q++ = '.';
		for (i = -1; i > e10; i--)
			*q++ = '0';
		memcpy(q, dig, (size_t)p);
		q += p;
	} else {
		for (i = 0; i <= e10; i++)
			*q++ = i < p ? dig[i] : '0';
		if (p > e10 + 1) {
			*q++ = '.';
			memcpy(q, dig + e10 + 1, (size_t)(p - e10 - 1));
			q += p - e10 - 1;
		}
	}
	*q = '\0';
	return (size_t)(q - buf);
}

/* Does the decimal d (p digits, first digit at 10^e10) read back as f? */
static int
reads_back(uint32_t d, int p, int e10, float f)
{
	char	 buf[NUMFMT_FLOAT_MAX + 1], dig[10];
	float	 g;

	if (fast_decimal(d, e10 - p + 1, f < 0, &g))
		return g == f;
	put_digits(dig, d, p);
	layout(buf, f < 0, dig, p, e10);
	return slow_parse(buf, strlen(buf), &g) > 0 && g == f;
}

/*
 * Round the nine digits d9 (first at 10^e10) to p digits, carrying into
 * the exponent when they round up to a power of ten.  Returns whether the
 * result (*d, first digit at 10^*e) reads back as f.
 */
static int
round_to(uint32_t d9, int e10, int p, float f, uint32_t *d, int *e)
{
	*d = (d9 + pow10_u32[9 - p] / 2) / pow10_u32[9 - p];
	*e = e10;
	if (*d >= pow10_u32[p]) {
		*d /= 10;
		(*e)++;
	}
	return reads_back(*d, p, *e, f);
}

size_t
numfmt_float(char *buf, float f)
{
	double		 x, scaled;
	uint32_t	 d9, dp, best_d;
	int		 e10, p, best_p, best_e, ep, e2;
	char		 dig[10];

	if (isnan(f)) {
		strcpy(buf, "nan");
		return 3;
	}
	if (isinf(f)) {
		strcpy(buf, f < 0 ? "-inf" : "inf");
		return f < 0 ? 4 : 3;
	}
	if (f == 0) {
		strcpy(buf, signbit(f) ? "-0" : "0");
		return signbit(f) ? 2 : 1;
	}
	x = fabs((double)f);
	frexp(x, &e2);
	e10 = (int)floor((e2 - 1) * 0.30102999566398120);
	/* Nine significant digits; the estimate of e10 may be one low. */
	for (;;) {
		scaled = x * scale_tab[64 + 8 - e10];
		d9 = (uint32_t)(scaled + 0.5);
		if (d9 >= 1000000000) {
			e10++;
			continue;
		}
		if (d9 < 100000000) {
			e10--;
			continue;
		}
		break;
	}
	best_d = d9;
	best_p = 9;
	best_e = e10;
	/*
	 * Round-tripping is monotone in p.  Most floats of an embedding need
	 * eight or nine digits, so ask eight first, then look down from there.
	 */
	for (p = 8; p >= 1; p--) {
		if (!round_to(d9, e10, p, f, &dp, &ep))
			break;
		best_d = dp;
		best_p = p;
		best_e = ep;
	}
	/* Drop trailing zeros: 0.5, not 0.500000. */
	while (best_p > 1 && best_d % 10 == 0) {
		best_d /= 10;
		best_p--;
	}
	put_digits(dig, best_d, best_p);
	return layout(buf, f < 0, dig, best_p, best_e);
}
