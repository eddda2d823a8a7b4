/*
 * fuzz-glove: the built-in model file loader on arbitrary files.  The
 * header checksum and file size are set right before loading, so that
 * mutations reach the checks behind them; a model that loads is then
 * used to embed a few texts, which reads its word table and vectors.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glove.h"
#include "util.h"

#include "fuzzfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	*texts[] = {
	"the cat sat on the mat, well-known!", "Hello WORLD hello",
	"\xe2\x80\x9cquoted\xe2\x80\x9d e-mail", "", "a b c d e f g h i j"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct glove	*g;
	const char	*errstr = NULL;
	unsigned char	*buf;
	float		*out;
	uint64_t	 v;
	size_t		 i, k;
	long		 known;
	int		 status = 0;

	buf = xmalloc(size + 1);
	memcpy(buf, data, size);
	if (size >= GLOVE_HEADER_SIZE) {
		for (i = 0; i < 8; i++)
			buf[104 + i] = (unsigned char)((uint64_t)size >> 8 * i);
		v = glove_hash((const char *)buf, 120);
		for (i = 0; i < 8; i++)
			buf[120 + i] = (unsigned char)(v >> 8 * i);
	}
	g = glove_open(fuzzfile_write(buf, size), &errstr, &status);
	free(buf);
	if (g == NULL) {
		if (errstr == NULL || (status != 65 && status != 74))
			abort();
		return 0;
	}
	out = xcalloc(glove_dim(g), sizeof(*out));
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		known = glove_embed(g, texts[i], strlen(texts[i]), out,
		    &errstr);
		if (known < 0)
			continue;
		for (k = 0; k < glove_dim(g); k++)
			if (!isfinite(out[k]))
				abort();
	}
	free(out);
	glove_close(g);
	return 0;
}
