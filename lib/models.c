/* models: the table of embedding models and their providers. */
#include <stdio.h>
#include <string.h>

#include "glove.h"
#include "models.h"

/*
 * The DashScope rows: limits from the Model Studio pages (synchronous API
 * and model list); prices are the international list price in USD per
 * million input tokens.  v1 and v2 are Beijing-only and fixed at 1536
 * dimensions.  Their vectors are checked for unit length as they come
 * (norm=l2 is claimed only then), so no row claims it.
 */
static const struct model	table[] = {
	/* name, service, provider, dim, dims, batch, max_tokens, norm,
	   sparse, instruct, usd_per_mtok, file */
	{ "glove-100d", MODELS_LOCAL, &glove_provider, 100, { 100, 0 }, 256,
	    0, "l2", 0, 0, 0, "glove-100d.bin" },
	{ "text-embedding-v4", MODELS_DASHSCOPE, NULL, 1024,
	    { 2048, 1536, 1024, 768, 512, 256, 128, 64, 0 }, 10, 8192, NULL,
	    1, 1, 0.07, NULL },
	{ "text-embedding-v3", MODELS_DASHSCOPE, NULL, 1024,
	    { 1024, 768, 512, 256, 128, 64, 0 }, 10, 8192, NULL, 1, 0, 0.07,
	    NULL },
	{ "text-embedding-v2", MODELS_DASHSCOPE, NULL, 1536, { 1536, 0 }, 25,
	    2048, NULL, 0, 0, 0, NULL },
	{ "text-embedding-v1", MODELS_DASHSCOPE, NULL, 1536, { 1536, 0 }, 25,
	    2048, NULL, 0, 0, 0, NULL },
};

const struct model *
models_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

const struct model *
models_all(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

int
models_dim_ok(const struct model *m, size_t dim)
{
	size_t	i;

	for (i = 0; m->dims[i] != 0; i++)
		if (m->dims[i] == dim)
			return 1;
	return 0;
}

const char *
models_dims_text(const struct model *m)
{
	static char	buf[256];
	size_t		i, len = 0;
	int		n;

	buf[0] = '\0';
	for (i = 0; m->dims[i] != 0 && len < sizeof(buf); i++) {
		n = snprintf(buf + len, sizeof(buf) - len, "%s%zu",
		    i > 0 ? ", " : "", m->dims[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
	return buf;
}
