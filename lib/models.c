/* models: the table of embedding models and their providers. */
#include <stdio.h>
#include <string.h>

#include "glove.h"
#include "models.h"

static const size_t	glove_dims[] = { 100, 0 };

static const struct model	table[] = {
	{ "glove-100d", &glove_provider, 100, glove_dims, 256, 0, "l2",
	    "glove-100d.bin" },
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
