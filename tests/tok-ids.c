/*
 * tok-ids: print the Qwen3 token ids of each text of a corpus file, one
 * line of space-separated ids per text, to compare with the reference.
 * A corpus file holds texts as "LENGTH\n" followed by LENGTH raw bytes
 * and "\n".  With -o, each id is followed by ":OFFSET", the byte where
 * its token starts; with -t, the tokens are printed instead of their ids,
 * separated by "|", bytes outside printable ASCII as \xHH, and each
 * added token marked with a "*".  Used by tests/tok.bats; not installed.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "datadir.h"
#include "tok.h"
#include "util.h"

static void
put_token(const struct tok *t, uint32_t id, int sep)
{
	const unsigned char	*s;
	size_t			 len, i;

	if (sep)
		putchar('|');
	if (tok_is_added(t, id))
		putchar('*');
	s = (const unsigned char *)tok_token(t, id, &len);
	for (i = 0; i < len; i++)
		if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '\\' && s[i] != '|')
			putchar(s[i]);
		else
			printf("\\x%02X", s[i]);
}

int
main(int argc, char *argv[])
{
	struct tok_ids	 out = { 0 };
	struct tok	*t;
	const char	*errstr;
	char		*path, *text = NULL, line[64];
	FILE		*fp;
	size_t		 len, i, cap = 0;
	unsigned long	 nr = 0;
	int		 ch, offsets = 0, strings = 0;

	while ((ch = getopt(argc, argv, "ot")) != -1) {
		switch (ch) {
		case 'o':
			offsets = 1;
			break;
		case 't':
			strings = 1;
			break;
		default:
			fprintf(stderr, "usage: tok-ids [-ot] corpus\n");
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		fprintf(stderr, "usage: tok-ids [-ot] corpus\n");
		return EX_USAGE;
	}
	path = datadir_path(TOK_QWEN3_FILE);
	if ((t = tok_open(path, &errstr)) == NULL)
		errx(EX_CONFIG, "%s", errstr);
	free(path);
	if (strcmp(argv[0], "-") == 0)
		fp = stdin;
	else if ((fp = fopen(argv[0], "rb")) == NULL)
		err(EX_NOINPUT, "%s", argv[0]);
	out.want_offs = offsets;
	while (fgets(line, sizeof(line), fp) != NULL) {
		nr++;
		len = (size_t)num_parse(strtok(line, "\n"), 0, 1 << 30, &errstr);
		if (errstr != NULL)
			errx(EX_DATAERR, "%s: text %lu: length %s", argv[0], nr,
			    errstr);
		if (len + 1 > cap)
			text = xreallocarray(text, cap = len + 1, 1);
		if (fread(text, 1, len + 1, fp) != len + 1 || text[len] != '\n')
			errx(EX_DATAERR, "%s: text %lu: truncated", argv[0], nr);
		out.n = 0;
		tok_encode(t, text, len, &out);
		for (i = 0; i < out.n; i++) {
			if (strings) {
				put_token(t, out.ids[i], i > 0);
				continue;
			}
			printf(i ? " %u" : "%u", out.ids[i]);
			if (offsets)
				printf(":%zu", out.offs[i]);
		}
		putchar('\n');
	}
	if (ferror(fp))
		err(EX_IOERR, "%s", argv[0]);
	free(text);
	tok_ids_free(&out);
	tok_close(t);
	if (ferror(stdout) || fclose(stdout) == EOF)
		err(EX_IOERR, "stdout");
	return 0;
}
