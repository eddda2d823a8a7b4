/*
 * stream: the ds record stream, read and written in its TSV or binary
 * form (docs/FORMAT.md is the specification).  A stream is an optional
 * header of key=value words followed by records; a record is an id, zero
 * or more payload fields and a body: a text, a dense vector or a sparse
 * vector.  Readers tell the two forms apart from the first bytes; memory
 * per reader is constant per record (buffers are reused).
 */
#ifndef DS_STREAM_H
#define DS_STREAM_H

#include <stdint.h>
#include <stdio.h>

_Static_assert(sizeof(float) == 4, "float32 records");

enum stream_kind {
	KIND_UNKNOWN = 0,	/* no header said, and no record showed yet */
	KIND_TEXT,
	KIND_DENSE,
	KIND_SPARSE
};

/* One key=value word of a header; both strings owned by the header. */
struct header_word {
	char	*key;
	char	*value;
};

/*
 * A header: the words in the order they were read or set.  The keys
 * "kind", "dim", "model" and "norm" have accessors; every other key is
 * carried through untouched.
 */
struct header {
	struct header_word	*words;
	size_t			 n, cap;
};

/* The value of key, or NULL.  The pointer is borrowed. */
const char	*header_get(const struct header *, const char *key);
/* Set key to a copy of value (appended if new, replaced in place if not). */
void		 header_set(struct header *, const char *key, const char *value);
/* Remove key if present. */
void		 header_unset(struct header *, const char *key);
/* kind=, or KIND_UNKNOWN when absent. */
enum stream_kind header_kind(const struct header *);
/* dim= as a number, or 0 when absent. */
size_t		 header_dim(const struct header *);
/* Make dst a deep copy of src (dst's old words are freed). */
void		 header_copy(struct header *dst, const struct header *src);
/*
 * Check that b may be read together with a: kind, dim and model must be
 * equal wherever both say them.  Returns 0, or -1 with *errstr naming the
 * first key that differs and both values (a static buffer).
 */
int		 header_compatible(const struct header *a, const struct header *b,
		    const char **errstr);
void		 header_free(struct header *);
/* "text", "dense", "sparse" or "unknown". */
const char	*kind_name(enum stream_kind);

/* A field: unescaped bytes, NUL-terminated for convenience. */
struct field {
	char	*s;
	size_t	 len;
};

/*
 * A record.  All storage belongs to the record and is reused by the next
 * stream_read into it; record_free releases it.
 */
struct record {
	struct field	 id;
	struct field	*payload;	/* npayload fields between id and body */
	size_t		 npayload;
	enum stream_kind kind;		/* which body below is set */
	struct field	 text;		/* KIND_TEXT */
	float		*vec;		/* KIND_DENSE: dim floats */
	size_t		 dim;
	uint32_t	*idx;		/* KIND_SPARSE: nnz ascending indexes */
	float		*val;		/*   and their values */
	size_t		 nnz;
	uintmax_t	 line;		/* line (TSV) or frame (binary), from 1 */

	/* Private: capacities of the buffers above. */
	size_t		 id_cap, text_cap, vec_cap, sp_cap, pl_cap;
	size_t		*pl_caps;
};

void	record_init(struct record *);
void	record_free(struct record *);
/* Set the id (copied). */
void	record_set_id(struct record *, const char *s, size_t len);
/* Append a payload field (copied). */
void	record_add_payload(struct record *, const char *s, size_t len);
/* Drop all payload fields. */
void	record_clear_payload(struct record *);
/* Make r a text record holding a copy of s. */
void	record_set_text(struct record *, const char *s, size_t len);
/* Make r a dense record holding a copy of v (dim floats). */
void	record_set_dense(struct record *, const float *v, size_t dim);
/* Make r a sparse record holding copies of idx and val (nnz pairs). */
void	record_set_sparse(struct record *, const uint32_t *idx,
	    const float *val, size_t nnz);
/* Make dst a deep copy of src. */
void	record_copy(struct record *dst, const struct record *src);

/* Reader options: zero-initialise, then set what you need. */
struct stream_opts {
	enum stream_kind expect;	/* KIND_UNKNOWN: take any kind */
	int	allow_nonfinite;	/* accept NaN and Inf in vectors */
};

struct stream;

/*
 * Open path ("-" or NULL: standard input) and read its header, if any.
 * Returns NULL with *errstr set ("FILE: what is wrong", a buffer that
 * lives until the next call) and *status set to a sysexits code: 66 when
 * the file cannot be opened, 65 when its first bytes are malformed, 74 on
 * a read error.
 */
struct stream	*stream_open(const char *path, const struct stream_opts *,
		    const char **errstr, int *status);
/* Read from an open FILE instead (not closed by stream_close). */
struct stream	*stream_fopen(FILE *, const char *name,
		    const struct stream_opts *, const char **errstr,
		    int *status);

/*
 * Read the next record into r.  Returns 1 for a record, 0 at the end of
 * the stream, -1 on error with *errstr ("FILE:LINE: what is wrong", or
 * "FILE: frame N: ..." in binary form) and *status (65 bad data, 74 read
 * error).  A header met again later (concatenated streams) must be
 * compatible with the first one and is otherwise skipped.
 */
int		 stream_read(struct stream *, struct record *r,
		    const char **errstr, int *status);

/*
 * The header read so far.  After the first record, kind and dim are
 * filled in from the records when the header did not say them.
 */
const struct header *stream_header(const struct stream *);
/* The name given at open ("-" shows as "stdin"). */
const char	*stream_name(const struct stream *);
/* 1 if the input is in binary form. */
int		 stream_is_binary(const struct stream *);
/* Bytes consumed so far. */
uintmax_t	 stream_bytes(const struct stream *);
/*
 * In binary form, the byte offset from the start of the input of the
 * vector of the dense record last read: its dim float32 values lie there,
 * little-endian, one after another.  A caller reading a regular file may
 * keep this offset and read the vector again later (pread(2)) instead of
 * keeping a copy.  0 in TSV form.
 */
uintmax_t	 stream_body_offset(const struct stream *);
void		 stream_close(struct stream *);

struct writer;

/*
 * Start writing to fp: binary form if binary is 1, TSV if 0, and the
 * default (DS_FORMAT=binary in the environment, else TSV) if -1.  The
 * header h is written at once (in TSV form only if it has words; the
 * binary form always has one, and needs kind= set).  Unless fp is a
 * terminal it gets a 1 MiB stdio buffer, so call this before any other
 * output on fp.
 */
struct writer	*writer_open(FILE *fp, int binary, const struct header *h);
/*
 * Write one record to fp.  Returns 0, or -1 on a write error (errno set;
 * stdio buffers, so an error may show at a later call).  A record whose kind differs from the header's, or a
 * dense record whose dim differs from dim=, is a bug of the caller
 * (assert).
 */
int		 writer_write(struct writer *, const struct record *);
/*
 * fflush fp, for output that must not wait (a streaming pipeline).
 * Returns 0, or -1 on error.
 */
int		 writer_flush(struct writer *);
/* Free the writer (fp stays open).  Returns -1 if any write failed. */
int		 writer_close(struct writer *);
/*
 * Parse a -b/-t style choice: returns 1 for binary, 0 for TSV, from the
 * environment variable DS_FORMAT when flag is -1.
 */
int		 writer_default_binary(void);

#endif
