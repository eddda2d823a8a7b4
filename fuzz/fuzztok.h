/*
 * fuzztok: the targets that need the real Qwen3 tokenizer load it once,
 * from DS_FUZZ_TOK or else data/qwen3-tok.bin.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tok.h"

/* The tokenizer, or exit 1 with prog's message if it cannot be read. */
static struct tok *
fuzztok_open(const char *prog)
{
	struct tok	*t;
	const char	*path, *errstr;

	if ((path = getenv("DS_FUZZ_TOK")) == NULL)
		path = "data/qwen3-tok.bin";
	if ((t = tok_open(path, &errstr)) == NULL) {
		fprintf(stderr, "%s: %s\n", prog, errstr);
		exit(1);
	}
	return t;
}
