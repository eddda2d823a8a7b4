/* utf8: the one module that uses utf8proc: validation, and the Unicode
 * properties the tokenizers and chunkers need. */
#ifndef DS_UTF8_H
#define DS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Check that s[0..len) is valid UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF).  Returns len if it is, else the byte
 * offset of the first invalid sequence.
 */
size_t	utf8_valid_prefix(const char *s, size_t len);

/*
 * Decode the character at s[0..len) (len > 0) into *cp and return the
 * number of bytes it takes.  An invalid or truncated sequence decodes
 * to U+FFFD and takes its maximal valid prefix, at least one byte, as
 * the WHATWG Encoding standard's decoder does (so that, like a browser
 * or Node.js, one replacement stands for each maximal subpart).
 */
size_t	utf8_decode(const char *s, size_t len, uint32_t *cp);
/* Write cp (a scalar value) as UTF-8 into out[0..4); returns its length. */
size_t	utf8_encode(uint32_t cp, char *out);
/* 1 if cp is a letter (\p{L}: Lu, Ll, Lt, Lm, Lo). */
int	utf8_is_letter(uint32_t cp);
/* 1 if cp is a number (\p{N}: Nd, Nl, No). */
int	utf8_is_number(uint32_t cp);
/*
 * 1 if cp is white space as ECMAScript's \s means it: tab, line feed,
 * vertical tab, form feed, carriage return, U+FEFF, U+2028, U+2029 and
 * the space separators (Zs).
 */
int	utf8_is_space(uint32_t cp);
/*
 * 1 if cp ends a sentence: . ! ? and their full-width, CJK, Arabic,
 * Devanagari, Ethiopic and other forms.
 */
int	utf8_is_sentence_end(uint32_t cp);
/*
 * 1 if NFC can neither change cp nor join it to what precedes it:
 * combining class 0, its own NFC form, and never the second character
 * of a canonical composition.  A string splits before each such
 * character into pieces that normalise independently.
 */
int	utf8_nfc_inert(uint32_t cp);
/*
 * The NFC form of the valid UTF-8 s[0..len), in a buffer the caller
 * frees; its length in *outlen.  Returns NULL if s is not valid UTF-8 or
 * memory ran out.
 */
char	*utf8_nfc(const char *s, size_t len, size_t *outlen);

/* The simple lower-case mapping of cp (cp itself if it has none). */
uint32_t	utf8_tolower(uint32_t cp);
/* 1 if cp is a mark (\p{M}: Mn, Mc, Me), as inside many words. */
int	utf8_is_mark(uint32_t cp);

#endif
