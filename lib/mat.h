/* mat: dense float32 matrix arithmetic; the one module that uses BLAS.
 * Matrices are row-major blocks: row i of an m x k matrix starts at i*k. */
#ifndef DS_MAT_H
#define DS_MAT_H

#include <stddef.h>

/*
 * c = alpha * a * b^T + beta * c, where a is m x k, b is n x k and c is
 * m x n with row stride ldc (>= n).  All pointers borrowed.
 */
void	mat_gemm_abt(const float *a, size_t m, const float *b, size_t n,
	    size_t k, float alpha, float beta, float *c, size_t ldc);

/*
 * Room for rows x cols floats, freed with free(3); exits on failure, like
 * xmalloc.  A large block is aligned to 2 MiB and the kernel asked to back
 * it with huge pages where it can: on some virtual machines the first
 * touch of each fresh page is dear, and one huge page is touched once
 * for 512 small ones.  Pages never written cost no memory.
 */
float	*mat_alloc(size_t rows, size_t cols);

/* The size of a huge page, which mat_alloc aligns large blocks to. */
#define MAT_HUGE_PAGE	((size_t)2 << 20)

/*
 * Back the rows x cols floats at a (from mat_alloc) now, two threads
 * touching a half each: on such virtual machines the first touch costs
 * about half as much done in parallel as done by the one thread that
 * then fills the matrix.  For a block about to be filled whole.
 */
void	mat_prefault(float *a, size_t rows, size_t cols);

/* out[i] = squared L2 norm of row i of a (m x k), summed in double. */
void	mat_row_norms2(const float *a, size_t m, size_t k, float *out);

/* Dot product of two k-vectors. */
float	mat_dot(const float *x, const float *y, size_t k);

/* Use at most n threads in BLAS calls (n >= 1). */
void	mat_set_threads(int n);

/*
 * Run BLAS calls on the calling thread only, for callers that bring their
 * own threads, and stop BLAS's idle threads: OpenBLAS's spin for a tenth
 * of a second after start-up, taking a core from the caller's threads.
 * A later mat_set_threads with n > 1 starts them again.
 */
void	mat_single_threaded(void);

/*
 * c = alpha * a^T * a + beta * c, where a is m x k and c is k x k; only
 * the upper triangle of c (row-major) is written.
 */
void	mat_syrk_ata(const float *a, size_t m, size_t k, float alpha,
	    float beta, float *c);

/*
 * The neig largest eigenvalues of the symmetric n x n matrix a (upper
 * triangle read, a destroyed) into w, largest first, and their unit
 * eigenvectors into the rows of v (neig x n).  Returns 0, or -1 if LAPACK
 * failed to converge.
 */
int	mat_sym_eig_top(float *a, size_t n, size_t neig, float *w, float *v);

#endif
