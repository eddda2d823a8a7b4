/*
 * bm25: corpus statistics and Okapi BM25 weights for sparse lexical
 * vectors.  A document's weight for term t is
 *
 *	idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))
 *
 * with idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5)) (the form of
 * Lucene, which never goes negative), N documents, n(t) of them holding t.
 * A query's weight for t is its count in the query, so that the dot
 * product of a query and a document is the document's BM25 score.
 */
#ifndef DS_BM25_H
#define DS_BM25_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "terms.h"

struct bm25 {
	enum terms_kind	 kind;
	uint64_t	 space;		/* every term index is below it */
	uint64_t	 docs;		/* N */
	uint64_t	 tokens;	/* the documents' lengths summed */
	/* Document frequency per term: open addressing, df 0 = empty. */
	uint32_t	*keys;
	uint64_t	*df;
	size_t		 n, cap;
};

/* Empty statistics for terms of the given kind and index space. */
void	bm25_init(struct bm25 *, enum terms_kind, uint64_t space);
void	bm25_free(struct bm25 *);

/*
 * Count the terms of a text: sort ids[0..n) in place and write the
 * distinct terms, ascending, to uniq and their counts to tf (both with
 * room for n).  Returns the number of distinct terms.
 */
size_t	bm25_count(uint32_t *ids, size_t n, uint32_t *uniq, float *tf);

/* Add a document of length len holding the distinct terms uniq[0..n). */
void	bm25_add(struct bm25 *, const uint32_t *uniq, size_t n, uint64_t len);
/* The number of documents that hold t. */
uint64_t bm25_df(const struct bm25 *, uint32_t t);
/* idf(t); 0 for a term no document holds. */
double	bm25_idf(const struct bm25 *, uint32_t t);
/* The mean document length (0 with no documents). */
double	bm25_avglen(const struct bm25 *);

/*
 * Turn the counts tf[0..n) of a document of length len (terms uniq) into
 * BM25 weights, in place.
 */
void	bm25_weigh(const struct bm25 *, const uint32_t *uniq, float *tf,
	    size_t n, double len, double k1, double b);

/*
 * Write the statistics to fp as text:
 *	#ds-bm25 version=1 terms=KIND space=S docs=N tokens=T
 *	index<TAB>df[<TAB>word]		(one line per term, ascending)
 * where words, if not NULL, names the terms (TERMS_WORDS).
 * Returns 0, or -1 on a write error.
 */
int	bm25_save(const struct bm25 *, FILE *fp, struct terms *words);

/*
 * Read statistics written by bm25_save from path into s (initialised by
 * bm25_init with the kind and space the caller uses; a file of another
 * kind or space is refused).  Words found are given to terms_learn.
 * Returns 0, or -1 with *errstr ("PATH:LINE: what is wrong", a static
 * buffer) and *status (66 cannot open, 65 malformed or another tokenizer,
 * 74 read error).
 */
int	bm25_load(struct bm25 *s, const char *path, struct terms *words,
	    const char **errstr, int *status);

#endif
