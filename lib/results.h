/*
 * results: the result lines ds-knn writes and reads back for --merge and
 * --fuse: query_id TAB rank TAB id TAB score [TAB payload...], fields
 * escaped as in the TSV stream (\t \n \r \\).  Also a string table, for
 * grouping lines by query and by id.
 */
#ifndef DS_RESULTS_H
#define DS_RESULTS_H

#include <stddef.h>
#include <stdio.h>

/* One parsed line; the strings point into the line given to parse. */
struct result {
	char	*qid;		/* escaped, as written */
	size_t	 rank;
	char	*id;		/* escaped, as written */
	double	 score;
	char	*payload;	/* escaped fields joined by TAB, or "" */
};

/*
 * Split line (NUL-terminated, no newline) in place into r.  Returns 0, or
 * -1 with *errstr saying what is wrong (a static string).
 */
int	results_parse(char *line, struct result *r, const char **errstr);

/* Write s[0..len) to fp escaped for a TSV field; returns -1 on error. */
int	results_put_field(FILE *fp, const char *s, size_t len);

/* Append s[0..len) escaped to the growing buffer *buf (size *len, cap *cap). */
void	results_escape(char **buf, size_t *len, size_t *cap, const char *s,
	    size_t n);

/* A set of strings numbered 0, 1, ... in the order first added. */
struct strtab {
	char	**str;		/* n strings, owned */
	size_t	  n, cap;
	size_t	 *slot;		/* open addressing: string number + 1, or 0 */
	size_t	  nslots;
};

void	strtab_init(struct strtab *);
void	strtab_free(struct strtab *);
/* The number of s (copied on first sight). */
size_t	strtab_add(struct strtab *, const char *s);
/* The number of s, or (size_t)-1 if absent. */
size_t	strtab_find(const struct strtab *, const char *s);


/* Result lines read from several lists (files), for merging or fusing. */
struct results_entry {
	size_t	 query;		/* number in results_set.queries */
	size_t	 list;		/* which list, from 0 */
	size_t	 rank;
	double	 score;
	double	 fused;
	char	*id, *score_text, *payload;	/* owned, escaped */
};

struct results_set {
	struct strtab		 queries;	/* query ids, first seen first */
	struct results_entry	*e;
	size_t			 n, cap;
	size_t			 nlists;
};

enum results_fusion {
	FUSE_RRF,	/* sum of weight / (60 + rank) */
	FUSE_SUM	/* sum of weight * score scaled to [0, 1] per list */
};

/* The constant of reciprocal-rank fusion (Cormack et al., SIGIR 2009). */
#define RESULTS_RRF_K	60

void	results_set_init(struct results_set *);
void	results_set_free(struct results_set *);
/*
 * Read every line of fp as the next list.  Returns 0, or -1 with *errstr
 * ("NAME:LINE: what is wrong", valid until the next call) and *status
 * (65 malformed line, 74 read error).
 */
int	results_read(struct results_set *, FILE *fp, const char *name,
	    const char **errstr, int *status);
/*
 * Write the best k lines of each query over all lists, ranks renumbered:
 * highest score first (lowest if ascending), ties to the earlier list and
 * then the better rank, so shards given in index order reproduce the
 * single run.  Returns -1 on a write error.
 */
int	results_merge(struct results_set *, size_t k, int ascending, FILE *);
/*
 * Fuse the lists: each id of a query gets the sum over the lists that
 * hold it of weight[list] times its rank or score term (see enum
 * results_fusion; ascending says that smaller scores are better), and
 * the best k are written with the fused score and the payload of the
 * first list holding the id.  weight may be NULL (all 1).  Returns -1 on
 * a write error.
 */
int	results_fuse(struct results_set *, enum results_fusion,
	    const double *weight, size_t k, int ascending, FILE *);

#endif
