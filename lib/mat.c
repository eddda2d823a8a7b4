/* mat: dense float32 arithmetic over CBLAS (OpenBLAS). */
/* madvise(2) and MADV_HUGEPAGE are not in POSIX. */
#define _DEFAULT_SOURCE
#include <sys/mman.h>

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "mat.h"
#include "util.h"

float *
mat_alloc(size_t rows, size_t cols)
{
	void	*p;
	size_t	 bytes;

	if (cols != 0 && rows > SIZE_MAX / sizeof(float) / cols)
		return xreallocarray(NULL, rows, cols * sizeof(float));
	bytes = rows * cols * sizeof(float);
	if (bytes < MAT_HUGE_PAGE)
		return xreallocarray(NULL, rows ? rows : 1, (cols ? cols : 1) *
		    sizeof(float));
	/* Round up, so that the last huge page is whole. */
	bytes = (bytes + MAT_HUGE_PAGE - 1) / MAT_HUGE_PAGE * MAT_HUGE_PAGE;
	if (posix_memalign(&p, MAT_HUGE_PAGE, bytes) != 0)
		return xreallocarray(NULL, rows, cols * sizeof(float));
#ifdef MADV_HUGEPAGE
	madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

/* Write one byte in each page of [p, end), so that it is backed. */
struct touch {
	char	*p, *end;
};

static void *
touch_pages(void *arg)
{
	struct touch	*t = arg;
	volatile char	*q;

	for (q = t->p; q < (volatile char *)t->end; q += 4096)
		*q = 0;
	return NULL;
}

void
mat_prefault(float *a, size_t rows, size_t cols)
{
	struct touch	 half[2];
	pthread_t	 th;
	char		*p = (char *)a;
	size_t		 bytes = rows * cols * sizeof(float), mid;

	mid = bytes / 2 / MAT_HUGE_PAGE * MAT_HUGE_PAGE;
	half[0].p = p;
	half[0].end = p + mid;
	half[1].p = p + mid;
	half[1].end = p + bytes;
	if (mid == 0 || pthread_create(&th, NULL, touch_pages, &half[1]) != 0) {
		half[0].end = p + bytes;
		touch_pages(&half[0]);
		return;
	}
	touch_pages(&half[0]);
	pthread_join(th, NULL);
}

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
	size_t	 i;

	for (i = 0; i < m; i++)
		out[i] = (float)sum_squares(a + i * k, k);
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

/*
 * OpenBLAS's own (pthreads builds): ends its thread pool, which it
 * starts anew when a call needs it.  Weak, so that a BLAS without it
 * links and runs without the call.
 */
extern int	blas_thread_shutdown_(void) __attribute__((weak));

void
mat_single_threaded(void)
{
	openblas_set_num_threads(1);
	if (blas_thread_shutdown_ != NULL)
		blas_thread_shutdown_();
}

#include <string.h>

void
mat_syrk_ata(const float *a, size_t m, size_t k, float alpha, float beta,
    float *c)
{
	if (k == 0)
		return;
	cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)m,
	    alpha, a, (int)k, beta, c, (int)k);
}

/*
 * LAPACK's ssyevr (relatively robust representations), called through
 * its Fortran interface: Debian's OpenBLAS carries LAPACK but not
 * LAPACKE.  The trailing lengths are those of the three string arguments.
 */
void	ssyevr_(const char *jobz, const char *range, const char *uplo,
	    const int *n, float *a, const int *lda, const float *vl,
	    const float *vu, const int *il, const int *iu, const float *abstol,
	    int *m, float *w, float *z, const int *ldz, int *isuppz,
	    float *work, const int *lwork, int *iwork, const int *liwork,
	    int *info, size_t, size_t, size_t);

int
mat_sym_eig_top(float *a, size_t n, size_t neig, float *w, float *v)
{
	int	 in, il, iu, m, info, lwork, liwork, iwq, *isuppz, *iwork;
	float	 vl, vu, abstol, wq, *work, *wall, *z;
	size_t	 j;

	if (neig == 0 || neig > n)
		return -1;
	in = (int)n;
	il = (int)(n - neig + 1);
	iu = (int)n;
	vl = vu = 0;
	abstol = 0;
	/*
	 * The upper triangle of a row-major matrix is the lower triangle of
	 * the same memory read column-major, as Fortran reads it.
	 */
	lwork = liwork = -1;
	ssyevr_("V", "I", "L", &in, a, &in, &vl, &vu, &il, &iu, &abstol, &m,
	    NULL, NULL, &in, NULL, &wq, &lwork, &iwq, &liwork, &info,
	    1, 1, 1);
	if (info != 0)
		return -1;
	lwork = (int)wq;
	liwork = iwq;
	work = malloc((size_t)lwork * sizeof(float));
	iwork = malloc((size_t)liwork * sizeof(int));
	isuppz = malloc(2 * n * sizeof(int));
	wall = malloc(n * sizeof(float));
	z = malloc(n * neig * sizeof(float));
	if (work == NULL || iwork == NULL || isuppz == NULL || wall == NULL ||
	    z == NULL)
		info = -1;
	else
		ssyevr_("V", "I", "L", &in, a, &in, &vl, &vu, &il, &iu,
		    &abstol, &m, wall, z, &in, isuppz, work, &lwork, iwork,
		    &liwork, &info, 1, 1, 1);
	if (info == 0 && m == (int)neig) {
		/* Ascending from LAPACK; column j of z is row j here. */
		for (j = 0; j < neig; j++) {
			w[j] = wall[neig - 1 - j];
			memcpy(v + j * n, z + (neig - 1 - j) * n,
			    n * sizeof(float));
		}
	} else
		info = -1;
	free(work);
	free(iwork);
	free(isuppz);
	free(wall);
	free(z);
	return info == 0 ? 0 : -1;
}
