/*
 * fuzz-bm25: the ds-sparse statistics file reader on arbitrary files.
 * The first byte picks the term kind the caller expects (Qwen3 ids or
 * words); the rest is the file.  Statistics that load are written back
 * and must read again to the same figures.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm25.h"

#include "fuzzfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The Qwen3 vocabulary's size, without loading the tokenizer. */
#define QWEN3_SPACE	151669

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bm25	 s, again;
	struct terms	*words = NULL;
	enum terms_kind	 kind;
	const char	*errstr = NULL, *path;
	uint64_t	 space;
	char		*text = NULL;
	size_t		 textlen = 0, i;
	FILE		*fp;
	int		 status = 0;

	if (size < 1)
		return 0;
	kind = data[0] & 1 ? TERMS_WORDS : TERMS_QWEN3;
	space = kind == TERMS_WORDS ? UINT64_C(1) << 31 : QWEN3_SPACE;
	if (kind == TERMS_WORDS &&
	    (words = terms_open(kind, NULL, &errstr, &status)) == NULL)
		abort();
	bm25_init(&s, kind, space);
	path = fuzzfile_write(data + 1, size - 1);
	if (bm25_load(&s, path, words, &errstr, &status) == -1) {
		if (errstr == NULL || (status != 65 && status != 74))
			abort();
		goto out;
	}
	if ((fp = open_memstream(&text, &textlen)) == NULL)
		abort();
	if (bm25_save(&s, fp, words) == -1 || fclose(fp) != 0)
		abort();
	path = fuzzfile_write(text, textlen);
	bm25_init(&again, kind, space);
	if (bm25_load(&again, path, words, &errstr, &status) == -1)
		abort();
	if (again.docs != s.docs || again.tokens != s.tokens ||
	    again.n != s.n)
		abort();
	for (i = 0; i < s.cap; i++)
		if (s.df[i] != 0 && bm25_df(&again, s.keys[i]) != s.df[i])
			abort();
	bm25_free(&again);
	free(text);
out:
	bm25_free(&s);
	terms_close(words);
	return 0;
}
