/*
 * chunk: split a document into chunks that fit a token budget, counted
 * with the model's tokenizer, cutting at the largest boundary that fits:
 * before a Markdown heading, then between paragraphs (blank lines), then
 * between lines, sentences (. ! ? followed by space, and 。！？ and the
 * other sentence ends of utf8_is_sentence_end), words, and last between
 * tokens, never inside a UTF-8 character.  Without overlap the chunks of
 * a document are contiguous: concatenated, they give it back exactly.
 */
#ifndef DS_CHUNK_H
#define DS_CHUNK_H

#include <stddef.h>

#include "tok.h"

struct chunk_opts {
	size_t	max_tokens;	/* at most this many tokens per chunk */
	size_t	overlap;	/* tokens of the previous chunk repeated at the
				 * start of the next (< max_tokens) */
	size_t	min_tokens;	/* merge smaller chunks into a neighbour when
				 * the result fits */
	int	headings;	/* fill in chunk.heading */
};

struct chunk {
	size_t		 start, end;	/* bytes [start, end) of the document;
					 * start includes the overlap */
	size_t		 ntokens;	/* tokens of that text */
	const char	*heading;	/* "H1 > H2 > ..." at the chunk's
					 * start, "" if none; NULL unless
					 * headings was asked for */
};

struct chunker;

/* A chunker using t (borrowed; it must outlive the chunker). */
struct chunker	*chunker_new(struct tok *t, const struct chunk_opts *);
void		 chunker_free(struct chunker *);

/*
 * Split doc[0..len), which must be valid UTF-8, and set *out to the
 * chunks in document order.  Returns their number (0 for an empty
 * document).  The array and headings belong to the chunker and live until
 * the next call.
 */
size_t		 chunker_split(struct chunker *, const char *doc, size_t len,
		    const struct chunk **out);

#endif
