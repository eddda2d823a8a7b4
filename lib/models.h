/*
 * models: the embedding models ds-embed knows, in one table: where each
 * is computed (here, by a provider, or by a service), its dimensions,
 * its limits and its price.  Services change their limits often: keep
 * them here and nowhere else.  A provider is three calls (open, embed a
 * batch, close); adding a model is adding a row, adding a service is
 * adding a provider.
 */
#ifndef DS_MODELS_H
#define DS_MODELS_H

#include <stddef.h>

/* The model used when none is named, with and without an API key. */
#define MODELS_REMOTE_DEFAULT	"text-embedding-v4"
#define MODELS_LOCAL_DEFAULT	"glove-100d"

struct model;

/* What the caller asks of every text of a run. */
struct embed_opts {
	size_t		 dim;		/* checked with models_dim_ok */
	const char	*text_type;	/* "query", "document" or NULL */
};

/*
 * A batch of texts and the room for their vectors.  The caller fills
 * n, text and len (borrowed); the provider writes n * dim floats into
 * vec and sets empty[i] to 1 where text i gave nothing to embed (its
 * vector is then all zeros), else 0.
 */
struct embed_batch {
	size_t		 n;
	const char	**text;
	const size_t	*len;
	float		*vec;
	unsigned char	*empty;
};

struct provider {
	const char	*name;
	/*
	 * Get ready to embed with model m (load it, or check the service
	 * settings).  Returns the provider's state, or NULL with *errstr
	 * (a static buffer) and *status (a sysexits code).
	 */
	void	*(*open)(const struct model *m, const struct embed_opts *,
		    const char **errstr, int *status);
	/* Embed a batch.  Returns 0, or -1 with *errstr and *status. */
	int	 (*embed)(void *, struct embed_batch *, const char **errstr,
		    int *status);
	void	 (*close)(void *);
};

/* Where a model's vectors are computed. */
enum models_service {
	MODELS_LOCAL,		/* here, by its provider */
	MODELS_DASHSCOPE	/* by DashScope's text-embedding API */
};

#define MODELS_MAX_DIMS	8

struct model {
	const char		*name;
	enum models_service	 service;
	const struct provider	*provider;	/* MODELS_LOCAL only */
	size_t			 dim;		/* the default dimension */
	size_t			 dims[MODELS_MAX_DIMS + 1]; /* 0-ended */
	size_t			 batch;		/* most texts per call */
	size_t			 max_tokens;	/* per text; 0: no limit */
	const char		*norm;		/* "l2" when always unit */
	int			 sparse;	/* has sparse vectors */
	int			 instruct;	/* takes an instruction */
	double			 usd_per_mtok;	/* list price; 0: free or
						   not known */
	const char		*file;		/* data file, or NULL */
};

/* The row named name, or NULL. */
const struct model	*models_find(const char *name);
/* The whole table: *n rows. */
const struct model	*models_all(size_t *n);
/* 1 if m offers dimension dim. */
int			 models_dim_ok(const struct model *m, size_t dim);
/* m's dimensions as "64, 128, 256" (a static buffer). */
const char		*models_dims_text(const struct model *m);

#endif
