/*
 * terms: the terms of a text for lexical (BM25) vectors: Qwen3 token ids,
 * or lower-cased Unicode words hashed to 31 bits.  Either way a term is a
 * uint32_t index; the module can also show a term as readable text.
 */
#ifndef DS_TERMS_H
#define DS_TERMS_H

#include <stddef.h>
#include <stdint.h>

enum terms_kind {
	TERMS_QWEN3,	/* the ids of the Qwen3 tokenizer (lib/tok.h) */
	TERMS_WORDS	/* words: FNV-1a 32 of the word's bytes, top bit 0 */
};

struct terms;

/* A list of term indexes, reused across calls; terms_list_free frees it. */
struct terms_list {
	uint32_t	*ids;
	size_t		 n, cap;
};

/*
 * Open a term source.  TERMS_QWEN3 loads the tokenizer file at tok_path.
 * Returns NULL with *errstr (a static buffer naming the file) and *status
 * (78 when the file is missing, 65 when it is not a tokenizer file).
 */
struct terms	*terms_open(enum terms_kind, const char *tok_path,
		    const char **errstr, int *status);
void		 terms_close(struct terms *);

/*
 * Replace the contents of out with the terms of the UTF-8 text s[0..len)
 * in text order.  In TERMS_QWEN3 mode the text is tokenized with a space
 * before it, so that its first word is the same term as inside a text
 * (" cat", not "cat").  In TERMS_WORDS mode a word is a maximal run of letters,
 * marks and numbers, mapped to lower case and NFC; the word of each new
 * index is remembered for terms_name.
 */
void		 terms_of(struct terms *, const char *s, size_t len,
		    struct terms_list *out);

/*
 * A readable form of term t, NUL-terminated, in a buffer that lives until
 * the next call: a Qwen3 token with its leading space shown as U+2581
 * and control bytes escaped; a word as remembered (or "#INDEX" when the
 * word was not seen).
 */
const char	*terms_name(struct terms *, uint32_t t);
/* Remember that index t is word w (read back from a statistics file). */
void		 terms_learn(struct terms *, uint32_t t, const char *w);

/* "qwen3" or "words". */
const char	*terms_kind_name(enum terms_kind);
/* Every index is below this: the Qwen3 vocabulary, or 2^31. */
uint64_t	 terms_space(const struct terms *);

/*
 * The index of word w (already lower case and NFC) in TERMS_WORDS mode:
 * FNV-1a 32 over its UTF-8 bytes, with the top bit cleared.
 */
uint32_t	 terms_word_index(const char *w, size_t len);

void		 terms_list_free(struct terms_list *);

#endif
