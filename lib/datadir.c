/* datadir: locate data files: environment, build tree, then install. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "datadir.h"
#include "util.h"

static char *
join(const char *dir, const char *name)
{
	char	*p;
	size_t	 n;

	n = snprintf(NULL, 0, "%s/%s", dir, name) + 1;
	p = xmalloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

char *
datadir_path(const char *name)
{
	const char	*env;
	char		*p;

	if ((env = getenv("DS_DATA_DIR")) != NULL && env[0] != '\0')
		return join(env, name);
#ifdef DS_BUILD_DATADIR
	p = join(DS_BUILD_DATADIR, name);
	if (access(p, F_OK) == 0)
		return p;
	free(p);
#endif
	return join(DS_DATADIR, name);
}
