/* utf8: Unicode services over utf8proc. */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "utf8.h"

size_t
utf8_valid_prefix(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0;
	utf8proc_int32_t	 cp;
	utf8proc_ssize_t	 n;

	while (i < len) {
		/* ASCII needs no decoder, and is most of what passes here:
		 * take it eight bytes at a time. */
		while (i + 8 <= len) {
			uint64_t	 w;

			memcpy(&w, p + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i == len)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n < 0)
			return i;
		i += (size_t)n;
	}
	return len;
}

size_t
utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned char		 lo = 0x80, hi = 0xBF;
	uint32_t		 c;
	size_t			 need, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		need = 1;
		c = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		need = 2;
		c = p[0] & 0x0F;
		if (p[0] == 0xE0)
			lo = 0xA0;
		else if (p[0] == 0xED)
			hi = 0x9F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		need = 3;
		c = p[0] & 0x07;
		if (p[0] == 0xF0)
			lo = 0x90;
		else if (p[0] == 0xF4)
			hi = 0x8F;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= len || p[i] < lo || p[i] > hi) {
			*cp = 0xFFFD;
			return i;
		}
		c = c << 6 | (p[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = c;
	return need + 1;
}

size_t
utf8_encode(uint32_t cp, char *out)
{
	unsigned char	*o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = 0xC0 | cp >> 6;
		o[1] = 0x80 | (cp & 0x3F);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xE0 | cp >> 12;
		o[1] = 0x80 | (cp >> 6 & 0x3F);
		o[2] = 0x80 | (cp & 0x3F);
		return 3;
	}
	o[0] = 0xF0 | cp >> 18;
	o[1] = 0x80 | (cp >> 12 & 0x3F);
	o[2] = 0x80 | (cp >> 6 & 0x3F);
	o[3] = 0x80 | (cp & 0x3F);
	return 4;
}

int
utf8_is_letter(uint32_t cp)
{
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return 1;
	default:
		return 0;
	}
}

int
utf8_is_number(uint32_t cp)
{
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return 1;
	default:
		return 0;
	}
}

int
utf8_is_space(uint32_t cp)
{
	/* ECMA-262, WhiteSpace and LineTerminator. */
	if ((cp >= 0x09 && cp <= 0x0D) || cp == 0xFEFF || cp == 0x2028 ||
	    cp == 0x2029)
		return 1;
	return utf8proc_category((utf8proc_int32_t)cp) ==
	    UTF8PROC_CATEGORY_ZS;
}

int
utf8_is_sentence_end(uint32_t cp)
{
	switch (cp) {
	case '.': case '!': case '?':
	case 0x0589:	/* Armenian full stop */
	case 0x061F:	/* Arabic question mark */
	case 0x06D4:	/* Arabic full stop */
	case 0x0964: case 0x0965:	/* Devanagari danda, double danda */
	case 0x1362: case 0x1367: case 0x1368:	/* Ethiopic */
	case 0x2026:	/* horizontal ellipsis */
	case 0x203C: case 0x203D: case 0x2047: case 0x2048: case 0x2049:
	case 0x3002:	/* ideographic full stop */
	case 0xFE52: case 0xFE56: case 0xFE57:
	case 0xFF01: case 0xFF0E: case 0xFF1F: case 0xFF61:
		return 1;
	default:
		return 0;
	}
}

int
utf8_nfc_inert(uint32_t cp)
{
	const utf8proc_property_t	*p;
	utf8proc_uint8_t		*out = NULL;
	utf8proc_ssize_t		 n;
	char				 buf[4];
	size_t				 len;
	int				 same;

	if (cp < 0x300)
		return 1;
	/* Hangul vowel and trailing jamo join the syllable before them. */
	if ((cp >= 0x1160 && cp <= 0x11FF) || (cp >= 0xD7B0 && cp <= 0xD7FF))
		return 0;
	p = utf8proc_get_property((utf8proc_int32_t)cp);
	if (p->combining_class != 0)
		return 0;
	/* utf8proc marks the second characters of compositions so. */
	if (p->comb_index != UINT16_MAX && p->comb_index >= 0x8000)
		return 0;
	if (p->decomp_seqindex == UINT16_MAX || p->decomp_type != 0)
		return 1;
	/* Decomposable: inert if it composes back to itself. */
	len = utf8_encode(cp, buf);
	n = utf8proc_map((const utf8proc_uint8_t *)buf, (utf8proc_ssize_t)len,
	    &out, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0)
		return 0;
	same = (size_t)n == len && memcmp(out, buf, len) == 0;
	free(out);
	return same;
}

char *
utf8_nfc(const char *s, size_t len, size_t *outlen)
{
	utf8proc_uint8_t	*out = NULL;
	utf8proc_ssize_t	 n;

	n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len,
	    &out, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0)
		return NULL;
	*outlen = (size_t)n;
	return (char *)out;
}

uint32_t
utf8_tolower(uint32_t cp)
{
	return (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
}

int
utf8_is_mark(uint32_t cp)
{
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		return 1;
	default:
		return 0;
	}
}
