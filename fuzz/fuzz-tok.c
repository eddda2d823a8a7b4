/*
 * fuzz-tok: the Qwen3 tokenizer on arbitrary bytes, with the real
 * tokenizer file (DS_FUZZ_TOK, else data/qwen3-tok.bin) loaded once.
 * Checks: every id is in the vocabulary, offsets are ascending and
 * inside the text, tok_count agrees with tok_encode, and the tokens of
 * an ASCII text (which NFC leaves alone) spell it back exactly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzztok.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct tok	*tok;
static struct tok_ids	 ids = { .want_offs = 1 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tok = fuzztok_open("fuzz-tok");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *b;
	size_t		 i, n, len, at, ascii;

	ids.n = 0;
	tok_encode(tok, s, size, &ids);
	if ((size == 0) != (ids.n == 0))
		abort();
	for (i = 0; i < ids.n; i++) {
		if (ids.ids[i] >= tok_vocab_size(tok) || ids.offs[i] >= size)
			abort();
		if (i > 0 && ids.offs[i] < ids.offs[i - 1])
			abort();
	}
	n = tok_count(tok, s, size);
	if (n != ids.n)
		abort();
	for (ascii = 1, i = 0; i < size; i++)
		if (data[i] >= 0x80)
			ascii = 0;
	if (!ascii)
		return 0;
	for (at = 0, i = 0; i < ids.n; i++) {
		if ((b = tok_token(tok, ids.ids[i], &len)) == NULL ||
		    len > size - at || memcmp(b, s + at, len) != 0 ||
		    ids.offs[i] != at)
			abort();
		at += len;
	}
	if (at != size)
		abort();
	return 0;
}
