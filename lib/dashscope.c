/*
 * dashscope: request bodies and responses of the native and the
 * OpenAI-compatible embedding APIs (docs/ds-embed.1 gives the sources).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashscope.h"
#include "json.h"
#include "util.h"

#define NATIVE_PATH	"/services/embeddings/text-embedding/text-embedding"

static char	errbuf[256];

static const char *
fail(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

char *
dashscope_url(enum dashscope_api api, const char *base)
{
	const char	*path, *host;
	size_t		 len = strlen(base), plen;
	char		*url;
	int		 bare = 0;

	while (len > 0 && base[len - 1] == '/')
		len--;
	path = api == DASHSCOPE_NATIVE ? NATIVE_PATH : "/embeddings";
	/* "https://host" alone: DashScope's API lives under /api/v1. */
	if (api == DASHSCOPE_NATIVE) {
		host = strstr(base, "://");
		host = host == NULL ? base : host + 3;
		bare = memchr(host, '/', len - (size_t)(host - base)) == NULL;
	}
	plen = strlen(path);
	url = xmalloc(len + plen + 8);
	memcpy(url, base, len);
	url[len] = '\0';
	if (bare)
		strcat(url, "/api/v1");
	strcat(url, path);
	return url;
}

static const char *
output_name(enum dashscope_output o)
{
	switch (o) {
	case DASHSCOPE_SPARSE:
		return "sparse";
	case DASHSCOPE_BOTH:
		return "dense&sparse";
	default:
		return "dense";
	}
}

void
dashscope_request(struct json_out *o, const struct dashscope_params *p,
    const char *const *texts, const size_t *lens, size_t n)
{
	size_t	i;

	o->len = 0;
	json_out_raw(o, "{\"model\":", 9);
	json_out_str(o, p->model, strlen(p->model));
	if (p->api == DASHSCOPE_OPENAI) {
		json_out_raw(o, ",\"input\":[", 10);
		for (i = 0; i < n; i++) {
			if (i > 0)
				json_out_raw(o, ",", 1);
			json_out_str(o, texts[i], lens[i]);
		}
		json_out_raw(o, "]", 1);
		if (p->dimension > 0) {
			json_out_raw(o, ",\"dimensions\":", 14);
			json_out_int(o, (long long)p->dimension);
		}
		/* Only float is documented; base64 is some servers' default. */
		json_out_raw(o, ",\"encoding_format\":\"float\"}", 27);
		return;
	}
	json_out_raw(o, ",\"input\":{\"texts\":[", 19);
	for (i = 0; i < n; i++) {
		if (i > 0)
			json_out_raw(o, ",", 1);
		json_out_str(o, texts[i], lens[i]);
	}
	json_out_raw(o, "]},\"parameters\":{", 17);
	/* text_type sits inside parameters, not at the top level. */
	json_out_raw(o, "\"output_type\":", 14);
	json_out_str(o, output_name(p->output), strlen(output_name(p->output)));
	if (p->dimension > 0) {
		json_out_raw(o, ",\"dimension\":", 13);
		json_out_int(o, (long long)p->dimension);
	}
	if (p->text_type != NULL) {
		json_out_raw(o, ",\"text_type\":", 13);
		json_out_str(o, p->text_type, strlen(p->text_type));
	}
	if (p->instruct != NULL) {
		json_out_raw(o, ",\"instruct\":", 12);
		json_out_str(o, p->instruct, strlen(p->instruct));
	}
	json_out_raw(o, "}}", 2);
}

static void
reserve_result(struct dashscope_result *r, size_t n, size_t dim,
    size_t nnz)
{
	if (n * dim > r->dense_cap) {
		r->dense_cap = n * dim;
		r->dense = xreallocarray(r->dense, r->dense_cap,
		    sizeof(float));
	}
	if (n + 1 > r->n_cap) {
		r->n_cap = n + 1;
		r->sp_off = xreallocarray(r->sp_off, r->n_cap, sizeof(size_t));
		r->seen = xreallocarray(r->seen, r->n_cap, 1);
	}
	if (nnz > r->sp_cap) {
		r->sp_cap = nnz;
		r->idx = xreallocarray(r->idx, nnz, sizeof(uint32_t));
		r->val = xreallocarray(r->val, nnz, sizeof(float));
	}
}

/* Sort text i's sparse pairs by index; -1 on a repeated index. */
static int
sort_pairs(uint32_t *idx, float *val, size_t n)
{
	size_t		i, k;
	uint32_t	ti;
	float		tv;

	for (i = 1; i < n; i++) {
		ti = idx[i];
		tv = val[i];
		for (k = i; k > 0 && idx[k - 1] > ti; k--) {
			idx[k] = idx[k - 1];
			val[k] = val[k - 1];
		}
		idx[k] = ti;
		val[k] = tv;
	}
	for (i = 1; i < n; i++)
		if (idx[i] == idx[i - 1])
			return -1;
	return 0;
}

static int	read_result(struct json *, int, const char *,
		    const struct dashscope_params *, size_t,
		    struct dashscope_result *, const char **);

int
dashscope_parse(struct json *j, const struct dashscope_params *p,
    const char *body, size_t len, size_t n, struct dashscope_result *r,
    const char **errstr)
{
	const char	*jerr = NULL;
	int		 jrc;

	jrc = json_parse(j, body, len, &jerr);
	return read_result(j, jrc, jerr, p, n, r, errstr);
}

int
dashscope_parse_fed(struct json *j, const struct dashscope_params *p,
    size_t n, struct dashscope_result *r, const char **errstr)
{
	const char	*jerr = NULL;
	int		 jrc;

	jrc = json_end(j, &jerr);
	return read_result(j, jrc, jerr, p, n, r, errstr);
}

/* The response tokenised in j (jrc, jerr: how that went), read. */
static int
read_result(struct json *j, int jrc, const char *jerr,
    const struct dashscope_params *p, size_t n, struct dashscope_result *r,
    const char **errstr)
{
	const char	*ikey;
	int		 list, e, v, sp, u, t;
	size_t		 i, dim, nnz;
	long long	 ti, tok;
	int		 want_dense = (p->output & DASHSCOPE_DENSE) != 0;
	int		 want_sparse = p->api == DASHSCOPE_NATIVE &&
			    (p->output & DASHSCOPE_SPARSE) != 0;

	free(r->request_id);
	r->request_id = NULL;
	r->n = n;
	r->dim = 0;
	r->tokens = -1;
	if (jrc == -1) {
		*errstr = fail("response is not JSON (%s)", jerr);
		return -1;
	}
	if ((t = json_get(j, 0, "request_id")) != -1 ||
	    (t = json_get(j, 0, "id")) != -1)
		r->request_id = json_strdup(j, t);
	if (p->api == DASHSCOPE_NATIVE) {
		list = json_get(j, json_get(j, 0, "output"), "embeddings");
		ikey = "text_index";
	} else {
		list = json_get(j, 0, "data");
		ikey = "index";
	}
	if (json_type(j, list) != JSON_ARRAY) {
		*errstr = fail("response has no %s array",
		    p->api == DASHSCOPE_NATIVE ? "output.embeddings" : "data");
		return -2;
	}
	if ((u = json_get(j, 0, "usage")) != -1) {
		if ((t = json_get(j, u, "total_tokens")) == -1)
			t = json_get(j, u, "prompt_tokens");
		if (t != -1 && json_integer(j, t, &tok) == 0)
			r->tokens = tok;
	}
	if (json_size(j, list) != n) {
		*errstr = fail("response has %zu embeddings for %zu texts",
		    json_size(j, list), n);
		return -2;
	}

	/* First pass: indexes, dimension, sparse sizes. */
	dim = p->dimension;
	nnz = 0;
	for (e = json_first(j, list); e != -1; e = json_next(j, list, e)) {
		if ((t = json_get(j, e, ikey)) == -1 ||
		    json_integer(j, t, &ti) == -1 || ti < 0 ||
		    (size_t)ti >= n) {
			*errstr = fail("response has an embedding without a "
			    "valid %s", ikey);
			return -2;
		}
		if (want_dense) {
			v = json_get(j, e, "embedding");
			if (json_type(j, v) == JSON_STRING) {
				*errstr = fail("response has base64 "
				    "embeddings; only float is supported");
				return -2;
			}
			if (json_type(j, v) != JSON_ARRAY) {
				*errstr = fail("response has no embedding for "
				    "text %lld", ti);
				return -2;
			}
			if (dim == 0)
				dim = json_size(j, v);
			if (json_size(j, v) != dim) {
				*errstr = fail("response has %zu dimensions "
				    "for text %lld, expected %zu",
				    json_size(j, v), ti, dim);
				return -2;
			}
		}
		if (want_sparse) {
			sp = json_get(j, e, "sparse_embedding");
			if (json_type(j, sp) != JSON_ARRAY) {
				*errstr = fail("response has no "
				    "sparse_embedding for text %lld", ti);
				return -2;
			}
			nnz += json_size(j, sp);
		}
	}
	if (want_dense && dim == 0) {
		*errstr = fail("response has empty embeddings");
		return -2;
	}
	reserve_result(r, n, want_dense ? dim : 0, nnz);
	r->dim = want_dense ? dim : 0;
	memset(r->seen, 0, n);

	/* Second pass: the values, each text at its own text_index. */
	if (want_sparse) {
		/* Offsets need the sizes in text order. */
		for (i = 0; i <= n; i++)
			r->sp_off[i] = 0;
		for (e = json_first(j, list); e != -1;
		    e = json_next(j, list, e)) {
			json_integer(j, json_get(j, e, ikey), &ti);
			r->sp_off[ti + 1] = json_size(j,
			    json_get(j, e, "sparse_embedding"));
		}
		for (i = 0; i < n; i++)
			r->sp_off[i + 1] += r->sp_off[i];
	}
	for (e = json_first(j, list); e != -1; e = json_next(j, list, e)) {
		json_integer(j, json_get(j, e, ikey), &ti);
		if (r->seen[ti]) {
			*errstr = fail("response has text %lld twice", ti);
			return -2;
		}
		r->seen[ti] = 1;
		if (want_dense && json_floats(j, json_get(j, e, "embedding"),
		    r->dense + (size_t)ti * dim, dim) != (long)dim) {
			*errstr = fail("response has a malformed embedding "
			    "for text %lld", ti);
			return -2;
		}
		if (want_sparse) {
			size_t	 k = r->sp_off[ti];
			int	 pair;

			sp = json_get(j, e, "sparse_embedding");
			for (pair = json_first(j, sp); pair != -1;
			    pair = json_next(j, sp, pair), k++) {
				long long	ix;
				double		val;

				if (json_integer(j, json_get(j, pair, "index"),
				    &ix) == -1 || ix < 0 || ix > UINT32_MAX ||
				    json_number(j, json_get(j, pair, "value"),
				    &val) == -1 || !isfinite((float)val)) {
					*errstr = fail("response has a "
					    "malformed sparse entry for text "
					    "%lld", ti);
					return -2;
				}
				r->idx[k] = (uint32_t)ix;
				r->val[k] = (float)val;
			}
			if (sort_pairs(r->idx + r->sp_off[ti],
			    r->val + r->sp_off[ti],
			    r->sp_off[ti + 1] - r->sp_off[ti]) == -1) {
				*errstr = fail("response repeats a sparse "
				    "index for text %lld", ti);
				return -2;
			}
		}
	}
	return 0;
}

void
dashscope_result_free(struct dashscope_result *r)
{
	free(r->dense);
	free(r->idx);
	free(r->val);
	free(r->sp_off);
	free(r->seen);
	free(r->request_id);
	memset(r, 0, sizeof(*r));
}

/* The first line of a non-JSON body, at most 200 bytes, printable. */
static char *
first_line(const char *body, size_t len)
{
	size_t	 i, k = 0;
	char	*s = xmalloc(len < 200 ? len + 1 : 201);

	for (i = 0; i < len && k < 200; i++) {
		unsigned char c = (unsigned char)body[i];

		if (c == '\n' || c == '\r') {
			if (k > 0)
				break;
			continue;
		}
		s[k++] = c < 0x20 ? ' ' : (char)c;
	}
	s[k] = '\0';
	return s;
}

void
dashscope_error(struct json *j, const char *body, size_t len, char **code,
    char **message, char **request_id)
{
	const char	*jerr;
	int		 e, t, obj;

	*code = *message = *request_id = NULL;
	if (json_parse(j, body, len, &jerr) == -1 ||
	    json_type(j, 0) != JSON_OBJECT) {
		*code = xstrdup("");
		*message = first_line(body, len);
		*request_id = xstrdup("");
		return;
	}
	obj = 0;
	if ((e = json_get(j, 0, "error")) != -1 &&
	    json_type(j, e) == JSON_OBJECT)
		obj = e;
	t = json_get(j, obj, "code");
	if (json_type(j, t) == JSON_STRING || json_type(j, t) == JSON_NUMBER)
		*code = json_strdup(j, t);
	else if ((t = json_get(j, obj, "type")) != -1 &&
	    json_type(j, t) == JSON_STRING)
		*code = json_strdup(j, t);
	if ((t = json_get(j, obj, "message")) != -1 &&
	    json_type(j, t) == JSON_STRING)
		*message = json_strdup(j, t);
	else if (json_type(j, e) == JSON_STRING)
		*message = json_strdup(j, e);
	if ((t = json_get(j, 0, "request_id")) != -1 ||
	    (t = json_get(j, 0, "id")) != -1)
		*request_id = json_strdup(j, t);
	if (*code == NULL)
		*code = xstrdup("");
	if (*message == NULL)
		*message = first_line(body, len);
	if (*request_id == NULL)
		*request_id = xstrdup("");
}

int
dashscope_retryable(long status)
{
	switch (status) {
	case 408:
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return 1;
	default:
		return 0;
	}
}
