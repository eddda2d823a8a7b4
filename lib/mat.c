/* mat: dense float32 arithmetic over CBLAS (OpenBLAS). */
#include <cblas.h>

#include "mat.h"

void
mat_gemm_abt(const float *a, size_t m, const float *b, size_t n, size_t k,
    float alpha, float beta, float *c, size_t ldc)
{
	if (m == 0 || n == 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n,
	    (int)k, alpha, a, (int)k, b, (int)k, beta, c, (int)ldc);
}

void
mat_row_norms2(const float *a, size_t m, size_t k, float *out)
{
	size_t	 i, j;
	double	 s;

	for (i = 0; i < m; i++) {
		s = 0;
		for (j = 0; j < k; j++)
			s += (double)a[i * k + j] * a[i * k + j];
		out[i] = (float)s;
	}
}

float
mat_dot(const float *x, const float *y, size_t k)
{
	return cblas_sdot((int)k, x, 1, y, 1);
}

void
mat_set_threads(int n)
{
	openblas_set_num_threads(n);
}
