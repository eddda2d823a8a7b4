/* pca: the leading principal axes of a matrix, through lib/mat. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"
#include "pca.h"
#include "util.h"

/* Rows per rank-k update: bounds the centred copy to a few MiB. */
#define PCA_BLOCK 4096

int
pca_fit(struct pca *p, const float *x, size_t n, size_t dim, size_t ncomp,
    const char **errstr)
{
	double	*sum;
	float	*cov, *blk;
	size_t	 i, j, r, b0, b1, big;

	memset(p, 0, sizeof(*p));
	if (n == 0 || dim == 0 || ncomp == 0 || ncomp > dim) {
		*errstr = "nothing to project";
		return -1;
	}
	p->dim = dim;
	p->ncomp = ncomp;
	p->mean = xreallocarray(NULL, dim, sizeof(float));
	p->comp = xreallocarray(NULL, ncomp, dim * sizeof(float));
	p->var = xreallocarray(NULL, ncomp, sizeof(float));
	sum = xcalloc(dim, sizeof(double));
	for (i = 0; i < n; i++)
		for (r = 0; r < dim; r++)
			sum[r] += x[i * dim + r];
	for (r = 0; r < dim; r++)
		p->mean[r] = (float)(sum[r] / (double)n);
	free(sum);

	/* Centre block by block: x^T x of centred rows, then / n. */
	cov = xcalloc(dim * dim, sizeof(float));
	blk = xreallocarray(NULL, n < PCA_BLOCK ? n : PCA_BLOCK,
	    dim * sizeof(float));
	for (b0 = 0; b0 < n; b0 = b1) {
		b1 = b0 + PCA_BLOCK < n ? b0 + PCA_BLOCK : n;
		for (i = b0; i < b1; i++)
			for (r = 0; r < dim; r++)
				blk[(i - b0) * dim + r] = x[i * dim + r] -
				    p->mean[r];
		mat_syrk_ata(blk, b1 - b0, dim, 1.0f / (float)n, 1, cov);
	}
	free(blk);
	if (mat_sym_eig_top(cov, dim, ncomp, p->var, p->comp) == -1) {
		free(cov);
		pca_free(p);
		*errstr = "the eigenvalue solver did not converge";
		return -1;
	}
	free(cov);
	for (j = 0; j < ncomp; j++) {
		float	*v = p->comp + j * dim;

		big = 0;
		for (r = 1; r < dim; r++)
			if (fabsf(v[r]) > fabsf(v[big]))
				big = r;
		if (v[big] < 0)
			for (r = 0; r < dim; r++)
				v[r] = -v[r];
	}
	return 0;
}

void
pca_project(const struct pca *p, const float *x, size_t n, float *out)
{
	float	*shift;
	size_t	 i, j;

	/* (x - mean) . v = x . v - mean . v: one GEMM, then a shift. */
	shift = xreallocarray(NULL, p->ncomp, sizeof(float));
	for (j = 0; j < p->ncomp; j++)
		shift[j] = mat_dot(p->mean, p->comp + j * p->dim, p->dim);
	mat_gemm_abt(x, n, p->comp, p->ncomp, p->dim, 1, 0, out, p->ncomp);
	for (i = 0; i < n; i++)
		for (j = 0; j < p->ncomp; j++)
			out[i * p->ncomp + j] -= shift[j];
	free(shift);
}

void
pca_free(struct pca *p)
{
	free(p->mean);
	free(p->comp);
	free(p->var);
	memset(p, 0, sizeof(*p));
}
