/*
 * cluster_eval: how good a clustering is, and what its clusters are
 * about: agreement with known classes (purity, NMI, ARI), the silhouette,
 * and each cluster's most distinctive words (class-based TF-IDF).
 */
#ifndef DS_CLUSTER_EVAL_H
#define DS_CLUSTER_EVAL_H

#include <stddef.h>
#include <stdint.h>

struct cluster_scores {
	double	 purity;	/* share of rows in their cluster's top class */
	double	 nmi;		/* mutual information / mean of entropies */
	double	 ari;		/* Hubert and Arabie's adjusted Rand index */
};

/*
 * Compare the clusters assign (n values < k) with the classes label (n
 * values < nlabel).  NMI uses the arithmetic mean of the two entropies
 * (scikit-learn's default) and is 1 when both have one group.
 */
void	cluster_eval_external(const uint32_t *label, size_t nlabel,
	    const uint32_t *assign, size_t k, size_t n,
	    struct cluster_scores *);

/*
 * The mean silhouette (Rousseeuw, 1987) of m rows evenly spaced through
 * x (n x dim, m = min(n, sample)), measured against those m rows only:
 * Euclidean distance, or 1 - dot under cosine (rows of unit length).  A
 * row alone in its cluster scores 0.  Returns 0 and *out, or -1 with
 * *errstr when fewer than two clusters appear among the rows.
 */
int	cluster_eval_silhouette(const float *x, size_t n, size_t dim,
	    const uint32_t *assign, int cosine, size_t sample, double *out,
	    const char **errstr);

/*
 * Words that set each cluster apart: for word w and cluster c, the
 * weight is tf(w, c) / words(c) * log(1 + A / tf(w)), where A is the mean
 * word count per cluster (BERTopic's class-based TF-IDF).  Words are
 * runs of letters and digits (bytes >= 0x80 count as letters), ASCII
 * lowercased, at least 3 bytes long, not all digits, and not common
 * English function words.  Returns a k x nterm array of words (NULL past
 * a cluster's last word), freed with cluster_eval_terms_free.
 */
char	**cluster_eval_terms(const char *const *texts, const uint32_t *assign,
	    size_t n, size_t k, size_t nterm);
void	cluster_eval_terms_free(char **, size_t k, size_t nterm);

#endif
