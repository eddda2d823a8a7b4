/*
 * fuzz-native: the parser of DashScope native embedding responses
 * (lib/dashscope.c over lib/json.c) on arbitrary bytes; fuzz-openai
 * includes this file to fuzz the OpenAI-compatible ones.  The first two
 * bytes pick the request the body answers (texts, dimension, output
 * type); the rest is the body, read both as a 200 answer and as an
 * error envelope.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dashscope.h"

#ifndef FUZZ_API
#define FUZZ_API	DASHSCOPE_NATIVE
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t	dims[] = { 0, 1, 2, 3, 4, 64, 1024, 2048 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dashscope_params	 p;
	struct dashscope_result	 r;
	struct json		*j;
	const char		*errstr = NULL;
	char			*code, *message, *request_id;
	size_t			 n, i, k;
	int			 rc;

	if (size < 2)
		return 0;
	memset(&p, 0, sizeof(p));
	p.api = FUZZ_API;
	p.model = "text-embedding-v4";
	p.output = (enum dashscope_output)(data[0] % 3 + 1);
	p.dimension = dims[(data[0] >> 2) & 7];
	n = data[1] % 11;
	data += 2;
	size -= 2;

	j = json_new();
	memset(&r, 0, sizeof(r));
	rc = dashscope_parse(j, &p, (const char *)data, size, n, &r, &errstr);
	if (rc == 0) {
		if (r.n != n)
			abort();
		if ((p.output & DASHSCOPE_DENSE) && n > 0 &&
		    (r.dense == NULL || r.dim == 0 ||
		    (p.dimension != 0 && r.dim != p.dimension)))
			abort();
		if (r.sp_off != NULL) {
			for (i = 0; i < n; i++) {
				if (r.sp_off[i] > r.sp_off[i + 1])
					abort();
				for (k = r.sp_off[i] + 1; k < r.sp_off[i + 1];
				    k++)
					if (r.idx[k - 1] >= r.idx[k])
						abort();
			}
		}
	} else if ((rc != -1 && rc != -2) || errstr == NULL)
		abort();
	/* The result's storage is reused: parse again into it. */
	(void)dashscope_parse(j, &p, (const char *)data, size, n, &r, &errstr);
	dashscope_result_free(&r);

	dashscope_error(j, (const char *)data, size, &code, &message,
	    &request_id);
	if (code == NULL || message == NULL || request_id == NULL)
		abort();
	free(code);
	free(message);
	free(request_id);
	json_free(j);
	return 0;
}
