/*
 * json: read JSON documents (a token array over the caller's buffer,
 * navigated by token index) and write them (a growing buffer with string
 * escaping).  The only module that uses jsmn.
 */
#ifndef DS_JSON_H
#define DS_JSON_H

#include <stddef.h>

enum json_type {
	JSON_NONE = 0,		/* no such token */
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL
};

struct json;

/* A parser whose token storage is reused from document to document. */
struct json	*json_new(void);
void		 json_free(struct json *);

/* Containers nested deeper than this are refused. */
#define JSON_MAX_DEPTH	32

/*
 * Tokenise buf[0..len), which stays borrowed while the tokens are used.
 * Returns 0 with token 0 the root, or -1 with *errstr ("truncated",
 * "malformed", "nested too deeply") when the text is not one complete
 * JSON value or nests more than JSON_MAX_DEPTH containers.
 */
int		 json_parse(struct json *, const char *buf, size_t len,
		    const char **errstr);

/*
 * The same for a text that arrives in pieces: json_begin, json_feed for
 * each piece in order, then json_end, which returns what json_parse
 * returns for the whole text (for a text that is not JSON, an error too,
 * though its wording may differ).  The pieces need not stay: arrays of
 * numbers are read as they arrive and the rest of the text is kept, so a
 * response can be read as it comes, without collecting it first.
 */
void		 json_begin(struct json *);
void		 json_feed(struct json *, const char *piece, size_t len);
int		 json_end(struct json *, const char **errstr);

/* Type of token t (JSON_NONE when t is out of range, e.g. -1). */
enum json_type	 json_type(const struct json *, int t);
/* Members of an object, or elements of an array; 0 for the rest. */
size_t		 json_size(const struct json *, int t);
/*
 * The value of key in object t, or -1 when t is not an object or has no
 * such key (the first one wins).
 */
int		 json_get(const struct json *, int t, const char *key);
/* First element of array t (first key of object t), or -1. */
int		 json_first(const struct json *, int t);
/*
 * The sibling that follows t inside container parent, or -1.  In an
 * object, keys and values alternate: from a key, the next is its value.
 */
int		 json_next(const struct json *, int parent, int t);

/* 1 if string token t equals s exactly (after unescaping), else 0. */
int		 json_streq(const struct json *, int t, const char *s);
/*
 * The unescaped text of a string token, or the raw text of any other
 * token, as a new NUL-terminated string the caller frees.  Invalid
 * escapes are kept as they are.
 */
char		*json_strdup(const struct json *, int t);
/* Number token t as an integer.  Returns 0, or -1 if not an integer. */
int		 json_integer(const struct json *, int t, long long *out);
/* Number token t as a double.  Returns 0, or -1 if not a number. */
int		 json_number(const struct json *, int t, double *out);
/*
 * Parse the elements of array t, all numbers, into out (room for max).
 * Returns the count, or -1 when an element is not a finite number or
 * there are more than max.
 */
long		 json_floats(const struct json *, int t, float *out, size_t max);

/* A document being written.  Zero-initialise; json_out_free releases. */
struct json_out {
	char	*buf;		/* len bytes, NUL-terminated once written */
	size_t	 len, cap;
};

/* Append raw text. */
void	json_out_raw(struct json_out *, const char *s, size_t len);
/* Append s as a JSON string: quotes, escapes; UTF-8 passes through. */
void	json_out_str(struct json_out *, const char *s, size_t len);
/* Append a decimal integer. */
void	json_out_int(struct json_out *, long long);
void	json_out_free(struct json_out *);

#endif
