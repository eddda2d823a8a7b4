/*
 * dashscope: the embedding APIs spoken over HTTP: DashScope's native
 * text-embedding service and the OpenAI-compatible /embeddings endpoint
 * (DashScope's compatible mode, OpenAI, Ollama, vLLM, ...).  Builds the
 * request body, reads the response or the error envelope, and says which
 * failures are worth a retry.  No I/O: lib/http.c carries the bytes.
 */
#ifndef DS_DASHSCOPE_H
#define DS_DASHSCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

enum dashscope_api {
	DASHSCOPE_NATIVE,	/* POST .../services/embeddings/... */
	DASHSCOPE_OPENAI	/* POST .../embeddings */
};

/* Which vectors to ask for (DashScope's parameters.output_type). */
enum dashscope_output {
	DASHSCOPE_DENSE = 1,
	DASHSCOPE_SPARSE = 2,
	DASHSCOPE_BOTH = 3
};

/* What one request asks for; strings borrowed. */
struct dashscope_params {
	enum dashscope_api	 api;
	const char		*model;
	size_t			 dimension;	/* 0: leave it out */
	const char		*text_type;	/* "query", "document", NULL */
	const char		*instruct;	/* NULL: none */
	enum dashscope_output	 output;
};

/*
 * The request URL for base (e.g. https://dashscope-intl.aliyuncs.com/api/v1
 * or http://localhost:11434/v1): the native path or "/embeddings" appended.
 * A native base with no path gets "/api/v1" first.  The caller frees it.
 */
char	*dashscope_url(enum dashscope_api, const char *base);

/* Write the request body for texts[0..n) (lens[i] bytes each) into out. */
void	 dashscope_request(struct json_out *out,
	    const struct dashscope_params *, const char *const *texts,
	    const size_t *lens, size_t n);

/*
 * The vectors of one response, placed by text_index.  Row i of dense
 * (dim floats) is text i; text i's sparse pairs are
 * idx/val[sp_off[i] .. sp_off[i + 1]), indexes ascending.
 */
struct dashscope_result {
	size_t		 n, dim;
	float		*dense;		/* n * dim, or NULL */
	uint32_t	*idx;
	float		*val;
	size_t		*sp_off;	/* n + 1 offsets, or NULL */
	long long	 tokens;	/* usage.total_tokens, -1 if absent */
	char		*request_id;	/* or NULL */
	/* Private: capacities and scratch. */
	size_t		 dense_cap, sp_cap, n_cap;
	unsigned char	*seen;
};

/*
 * Read a 200 response to a request for n texts made with p.  Every text
 * must come back exactly once, with the asked dimension (or one
 * dimension for all when p->dimension is 0) and finite values.  Returns
 * 0; -1 when the body is not JSON (cut or garbled on the way: worth a
 * retry); -2 when it is JSON of the wrong shape.  *errstr (a static
 * buffer) says what is wrong.  The result's storage is reused.
 */
int	 dashscope_parse(struct json *, const struct dashscope_params *p,
	    const char *body, size_t len, size_t n,
	    struct dashscope_result *, const char **errstr);
/*
 * The same for a response fed to the json object piece by piece as it
 * arrived (json_begin, json_feed): what dashscope_parse returns for the
 * whole body.
 */
int	 dashscope_parse_fed(struct json *, const struct dashscope_params *p,
	    size_t n, struct dashscope_result *, const char **errstr);
void	 dashscope_result_free(struct dashscope_result *);

/*
 * Read an error response: code, message and request id from either
 * envelope (native {code,message,request_id}, compatible {error:{...}}).
 * A body that is not JSON gives code "" and the first line of the body as
 * the message.  Each string is new (the caller frees), never NULL.
 */
void	 dashscope_error(struct json *, const char *body, size_t len,
	    char **code, char **message, char **request_id);

/* 1 if an HTTP status is worth retrying (408, 429, 500, 502-504). */
int	 dashscope_retryable(long status);

#endif
