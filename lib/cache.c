/* cache: embeddings by (space, text) in SQLite. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cache.h"
#include "util.h"

/*
 * One row per entry, keyed by a 64-bit hash of space and text so that
 * lookups stay on the rowid; the space and text are stored as well and
 * compared, so a collision is a miss, never a wrong vector.  Dense
 * vectors are little-endian float32 blobs, sparse ones (uint32 index,
 * float32 value) pairs.
 */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS embedding ("
    " key INTEGER PRIMARY KEY,"
    " space TEXT NOT NULL,"
    " text BLOB NOT NULL,"
    " dense BLOB,"
    " sparse BLOB,"
    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')))";

struct cache {
	sqlite3		*db;
	sqlite3_stmt	*get, *put;
	char		*space;
	size_t		 space_len;
	uint64_t	 space_hash;
	int		 in_tx;
	float		*dense;
	uint32_t	*idx;
	float		*val;
	size_t		 dense_cap, sp_cap;
	unsigned char	*blob;
	size_t		 blob_cap;
};

static char	errbuf[512];

static const char *
fail(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

/* FNV-1a, 64 bits: enough to spread rows; equality is checked anyway. */
static uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

char *
cache_default_path(void)
{
	const char	*base, *tail;
	char		*p;
	size_t		 len;

	if ((base = getenv("XDG_CACHE_HOME")) != NULL && base[0] == '/')
		tail = "/ds/embed.sqlite";
	else if ((base = getenv("HOME")) != NULL && base[0] != '\0')
		tail = "/.cache/ds/embed.sqlite";
	else
		return NULL;
	len = strlen(base) + strlen(tail) + 1;
	p = xmalloc(len);
	snprintf(p, len, "%s%s", base, tail);
	return p;
}

/* mkdir -p the directory part of path, new directories mode 0700. */
static int
make_dirs(const char *path)
{
	char	*d = xstrdup(path), *s;

	for (s = d + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(d, 0700) == -1 && errno != EEXIST) {
			free(d);
			return -1;
		}
		*s = '/';
	}
	free(d);
	return 0;
}

static void
cache_release(struct cache *c)
{
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_close(c->db);
	free(c->space);
	free(c->dense);
	free(c->idx);
	free(c->val);
	free(c->blob);
	free(c);
}

struct cache *
cache_open(const char *path, const char *space, const char **errstr)
{
	struct cache	*c;
	const char	*name = path == NULL ? "" : path;
	const char	*shown = path == NULL ? "temporary cache" : path;
	int		 fd;

	if (path != NULL) {
		if (make_dirs(path) == -1) {
			*errstr = fail("%s: %s", path, strerror(errno));
			return NULL;
		}
		/* SQLite gives its -wal and -shm files the mode of this. */
		if ((fd = open(path, O_RDWR | O_CREAT, 0600)) == -1) {
			*errstr = fail("%s: %s", path, strerror(errno));
			return NULL;
		}
		close(fd);
	}
	c = xcalloc(1, sizeof(*c));
	c->space = xstrdup(space);
	c->space_len = strlen(space);
	c->space_hash = fnv(0xcbf29ce484222325ULL, space, c->space_len + 1);
	if (sqlite3_open_v2(name, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto bad;
	/* Other ds-embed processes may hold the lock for a moment. */
	sqlite3_busy_timeout(c->db, 10000);
	if (path != NULL && sqlite3_exec(c->db, "PRAGMA journal_mode=WAL",
	    NULL, NULL, NULL) != SQLITE_OK)
		goto bad;
	/* A crash may lose the last commits, never corrupt: WAL + NORMAL. */
	if (sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		goto bad;
	if (sqlite3_prepare_v2(c->db, "SELECT space, text, dense, sparse "
	    "FROM embedding WHERE key = ?", -1, &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO embedding "
	    "(key, space, text, dense, sparse) VALUES (?, ?, ?, ?, ?)", -1,
	    &c->put, NULL) != SQLITE_OK)
		goto bad;
	return c;
bad:
	*errstr = fail("%s: %s", shown, c->db == NULL ? "cannot open" :
	    sqlite3_errmsg(c->db));
	cache_release(c);
	return NULL;
}

static int64_t
key_of(const struct cache *c, const char *text, size_t len)
{
	return (int64_t)fnv(c->space_hash, text, len);
}

int
cache_get(struct cache *c, const char *text, size_t len,
    struct cache_entry *e, const char **errstr)
{
	const void	*b;
	size_t		 n, i;
	int		 rc, hit = 0;

	sqlite3_reset(c->get);
	sqlite3_bind_int64(c->get, 1, key_of(c, text, len));
	rc = sqlite3_step(c->get);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW) {
		*errstr = fail("cache: %s", sqlite3_errmsg(c->db));
		sqlite3_reset(c->get);
		return -1;
	}
	memset(e, 0, sizeof(*e));
	if ((size_t)sqlite3_column_bytes(c->get, 0) != c->space_len ||
	    memcmp(sqlite3_column_text(c->get, 0), c->space,
	    c->space_len) != 0 ||
	    (size_t)sqlite3_column_bytes(c->get, 1) != len ||
	    (len > 0 && memcmp(sqlite3_column_blob(c->get, 1), text,
	    len) != 0))
		goto done;
	if ((b = sqlite3_column_blob(c->get, 2)) != NULL) {
		n = (size_t)sqlite3_column_bytes(c->get, 2);
		if (n % 4 != 0 || n == 0)
			goto done;	/* not ours: treat as a miss */
		n /= 4;
		if (n > c->dense_cap) {
			c->dense_cap = n;
			c->dense = xreallocarray(c->dense, n, sizeof(float));
		}
		memcpy(c->dense, b, n * 4);
		e->dense = c->dense;
		e->dim = n;
	}
	if (sqlite3_column_type(c->get, 3) != SQLITE_NULL) {
		const unsigned char *p = sqlite3_column_blob(c->get, 3);

		n = (size_t)sqlite3_column_bytes(c->get, 3);
		if (n % 8 != 0)
			goto done;
		n /= 8;
		if (n > c->sp_cap) {
			c->sp_cap = n;
			c->idx = xreallocarray(c->idx, n, sizeof(uint32_t));
			c->val = xreallocarray(c->val, n, sizeof(float));
		}
		for (i = 0; i < n; i++) {
			memcpy(&c->idx[i], p + 8 * i, 4);
			memcpy(&c->val[i], p + 8 * i + 4, 4);
		}
		e->idx = c->idx;
		e->val = c->val;
		e->nnz = n;
		e->has_sparse = 1;
	}
	hit = 1;
done:
	sqlite3_reset(c->get);
	return hit;
}

int
cache_put(struct cache *c, const char *text, size_t len,
    const struct cache_entry *e, const char **errstr)
{
	size_t	i;
	int	rc;

	if (!c->in_tx) {
		if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			*errstr = fail("cache: %s", sqlite3_errmsg(c->db));
			return -1;
		}
		c->in_tx = 1;
	}
	sqlite3_reset(c->put);
	sqlite3_clear_bindings(c->put);
	sqlite3_bind_int64(c->put, 1, key_of(c, text, len));
	sqlite3_bind_text(c->put, 2, c->space, (int)c->space_len,
	    SQLITE_STATIC);
	sqlite3_bind_blob(c->put, 3, len > 0 ? text : "", (int)len,
	    SQLITE_STATIC);
	if (e->dense != NULL)
		sqlite3_bind_blob(c->put, 4, e->dense, (int)(e->dim * 4),
		    SQLITE_STATIC);
	if (e->has_sparse) {
		if (e->nnz * 8 > c->blob_cap) {
			c->blob_cap = e->nnz * 8;
			c->blob = xreallocarray(c->blob, c->blob_cap, 1);
		}
		for (i = 0; i < e->nnz; i++) {
			memcpy(c->blob + 8 * i, &e->idx[i], 4);
			memcpy(c->blob + 8 * i + 4, &e->val[i], 4);
		}
		sqlite3_bind_blob(c->put, 5, e->nnz > 0 ? (void *)c->blob :
		    (void *)"", (int)(e->nnz * 8), SQLITE_STATIC);
	}
	rc = sqlite3_step(c->put);
	sqlite3_reset(c->put);
	if (rc != SQLITE_DONE) {
		*errstr = fail("cache: %s", sqlite3_errmsg(c->db));
		return -1;
	}
	return 0;
}

int
cache_flush(struct cache *c, const char **errstr)
{
	if (!c->in_tx)
		return 0;
	c->in_tx = 0;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		*errstr = fail("cache: %s", sqlite3_errmsg(c->db));
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void
cache_close(struct cache *c)
{
	const char	*errstr;

	if (c == NULL)
		return;
	cache_flush(c, &errstr);
	cache_release(c);
}
