/* terms: Qwen3 token ids or hashed words, as the terms of BM25 vectors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "terms.h"
#include "tok.h"
#include "utf8.h"
#include "util.h"

/* Words seen, by index: open addressing, for terms_name. */
struct words {
	uint32_t	*keys;
	char		**vals;
	size_t		 n, cap;	/* cap a power of two */
};

struct terms {
	enum terms_kind	 kind;
	struct tok	*tok;
	struct tok_ids	 ids;
	struct words	 words;
	char		*buf;		/* a word being built, or a name */
	size_t		 bufcap;
};

static char	 errbuf[512];

const char *
terms_kind_name(enum terms_kind k)
{
	return k == TERMS_QWEN3 ? "qwen3" : "words";
}

struct terms *
terms_open(enum terms_kind kind, const char *tok_path, const char **errstr,
    int *status)
{
	struct terms	*t;
	const char	*why;

	t = xcalloc(1, sizeof(*t));
	t->kind = kind;
	if (kind == TERMS_QWEN3) {
		if ((t->tok = tok_open(tok_path, &why)) == NULL) {
			*status = errno == ENOENT ? EX_CONFIG : EX_DATAERR;
			snprintf(errbuf, sizeof(errbuf), "%s%s", why,
			    errno == ENOENT ? " (run make data)" : "");
			*errstr = errbuf;
			free(t);
			return NULL;
		}
	}
	return t;
}

void
terms_close(struct terms *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	if (t->tok != NULL)
		tok_close(t->tok);
	tok_ids_free(&t->ids);
	for (i = 0; i < t->words.cap; i++)
		free(t->words.vals[i]);
	free(t->words.keys);
	free(t->words.vals);
	free(t->buf);
	free(t);
}

uint64_t
terms_space(const struct terms *t)
{
	return t->kind == TERMS_QWEN3 ? tok_vocab_size(t->tok) :
	    UINT64_C(1) << 31;
}

uint32_t
terms_word_index(const char *w, size_t len)
{
	return hash_fnv1a32(w, len) & 0x7fffffffu;
}

static void
list_push(struct terms_list *l, uint32_t id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->ids = xreallocarray(l->ids, l->cap, sizeof(*l->ids));
	}
	l->ids[l->n++] = id;
}

void
terms_list_free(struct terms_list *l)
{
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

/* The slot of key k in the word table: where it is, or where it goes. */
static size_t
words_slot(const struct words *w, uint32_t k)
{
	size_t	 i = (k * 2654435761u) & (w->cap - 1);

	while (w->vals[i] != NULL && w->keys[i] != k)
		i = (i + 1) & (w->cap - 1);
	return i;
}

static void
words_put(struct words *w, uint32_t k, const char *s, size_t len)
{
	struct words	 bigger;
	size_t		 i, j;

	if (2 * (w->n + 1) > w->cap) {
		bigger.cap = w->cap ? 2 * w->cap : 1024;
		bigger.n = w->n;
		bigger.keys = xcalloc(bigger.cap, sizeof(*bigger.keys));
		bigger.vals = xcalloc(bigger.cap, sizeof(*bigger.vals));
		for (i = 0; i < w->cap; i++)
			if (w->vals[i] != NULL) {
				j = words_slot(&bigger, w->keys[i]);
				bigger.keys[j] = w->keys[i];
				bigger.vals[j] = w->vals[i];
			}
		free(w->keys);
		free(w->vals);
		*w = bigger;
	}
	i = words_slot(w, k);
	if (w->vals[i] != NULL)
		return;
	w->keys[i] = k;
	w->vals[i] = xstrndup(s, len);
	w->n++;
}

void
terms_learn(struct terms *t, uint32_t k, const char *w)
{
	words_put(&t->words, k, w, strlen(w));
}

/* Room for n bytes in t->buf. */
static void
buf_reserve(struct terms *t, size_t n)
{
	if (n > t->bufcap) {
		t->bufcap = n > 2 * t->bufcap ? n : 2 * t->bufcap;
		t->buf = xreallocarray(t->buf, t->bufcap, 1);
	}
}

/* Split s into words, lower-case them, and hash each to its index. */
static void
words_of(struct terms *t, const char *s, size_t len, struct terms_list *out)
{
	size_t	 i = 0, n, blen, nlen;
	uint32_t cp;
	char	*nfc;
	int	 inword;

	blen = 0;
	while (i <= len) {
		if (i < len) {
			n = utf8_decode(s + i, len - i, &cp);
			inword = utf8_is_letter(cp) || utf8_is_number(cp) ||
			    utf8_is_mark(cp);
		} else {
			n = 1;
			inword = 0;
		}
		if (inword) {
			buf_reserve(t, blen + 4);
			blen += utf8_encode(utf8_tolower(cp), t->buf + blen);
		} else if (blen > 0) {
			if ((nfc = utf8_nfc(t->buf, blen, &nlen)) == NULL)
				list_push(out, terms_word_index(t->buf, blen));
			else {
				cp = terms_word_index(nfc, nlen);
				list_push(out, cp);
				words_put(&t->words, cp, nfc, nlen);
				free(nfc);
			}
			blen = 0;
		}
		i += n;
	}
}

void
terms_of(struct terms *t, const char *s, size_t len, struct terms_list *out)
{
	size_t	 i;

	out->n = 0;
	if (t->kind == TERMS_WORDS) {
		words_of(t, s, len, out);
		return;
	}
	/* A leading space, so that the first word of a text is the same
	 * token as that word inside a text (" cat", not "cat"). */
	buf_reserve(t, len + 1);
	t->buf[0] = ' ';
	memcpy(t->buf + 1, s, len);
	t->ids.n = 0;
	tok_encode(t->tok, t->buf, len + 1, &t->ids);
	for (i = 0; i < t->ids.n; i++)
		list_push(out, t->ids.ids[i]);
}

const char *
terms_name(struct terms *t, uint32_t k)
{
	const char	*s;
	size_t		 len, i, j, n;
	unsigned char	 c;
	uint32_t	 cp;

	if (t->kind == TERMS_WORDS) {
		if (t->words.cap > 0 &&
		    t->words.vals[i = words_slot(&t->words, k)] != NULL)
			return t->words.vals[i];
		buf_reserve(t, 16);
		snprintf(t->buf, 16, "#%u", (unsigned)k);
		return t->buf;
	}
	if ((s = tok_token(t->tok, k, &len)) == NULL)
		len = 0;
	buf_reserve(t, 4 * len + 1);
	for (i = j = 0; i < len; i += n) {
		c = (unsigned char)s[i];
		n = 1;
		if (c == ' ') {
			memcpy(t->buf + j, "\xe2\x96\x81", 3);
			j += 3;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(t->buf + j, 5, "<%02X>", c);
			j += 4;
		} else if (c < 0x80)
			t->buf[j++] = (char)c;
		else if ((n = utf8_decode(s + i, len - i, &cp)) > 0 &&
		    (cp != 0xFFFD || (n == 3 && memcmp(s + i, "\xef\xbf\xbd",
		    3) == 0))) {
			memcpy(t->buf + j, s + i, n);
			j += n;
		} else {
			/* Part of a character: show its bytes. */
			n = 1;
			snprintf(t->buf + j, 5, "<%02X>", c);
			j += 4;
		}
	}
	t->buf[j] = '\0';
	return t->buf;
}
