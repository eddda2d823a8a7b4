/* util: allocation that cannot fail, number parsing, and what every
 * program shares (version and usage conventions). */
#ifndef DS_UTIL_H
#define DS_UTIL_H

#include <stddef.h>

/* Allocate or exit with EX_OSERR (71) and a message on standard error. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
/* Resize p to n * size bytes, checking the product for overflow. */
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

/*
 * Parse a decimal integer in [min, max], like OpenBSD strtonum(3).
 * Returns the value; on error returns 0 and sets *errstr to "invalid",
 * "too small" or "too large".  *errstr is NULL on success.
 */
long long	num_parse(const char *s, long long min, long long max,
		    const char **errstr);

/*
 * Parse a finite double in [min, max].  Same errstr convention as
 * num_parse ("invalid", "too small", "too large").
 */
double	real_parse(const char *s, double min, double max, const char **errstr);

#include <stdint.h>

/*
 * The sum of the squares of v[0..n), in double, in four running sums
 * added as (s0 + s1) + (s2 + s3).
 */
double	sum_squares(const float *v, size_t n);

/*
 * For a hot loop that gains from wider vectors: on x86-64 with GCC or
 * clang, a second build of the function for AVX2, chosen when the
 * program starts on a processor that has it (target_clones, through the
 * dynamic loader's ifunc); elsewhere, or built for AVX2 already, nothing.
 */
#if defined(__x86_64__) && defined(__ELF__) && !defined(__AVX2__) && \
    (defined(__GNUC__) || defined(__clang__))
#define UTIL_AVX2_CLONE	__attribute__((target_clones("avx2", "default")))
#else
#define UTIL_AVX2_CLONE
#endif

/* 1 if this host stores integers least significant byte first. */
int	host_little_endian(void);

/* FNV-1a hashes of s[0..len): 64-bit, and 32-bit. */
uint64_t	hash_fnv1a64(const void *s, size_t len);
uint32_t	hash_fnv1a32(const void *s, size_t len);

/* Print "PROG VERSION" on standard output and return 0, for --version. */
int	util_version(const char *prog);

#endif
