/*
 * fuzz-json: lib/json.c read in pieces against the same text read whole.
 * The first byte picks the sizes of the pieces; the rest is the text.
 * json_begin/json_feed/json_end must give json_parse's answer: an error
 * for the same texts, or the same tree with the same strings and numbers.
 * (Which error may differ: jsmn reads some texts that are not JSON in
 * ways of its own, and the pieces are read with JSON's rules.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_FLOATS	4096

static void
same_text(const struct json *a, int s, const struct json *b, int t)
{
	char	*x = json_strdup(a, s), *y = json_strdup(b, t);

	if (strcmp(x, y) != 0)
		abort();
	free(x);
	free(y);
}

static void
same_tree(const struct json *a, int s, const struct json *b, int t)
{
	static float	 fa[MAX_FLOATS], fb[MAX_FLOATS];
	long		 na, nb;
	int		 c, d;

	if (json_type(a, s) != json_type(b, t) ||
	    json_size(a, s) != json_size(b, t))
		abort();
	switch (json_type(a, s)) {
	case JSON_ARRAY:
		na = json_floats(a, s, fa, MAX_FLOATS);
		nb = json_floats(b, t, fb, MAX_FLOATS);
		if (na != nb || (na > 0 && memcmp(fa, fb, (size_t)na *
		    sizeof(float)) != 0))
			abort();
		if (na >= 0)
			return;
		/* FALLTHROUGH */
	case JSON_OBJECT:
		for (c = json_first(a, s), d = json_first(b, t);
		    c != -1 && d != -1;
		    c = json_next(a, s, c), d = json_next(b, t, d))
			same_tree(a, c, b, d);
		if (c != -1 || d != -1)
			abort();
		return;
	case JSON_NONE:
		abort();
	default:
		same_text(a, s, b, t);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json	*whole, *pieces;
	const char	*text, *e1 = NULL, *e2 = NULL;
	size_t		 len, at, n, most;
	uint32_t	 seed;
	int		 r1, r2, round;

	if (size < 1)
		return 0;
	/* Pieces of 1 to most bytes, most from 1 to 512. */
	most = (size_t)(data[0] & 0x7f) * 4 + 1;
	seed = data[0] * 2654435761u + 1;
	text = (const char *)data + 1;
	len = size - 1;

	whole = json_new();
	pieces = json_new();
	r1 = json_parse(whole, text, len, &e1);
	/* Twice: the second reuses what the first left. */
	for (round = 0; round < 2; round++) {
		json_begin(pieces);
		for (at = 0; at < len; at += n) {
			seed = seed * 1103515245u + 12345u;
			n = (seed >> 16) % most + 1;
			if (n > len - at)
				n = len - at;
			json_feed(pieces, text + at, n);
		}
		r2 = json_end(pieces, &e2);
		if (r1 != r2)
			abort();
		if (r1 != 0 && (e1 == NULL || e2 == NULL))
			abort();
		if (r1 == 0)
			same_tree(whole, 0, pieces, 0);
	}
	json_free(whole);
	json_free(pieces);
	return 0;
}
