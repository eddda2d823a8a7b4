/*
 * glove-load: time glove_open (map and check the model file) and the
 * first embedding, which faults in the pages it reads.  Prints the
 * milliseconds of each.  Built and run by bench/embed-local.
 */
#include <err.h>
#include <stdio.h>
#include <time.h>

#include "glove.h"

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char *argv[])
{
	static const char	text[] = "The cat sat on the mat.";
	struct glove		*g;
	const char		*errstr;
	float			 v[4096];
	double			 t0, t1, t2;
	int			 status;

	if (argc != 2)
		errx(64, "usage: glove-load model");
	t0 = now_ms();
	if ((g = glove_open(argv[1], &errstr, &status)) == NULL)
		errx(status, "%s", errstr);
	t1 = now_ms();
	if (glove_dim(g) > 4096 ||
	    glove_embed(g, text, sizeof(text) - 1, v, &errstr) < 0)
		errx(65, "%s", errstr);
	t2 = now_ms();
	glove_close(g);
	printf("%.3f %.3f\n", t1 - t0, t2 - t1);
	return 0;
}
