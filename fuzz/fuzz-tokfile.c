/*
 * fuzz-tokfile: the tokenizer file loader on arbitrary files.  The
 * checksum in the header is set right before loading, so that mutations
 * reach the checks behind it; a file that loads is then used to encode
 * a few texts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tok.h"
#include "util.h"

#include "fuzzfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	*texts[] = {
	"Hello, world! It's 2024.", "  the cat\r\n\n", "\xe4\xbd\xa0\xe5\xa5\xbd",
	"<|endoftext|>x", "\xff\xfe", "a\xcc\x81"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tok	*t;
	struct tok_ids	 ids = { .want_offs = 1 };
	const char	*errstr = NULL, *b;
	unsigned char	*buf;
	uint32_t	 sum;
	size_t		 i, k, len, nvocab;

	buf = xmalloc(size + 1);
	memcpy(buf, data, size);
	if (size >= 32) {
		sum = hash_fnv1a32(buf + 32, size - 32);
		for (i = 0; i < 4; i++)
			buf[28 + i] = (unsigned char)(sum >> 8 * i);
	}
	t = tok_open(fuzzfile_write(buf, size), &errstr);
	free(buf);
	if (t == NULL) {
		if (errstr == NULL)
			abort();
		return 0;
	}
	nvocab = tok_vocab_size(t);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ids.n = 0;
		tok_encode(t, texts[i], strlen(texts[i]), &ids);
		if (tok_count(t, texts[i], strlen(texts[i])) != ids.n)
			abort();
		for (k = 0; k < ids.n; k++)
			if (ids.ids[k] >= nvocab ||
			    (b = tok_token(t, ids.ids[k], &len)) == NULL)
				abort();
	}
	tok_ids_free(&ids);
	tok_close(t);
	return 0;
}
