/*
 * fuzz-chunk: the chunker on arbitrary documents, with the real
 * tokenizer file (DS_FUZZ_TOK, else data/qwen3-tok.bin) loaded once.
 * The first two bytes pick the options; the rest, cut to its valid
 * UTF-8 prefix as ds-chunk requires, is the document.  Checks: chunks
 * are in order, inside the document, and without overlap they give it
 * back exactly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "fuzztok.h"
#include "utf8.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct tok	*tok;
/*
 * One chunker per pair of option bytes, made when first needed: making
 * one scans the whole vocabulary, which would cost more than the split.
 */
static struct chunker	*chunkers[65536];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tok = fuzztok_open("fuzz-chunk");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk_opts	 o;
	struct chunker		*c;
	const struct chunk	*ch;
	const char		*doc;
	size_t			 i, n, len;

	if (size < 2)
		return 0;
	/* The limits ds-chunk's options allow, on a small scale. */
	memset(&o, 0, sizeof(o));
	o.max_tokens = (data[0] & 31) + 1;
	o.overlap = (data[0] >> 5) % (o.max_tokens / 2 + 1);
	o.min_tokens = (data[1] & 63) % (o.max_tokens - o.overlap + 1);
	o.headings = data[1] >> 7;
	doc = (const char *)data + 2;
	len = utf8_valid_prefix(doc, size - 2);

	if ((c = chunkers[data[0] << 8 | data[1]]) == NULL)
		c = chunkers[data[0] << 8 | data[1]] = chunker_new(tok, &o);
	n = chunker_split(c, doc, len, &ch);
	if ((len == 0) != (n == 0))
		abort();
	for (i = 0; i < n; i++) {
		if (ch[i].start >= ch[i].end || ch[i].end > len)
			abort();
		if (o.headings && ch[i].heading == NULL)
			abort();
		if (i > 0 && ch[i].end <= ch[i - 1].end)
			abort();
		if (o.overlap == 0 &&
		    ch[i].start != (i == 0 ? 0 : ch[i - 1].end))
			abort();
		if (tok_count(tok, doc + ch[i].start,
		    ch[i].end - ch[i].start) != ch[i].ntokens)
			abort();
	}
	if (n > 0 && ch[n - 1].end != len)
		abort();
	return 0;
}
