/* numfmt: floats to text and back, fast and exact: every float32 written
 * reads back bit for bit, in the shortest decimal form that does. */
#ifndef DS_NUMFMT_H
#define DS_NUMFMT_H

#include <stddef.h>

/* The most bytes numfmt_float writes, NUL excluded. */
#define NUMFMT_FLOAT_MAX 16

/*
 * Write f into buf (at least NUMFMT_FLOAT_MAX + 1 bytes) as the shortest
 * decimal that reads back as f: "0.25", "-1.5e-07", "nan", "inf".
 * Returns the length written (the string is NUL-terminated).
 */
size_t	numfmt_float(char *buf, float f);

/*
 * Parse one float from s[0..len): an optional sign, digits with an
 * optional point and exponent, or nan/inf as strtof(3) takes them.
 * Returns the number of bytes used (0 if none form a number) and stores
 * the correctly rounded value in *out.  Out-of-range values give +-inf
 * (too large) or 0 (too small), as strtof does.
 */
size_t	numfmt_parse_float(const char *s, size_t len, float *out);

#endif
