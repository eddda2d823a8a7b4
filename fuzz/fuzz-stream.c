/*
 * fuzz-stream: the record stream reader (TSV and binary form) on
 * arbitrary bytes.  The first byte picks the reader options; the rest is
 * the stream, read from memory through fmemopen(3).  Every record read
 * must be consistent with its kind.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream_opts	 opts;
	struct stream		*st;
	struct record		 r;
	const char		*errstr;
	FILE			*fp;
	size_t			 i;
	int			 status, rc;

	if (size < 1)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.expect = (enum stream_kind)(data[0] & 3);
	opts.allow_nonfinite = (data[0] >> 2) & 1;
	data++;
	size--;
	/* fmemopen(3) refuses a zero size. */
	if (size == 0)
		fp = fopen("/dev/null", "r");
	else
		fp = fmemopen((void *)(uintptr_t)data, size, "r");
	if (fp == NULL)
		abort();
	if ((st = stream_fopen(fp, "fuzz", &opts, &errstr, &status)) == NULL) {
		if (errstr == NULL || (status != 65 && status != 74))
			abort();
		fclose(fp);
		return 0;
	}
	record_init(&r);
	while ((rc = stream_read(st, &r, &errstr, &status)) == 1) {
		switch (r.kind) {
		case KIND_TEXT:
			if (r.text.s == NULL || strlen(r.text.s) > r.text.len)
				abort();
			break;
		case KIND_DENSE:
			if (r.dim > 0 && r.vec == NULL)
				abort();
			break;
		case KIND_SPARSE:
			for (i = 1; i < r.nnz; i++)
				if (r.idx[i - 1] >= r.idx[i])
					abort();
			break;
		default:
			abort();
		}
		if (opts.expect != KIND_UNKNOWN && r.kind != opts.expect)
			abort();
	}
	if (rc == -1 && (errstr == NULL || (status != 65 && status != 74)))
		abort();
	(void)stream_header(st);
	record_free(&r);
	stream_close(st);
	fclose(fp);
	return 0;
}
