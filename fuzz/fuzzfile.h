/*
 * fuzzfile: the loaders take a path, so the fuzz targets of loaders write
 * each input to one temporary file of their own, removed at exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char	fuzzfile_path[] = "/tmp/ds-fuzz.XXXXXX";
static int	fuzzfile_fd = -1;

static void
fuzzfile_remove(void)
{
	unlink(fuzzfile_path);
}

/* Make the temporary file hold exactly data[0..size); returns its path. */
static const char *
fuzzfile_write(const void *data, size_t size)
{
	const char	*p = data;
	ssize_t		 n;

	if (fuzzfile_fd == -1) {
		if ((fuzzfile_fd = mkstemp(fuzzfile_path)) == -1) {
			perror("mkstemp");
			abort();
		}
		atexit(fuzzfile_remove);
	}
	if (ftruncate(fuzzfile_fd, 0) == -1 ||
	    lseek(fuzzfile_fd, 0, SEEK_SET) == -1)
		abort();
	while (size > 0) {
		if ((n = write(fuzzfile_fd, p, size)) == -1) {
			if (errno == EINTR)
				continue;
			abort();
		}
		p += n;
		size -= (size_t)n;
	}
	return fuzzfile_path;
}
