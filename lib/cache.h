/*
 * cache: embeddings already paid for, in an SQLite database shared by
 * every ds-embed process (WAL mode, so several may run at once).  An
 * entry maps (space, text) to a dense vector and/or sparse pairs, where
 * the space names everything that changes the result: provider, model,
 * dimension, text type, instruction and output kind.  The only module that
 * uses SQLite.  Writes are grouped into a transaction until cache_flush.
 */
#ifndef DS_CACHE_H
#define DS_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;

/* One entry; what cache_get returns is borrowed until the next call. */
struct cache_entry {
	const float	*dense;		/* dim floats, or NULL */
	size_t		 dim;
	const uint32_t	*idx;		/* nnz ascending indexes, and values */
	const float	*val;
	size_t		 nnz;
	int		 has_sparse;
};

/*
 * The default database: $XDG_CACHE_HOME/ds/embed.sqlite, else
 * $HOME/.cache/ds/embed.sqlite.  NULL when neither variable is set.  The
 * caller frees the string.
 */
char	*cache_default_path(void);

/*
 * Open (creating, mode 0600, and its directory, mode 0700) the database
 * at path for entries of one space.  path NULL: a private temporary
 * database, deleted at close.  Returns NULL with *errstr (a static buffer
 * naming the file) on failure.
 */
struct cache	*cache_open(const char *path, const char *space,
		    const char **errstr);

/*
 * Look text up.  Returns 1 and fills *e on a hit, 0 on a miss, -1 with
 * *errstr on a database error.
 */
int	cache_get(struct cache *, const char *text, size_t len,
	    struct cache_entry *e, const char **errstr);

/* Store an entry (copied); replaces an older one.  0, or -1 with *errstr. */
int	cache_put(struct cache *, const char *text, size_t len,
	    const struct cache_entry *e, const char **errstr);

/* Commit the entries stored so far.  0, or -1 with *errstr. */
int	cache_flush(struct cache *, const char **errstr);

/* Commit and close. */
void	cache_close(struct cache *);

#endif
