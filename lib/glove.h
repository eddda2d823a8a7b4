/*
 * glove: the built-in offline model: GloVe word vectors read from a
 * compact file that is mapped, never copied, and turned into sentence
 * vectors by SIF (Arora, Liang and Ma, 2017, "A Simple but
 * Tough-to-Beat Baseline for Sentence Embeddings"): a weighted sum of
 * the word vectors, weight a / (a + p(w)) with p(w) from the word's
 * frequency rank, minus the projection on the common component stored
 * in the file, scaled to unit length.
 *
 * The file (written by tools/glove-convert, all numbers little-endian,
 * described in docs/models.md):
 *
 *	0	8	magic "DSGLOVE\0"
 *	8	u32	version (1)
 *	12	u32	dim
 *	16	u32	nwords, ordered by corpus frequency, most frequent first
 *	20	u32	vector type: 1 float32, 2 int8 with a float32 scale per row
 *	24	u32	hash slots (a power of two, more than nwords)
 *	28	u32	longest probe sequence in the hash table
 *	32	u32	longest word, in bytes
 *	36	f32	SIF a
 *	40	f32	Zipf offset b:  p(rank r, from 1) = 1 / (h * (r + b))
 *	44	f32	Zipf normaliser h
 *	48	u64	word pool offset	56 u64 word pool size
 *	64	u64	word offsets (nwords u32 into the pool, NUL-terminated words)
 *	72	u64	hash table (slots u32: word index + 1, 0 for empty)
 *	80	u64	common component (dim f32, unit length; zero: none)
 *	88	u64	row scales (nwords f32; type 2 only, else 0)
 *	96	u64	vectors (nwords * dim f32 or int8, row-major)
 *	104	u64	file size
 *	112	u32	text length the common component was computed for
 *	116	u32	zero
 *	120	u64	FNV-1a 64 of bytes 0..119
 *
 * The hash is FNV-1a 64 of the word's bytes, slot = hash & (slots - 1),
 * probing linearly.
 */
#ifndef DS_GLOVE_H
#define DS_GLOVE_H

#include <stddef.h>
#include <stdint.h>

#include "models.h"

#define GLOVE_MAGIC		"DSGLOVE"
#define GLOVE_VERSION		1
#define GLOVE_HEADER_SIZE	128
#define GLOVE_F32		1
#define GLOVE_I8		2
/* No word in a model may be longer than this, in bytes. */
#define GLOVE_MAX_WORD		64

struct glove;

/*
 * Map the model file at path and check its header and the bounds of
 * every section before anything in it is used.  Returns NULL with
 * *errstr ("PATH: what is wrong", a static buffer) and *status: 66 when
 * the file cannot be opened, 65 when it is not a valid model file, 74
 * when it cannot be read or mapped.
 */
struct glove	*glove_open(const char *path, const char **errstr,
		    int *status);

/* The dimension of the vectors, and the number of words. */
size_t		 glove_dim(const struct glove *);
size_t		 glove_nwords(const struct glove *);
/* Bytes mapped (the whole file). */
size_t		 glove_mapped(const struct glove *);

/*
 * The sentence vector of text[0..len) (any bytes; UTF-8 expected) into
 * out (glove_dim floats).  Returns the number of known tokens; when 0,
 * out is all zeros.  Returns -1 with *errstr when an entry of the model
 * file turns out to be corrupt (an index out of range, a non-finite
 * value).  The model is only read, so calls may run in parallel.
 */
long		 glove_embed(const struct glove *, const char *text, size_t len,
		    float *out, const char **errstr);

/*
 * Call fn(word, len, index, arg) for each token of text[0..len), in
 * order: word is the lower-cased form looked up (not NUL-terminated,
 * borrowed for the call), index its row or -1 when unknown.  Returns
 * the number of known tokens, or -1 as glove_embed.
 */
long		 glove_tokens(const struct glove *, const char *text, size_t len,
		    void (*fn)(const char *, size_t, long, void *), void *arg,
		    const char **errstr);

/* The FNV-1a 64 hash the file's table uses. */
uint64_t	 glove_hash(const char *s, size_t len);

/* Unmap and free. */
void		 glove_close(struct glove *);

/*
 * The provider for models.c: the model's file is found with
 * datadir_path(m->file); the state is the struct glove.
 */
extern const struct provider	glove_provider;

#endif
