/* util: allocation that cannot fail, number parsing, shared conventions. */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		errx(EX_OSERR, "out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		errx(EX_OSERR, "out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		errx(EX_OSERR, "out of memory (%zu x %zu bytes)", n, size);
	if ((p = realloc(p, n * size == 0 ? 1 : n * size)) == NULL)
		errx(EX_OSERR, "out of memory (%zu x %zu bytes)", n, size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t len)
{
	char	*p;

	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

long long
num_parse(const char *s, long long min, long long max, const char **errstr)
{
	char		*end;
	long long	 v;

	*errstr = NULL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || (errno != 0 && errno != ERANGE)) {
		*errstr = "invalid";
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return 0;
	}
	return v;
}

double
real_parse(const char *s, double min, double max, const char **errstr)
{
	char	*end;
	double	 v;

	*errstr = NULL;
	errno = 0;
	v = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || !isfinite(v)) {
		*errstr = "invalid";
		return 0;
	}
	if (v < min) {
		*errstr = "too small";
		return 0;
	}
	if (v > max) {
		*errstr = "too large";
		return 0;
	}
	return v;
}

double
sum_squares(const float *v, size_t n)
{
	double	 s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t	 i;

	/* Four sums, so that each addition need not wait for the last. */
	for (i = 0; i + 4 <= n; i += 4) {
		s0 += (double)v[i] * v[i];
		s1 += (double)v[i + 1] * v[i + 1];
		s2 += (double)v[i + 2] * v[i + 2];
		s3 += (double)v[i + 3] * v[i + 3];
	}
	for (; i < n; i++)
		s0 += (double)v[i] * v[i];
	return (s0 + s1) + (s2 + s3);
}

int
host_little_endian(void)
{
	const uint16_t	 one = 1;

	return *(const unsigned char *)&one == 1;
}

uint64_t
hash_fnv1a64(const void *s, size_t len)
{
	const unsigned char	*p = s;
	uint64_t		 h = UINT64_C(0xcbf29ce484222325);
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

uint32_t
hash_fnv1a32(const void *s, size_t len)
{
	const unsigned char	*p = s;
	uint32_t		 h = UINT32_C(2166136261);
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT32_C(16777619);
	}
	return h;
}

int
util_version(const char *prog)
{
	printf("%s %s\n", prog, DS_VERSION);
	return 0;
}
