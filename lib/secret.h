/*
 * secret: memory for an API key that stays out of core dumps, swap and
 * freed heap.  The key and the header made from it live in one page of
 * their own, marked not to be dumped and locked in memory where the
 * platform allows, and wiped before it is unmapped.
 */
#ifndef DS_SECRET_H
#define DS_SECRET_H

#include <stddef.h>

struct secret;

/*
 * Room for at most size bytes.  Also asks that the process write no core
 * file at all (RLIMIT_CORE 0, and PR_SET_DUMPABLE where it exists): the
 * key is copied into buffers this module does not own (libcurl's).
 * Returns NULL with *errstr when no memory can be mapped.
 */
struct secret	*secret_new(size_t size, const char **errstr);

/*
 * Room for a string of len bytes in the secret, zeroed (so NUL-terminated
 * whatever the caller writes into its len bytes), valid until
 * secret_free.  Returns NULL when the secret has no room left.
 */
char		*secret_alloc(struct secret *, size_t len);

/* Wipe s[0..len), so that no compiler removes it as a dead store. */
void		 secret_wipe(void *s, size_t len);

/* Wipe and unmap everything.  NULL is allowed. */
void		 secret_free(struct secret *);

#endif
