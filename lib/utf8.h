/* utf8: the one module that uses utf8proc: validation, and the Unicode
 * properties the tokenizers and chunkers need. */
#ifndef DS_UTF8_H
#define DS_UTF8_H

#include <stddef.h>

/*
 * Check that s[0..len) is valid UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF).  Returns len if it is, else the byte
 * offset of the first invalid sequence.
 */
size_t	utf8_valid_prefix(const char *s, size_t len);

#endif
