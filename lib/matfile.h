/* matfile: dense float32 matrices in the files other tools use: NumPy's
 * .npy (2-D, C order) and the .fvecs rows of the ANN benchmarks. */
#ifndef DS_MATFILE_H
#define DS_MATFILE_H

#include <stddef.h>
#include <stdio.h>

enum matfile_format {
	MATFILE_NPY,
	MATFILE_FVECS
};

struct matfile;

/*
 * Open path ("-": standard input) as a matrix file of the given format
 * and read its header.  Returns NULL with *errstr ("FILE: what is wrong",
 * a static buffer) and *status (66 cannot open, 65 malformed, 74 I/O).
 */
struct matfile	*matfile_open(const char *path, enum matfile_format,
		    const char **errstr, int *status);
/*
 * The next row: a pointer to its floats, valid until the next call, and
 * its length in *dim.  NULL at the end with *status 0, or on error with
 * *errstr and *status as above.
 */
const float	*matfile_read(struct matfile *, size_t *dim,
		    const char **errstr, int *status);
void		 matfile_close(struct matfile *);

struct matfile_writer;

/* Start writing a matrix to fp (which stays open). */
struct matfile_writer *matfile_writer_open(FILE *fp, enum matfile_format);
/*
 * Add a row of dim floats (copied).  Every row must have the same dim.
 * .npy rows are kept until close, since the header gives the row count.
 * Returns 0, or -1 on a write error.
 */
int		 matfile_write(struct matfile_writer *, const float *row,
		    size_t dim);
/* Finish the file and free the writer.  Returns 0, or -1 on error. */
int		 matfile_writer_close(struct matfile_writer *);

#endif
