/* secret: a page for a key, kept out of core dumps and wiped. */

/* madvise(2) and its MADV_DONTDUMP are beyond POSIX.1-2008. */
#define _DEFAULT_SOURCE

#include <sys/mman.h>
#include <sys/resource.h>
#if defined(__has_include)
#if __has_include(<sys/prctl.h>)
#include <sys/prctl.h>
#endif
#endif

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"
#include "util.h"

struct secret {
	char	*base;
	size_t	 size, used;
	int	 locked;
};

/* Called through a volatile pointer, the wipe cannot be optimised out. */
static void *(*const volatile wipe_fn)(void *, int, size_t) = memset;

void
secret_wipe(void *s, size_t len)
{
	if (s != NULL && len > 0)
		wipe_fn(s, 0, len);
}

static void
no_core_files(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_CORE, &rl) == 0) {
		rl.rlim_cur = 0;
		setrlimit(RLIMIT_CORE, &rl);
	}
#ifdef PR_SET_DUMPABLE
	/* Also covers a core_pattern pipe, which ignores RLIMIT_CORE. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

struct secret *
secret_new(size_t size, const char **errstr)
{
	struct secret	*s;
	long		 page = sysconf(_SC_PAGESIZE);
	void		*p;

	if (page <= 0)
		page = 4096;
	size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
	if (size == 0)
		size = (size_t)page;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON,
	    -1, 0);
	if (p == MAP_FAILED) {
		*errstr = "cannot map memory for the API key";
		return NULL;
	}
#ifdef MADV_DONTDUMP
	madvise(p, size, MADV_DONTDUMP);
#endif
	no_core_files();
	s = xcalloc(1, sizeof(*s));
	s->base = p;
	s->size = size;
	/* Locking one page is cheap; without the privilege, go on. */
	s->locked = mlock(p, size) == 0;
	return s;
}

char *
secret_alloc(struct secret *s, size_t len)
{
	char	*p;

	if (len >= s->size - s->used)
		return NULL;
	p = s->base + s->used;
	s->used += len + 1;
	return p;	/* mmap gave zeroed pages, and nothing reuses them */
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	secret_wipe(s->base, s->size);
	if (s->locked)
		munlock(s->base, s->size);
	munmap(s->base, s->size);
	free(s);
}
