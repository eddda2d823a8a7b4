/*
 * pca: principal component analysis of a dense float32 matrix, for
 * pictures: the covariance is one BLAS rank-k update and its leading
 * eigenvectors come from LAPACK (both through lib/mat).
 */
#ifndef DS_PCA_H
#define DS_PCA_H

#include <stddef.h>

struct pca {
	size_t	 dim, ncomp;
	float	*mean;		/* dim */
	float	*comp;		/* ncomp x dim: unit principal axes */
	float	*var;		/* ncomp: variance along each axis */
};

/*
 * Fit ncomp (1 <= ncomp <= dim) components to the n rows of x (n x dim,
 * borrowed).  Each axis's sign is chosen so that its largest coordinate
 * is positive, so the result depends on the data alone.  Returns 0, or
 * -1 with *errstr (no rows, or LAPACK failed).
 */
int	pca_fit(struct pca *, const float *x, size_t n, size_t dim,
	    size_t ncomp, const char **errstr);

/* out (n x ncomp) = the coordinates of the n rows of x on the axes. */
void	pca_project(const struct pca *, const float *x, size_t n, float *out);

void	pca_free(struct pca *);

#endif
