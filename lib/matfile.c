/*
 * matfile: .npy and .fvecs matrices.
 * .npy: "\x93NUMPY", version, header length, a Python dict literal with
 * descr, fortran_order and shape, then the data (NumPy's format.py spec).
 * .fvecs: each row is an int32 dimension followed by that many float32.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "matfile.h"
#include "util.h"

struct matfile {
	FILE		*fp;
	char		*name;
	enum matfile_format fmt;
	int		 f64;		/* .npy data are float64 */
	size_t		 rows, cols;	/* .npy shape */
	size_t		 row;		/* rows read */
	float		*buf;
	size_t		 cap;
	unsigned char	*raw;
	size_t		 rawcap;
};

static char	 errbuf[512];

static const float *
fail(struct matfile *m, int *status, int code, const char *what)
{
	if (code == EX_IOERR)
		snprintf(errbuf, sizeof(errbuf), "%s: %s", m->name,
		    strerror(errno));
	else
		snprintf(errbuf, sizeof(errbuf), "%s: %s", m->name, what);
	*status = code;
	return NULL;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The value text after 'key': in a .npy header dict, or NULL. */
static const char *
dict_value(const char *dict, const char *key)
{
	const char	*p;

	if ((p = strstr(dict, key)) == NULL)
		return NULL;
	p += strlen(key);
	while (*p == ' ' || *p == '\'' || *p == '"')
		p++;
	if (*p++ != ':')
		return NULL;
	while (*p == ' ')
		p++;
	return p;
}

static int
npy_header(struct matfile *m, const char **why)
{
	unsigned char	 pre[12];
	char		*dict;
	const char	*v;
	size_t		 hlen;
	char		*end;
	unsigned long long a, b;

	*why = "not a .npy file (bad magic)";
	if (fread(pre, 1, 10, m->fp) != 10 || memcmp(pre, "\x93NUMPY", 6))
		return -1;
	if (pre[6] == 1)
		hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
	else if (pre[6] == 2 || pre[6] == 3) {
		if (fread(pre + 10, 1, 2, m->fp) != 2)
			return -1;
		hlen = le32(pre + 8);
	} else {
		*why = "unsupported .npy version";
		return -1;
	}
	*why = "truncated .npy header";
	if (hlen > 1 << 20)
		return -1;
	dict = xmalloc(hlen + 1);
	if (fread(dict, 1, hlen, m->fp) != hlen) {
		free(dict);
		return -1;
	}
	dict[hlen] = '\0';
	*why = "the .npy data must be '<f4' or '<f8'";
	if ((v = dict_value(dict, "descr")) == NULL)
		goto bad;
	if (strncmp(v, "'<f4'", 5) == 0)
		m->f64 = 0;
	else if (strncmp(v, "'<f8'", 5) == 0)
		m->f64 = 1;
	else
		goto bad;
	*why = "a .npy matrix in Fortran order is not supported";
	if ((v = dict_value(dict, "fortran_order")) == NULL ||
	    strncmp(v, "False", 5) != 0)
		goto bad;
	*why = "the .npy shape must be two-dimensional (rows, columns)";
	if ((v = dict_value(dict, "shape")) == NULL || *v++ != '(')
		goto bad;
	errno = 0;
	a = strtoull(v, &end, 10);
	if (end == v || *end != ',' || errno != 0)
		goto bad;
	v = end + 1;
	b = strtoull(v, &end, 10);
	while (*end == ' ' || *end == ',')
		end++;
	if (end == v || *end != ')' || errno != 0 || b == 0 ||
	    b > INT32_MAX || a > SIZE_MAX / b)
		goto bad;
	m->rows = (size_t)a;
	m->cols = (size_t)b;
	free(dict);
	return 0;
bad:
	free(dict);
	return -1;
}

struct matfile *
matfile_open(const char *path, enum matfile_format fmt, const char **errstr,
    int *status)
{
	struct matfile	*m;
	const char	*why;

	m = xcalloc(1, sizeof(*m));
	m->fmt = fmt;
	if (strcmp(path, "-") == 0) {
		m->fp = stdin;
		m->name = xstrdup("stdin");
	} else {
		m->name = xstrdup(path);
		if ((m->fp = fopen(path, "rb")) == NULL) {
			snprintf(errbuf, sizeof(errbuf), "%s: %s", path,
			    strerror(errno));
			*errstr = errbuf;
			*status = EX_NOINPUT;
			matfile_close(m);
			return NULL;
		}
	}
	if (fmt == MATFILE_NPY && npy_header(m, &why) == -1) {
		fail(m, status, ferror(m->fp) ? EX_IOERR : EX_DATAERR, why);
		*errstr = errbuf;
		matfile_close(m);
		return NULL;
	}
	return m;
}

/* Read n bytes of row data into m->raw. */
static int
read_raw(struct matfile *m, size_t n)
{
	if (n > m->rawcap) {
		m->raw = xreallocarray(m->raw, n, 1);
		m->rawcap = n;
	}
	return fread(m->raw, 1, n, m->fp) == n ? 0 : -1;
}

const float *
matfile_read(struct matfile *m, size_t *dim, const char **errstr,
    int *status)
{
	unsigned char	 d[4];
	size_t		 i, n, got;
	uint32_t	 u;
	uint64_t	 q;
	double		 x;

	*errstr = errbuf;
	*status = 0;
	if (m->fmt == MATFILE_NPY) {
		if (m->row == m->rows)
			return NULL;
		n = m->cols;
		if (read_raw(m, n * (m->f64 ? 8 : 4)) == -1)
			return fail(m, status, ferror(m->fp) ? EX_IOERR :
			    EX_DATAERR, "truncated .npy data");
	} else {
		if ((got = fread(d, 1, 4, m->fp)) == 0)
			return ferror(m->fp) ? fail(m, status, EX_IOERR, "") :
			    NULL;
		u = le32(d);
		if (got != 4 || u == 0 || u > INT32_MAX)
			return fail(m, status, EX_DATAERR, got != 4 ?
			    "truncated .fvecs row" :
			    "bad .fvecs row dimension");
		n = u;
		if (read_raw(m, 4 * n) == -1)
			return fail(m, status, ferror(m->fp) ? EX_IOERR :
			    EX_DATAERR, "truncated .fvecs row");
	}
	if (n > m->cap) {
		m->buf = xreallocarray(m->buf, n, sizeof(float));
		m->cap = n;
	}
	for (i = 0; i < n; i++) {
		if (m->fmt == MATFILE_NPY && m->f64) {
			q = le64(m->raw + 8 * i);
			memcpy(&x, &q, 8);
			m->buf[i] = (float)x;
		} else {
			u = le32(m->raw + 4 * i);
			memcpy(&m->buf[i], &u, 4);
		}
	}
	m->row++;
	*dim = n;
	return m->buf;
}

void
matfile_close(struct matfile *m)
{
	if (m == NULL)
		return;
	if (m->fp != NULL && m->fp != stdin)
		fclose(m->fp);
	free(m->name);
	free(m->buf);
	free(m->raw);
	free(m);
}

struct matfile_writer {
	FILE		*fp;
	enum matfile_format fmt;
	float		*data;		/* .npy: all rows */
	size_t		 rows, dim, cap;
};

struct matfile_writer *
matfile_writer_open(FILE *fp, enum matfile_format fmt)
{
	struct matfile_writer *w;

	w = xcalloc(1, sizeof(*w));
	w->fp = fp;
	w->fmt = fmt;
	return w;
}

/* Write n floats little-endian. */
static int
put_floats(FILE *fp, const float *v, size_t n)
{
	unsigned char	 b[4];
	uint32_t	 u;
	size_t		 i;
	const uint16_t	 one = 1;

	if (*(const unsigned char *)&one == 1)
		return fwrite(v, sizeof(float), n, fp) == n ? 0 : -1;
	for (i = 0; i < n; i++) {
		memcpy(&u, &v[i], 4);
		b[0] = (unsigned char)u;
		b[1] = (unsigned char)(u >> 8);
		b[2] = (unsigned char)(u >> 16);
		b[3] = (unsigned char)(u >> 24);
		if (fwrite(b, 1, 4, fp) != 4)
			return -1;
	}
	return 0;
}

int
matfile_write(struct matfile_writer *w, const float *row, size_t dim)
{
	unsigned char	 d[4];
	uint32_t	 u = (uint32_t)dim;

	if (w->fmt == MATFILE_FVECS) {
		d[0] = (unsigned char)u;
		d[1] = (unsigned char)(u >> 8);
		d[2] = (unsigned char)(u >> 16);
		d[3] = (unsigned char)(u >> 24);
		if (fwrite(d, 1, 4, w->fp) != 4)
			return -1;
		return put_floats(w->fp, row, dim);
	}
	if (w->rows == 0)
		w->dim = dim;
	if (w->rows == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 1024;
		w->data = xreallocarray(w->data, w->cap, dim * sizeof(float));
	}
	memcpy(w->data + w->rows * dim, row, dim * sizeof(float));
	w->rows++;
	return 0;
}

int
matfile_writer_close(struct matfile_writer *w)
{
	char	 dict[128];
	size_t	 n;
	int	 rc = 0;
	unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0 };

	if (w->fmt == MATFILE_NPY) {
		n = (size_t)snprintf(dict, sizeof(dict), "{'descr': '<f4', "
		    "'fortran_order': False, 'shape': (%zu, %zu), }",
		    w->rows, w->dim);
		/* Pad with spaces and a newline to a multiple of 64 bytes. */
		while ((10 + n + 1) % 64 != 0)
			dict[n++] = ' ';
		dict[n++] = '\n';
		pre[8] = (unsigned char)n;
		pre[9] = (unsigned char)(n >> 8);
		if (fwrite(pre, 1, 10, w->fp) != 10 ||
		    fwrite(dict, 1, n, w->fp) != n ||
		    put_floats(w->fp, w->data, w->rows * w->dim) == -1)
			rc = -1;
	}
	free(w->data);
	free(w);
	return rc;
}
