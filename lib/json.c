/* json: jsmn tokens over a borrowed buffer, and a JSON writer. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "json.h"
#include "numfmt.h"
#include "util.h"

struct json {
	jsmntok_t	*toks;
	size_t		 cap;
	int		 n;
	const char	*buf;
};

struct json *
json_new(void)
{
	return xcalloc(1, sizeof(struct json));
}

void
json_free(struct json *j)
{
	if (j == NULL)
		return;
	free(j->toks);
	free(j);
}

int
json_parse(struct json *j, const char *buf, size_t len, const char **errstr)
{
	jsmn_parser	p;
	int		 r, i;

	j->n = 0;
	j->buf = buf;
	if (j->cap == 0) {
		j->cap = 1024;
		j->toks = xreallocarray(NULL, j->cap, sizeof(*j->toks));
	}
	jsmn_init(&p);
	/* jsmn resumes where it stopped once given more tokens. */
	while ((r = jsmn_parse(&p, buf, len, j->toks, j->cap)) ==
	    JSMN_ERROR_NOMEM) {
		if (j->cap > INT32_MAX / 2) {
			*errstr = "too many tokens";
			return -1;
		}
		j->cap *= 2;
		j->toks = xreallocarray(j->toks, j->cap, sizeof(*j->toks));
	}
	if (r == JSMN_ERROR_PART) {
		*errstr = "truncated";
		return -1;
	}
	if (r < 0) {
		*errstr = "malformed";
		return -1;
	}
	if (r == 0) {
		*errstr = "empty";
		return -1;
	}
	for (i = 0; i < r; i++)
		if (j->toks[i].end < 0) {
			*errstr = "truncated";
			return -1;
		}
	/* One value only: a second top-level token is garbage after it. */
	for (i = 1; i < r; i++)
		if (j->toks[i].start >= j->toks[0].end) {
			*errstr = "malformed";
			return -1;
		}
	j->n = r;
	return 0;
}

enum json_type
json_type(const struct json *j, int t)
{
	char	c;

	if (t < 0 || t >= j->n)
		return JSON_NONE;
	switch (j->toks[t].type) {
	case JSMN_OBJECT:
		return JSON_OBJECT;
	case JSMN_ARRAY:
		return JSON_ARRAY;
	case JSMN_STRING:
		return JSON_STRING;
	case JSMN_PRIMITIVE:
		c = j->buf[j->toks[t].start];
		if (c == 't')
			return JSON_TRUE;
		if (c == 'f')
			return JSON_FALSE;
		if (c == 'n')
			return JSON_NULL;
		return JSON_NUMBER;
	default:
		return JSON_NONE;
	}
}

size_t
json_size(const struct json *j, int t)
{
	enum json_type	ty = json_type(j, t);

	if (ty != JSON_OBJECT && ty != JSON_ARRAY)
		return 0;
	return (size_t)j->toks[t].size;
}

/* The token after t's whole subtree. */
static int
skip(const struct json *j, int t)
{
	int	end = j->toks[t].end, i = t + 1;

	while (i < j->n && j->toks[i].start < end)
		i++;
	return i;
}

int
json_first(const struct json *j, int t)
{
	if (json_size(j, t) == 0)
		return -1;
	return t + 1;
}

int
json_next(const struct json *j, int parent, int t)
{
	int	i;

	if (parent < 0 || parent >= j->n || t <= parent || t >= j->n)
		return -1;
	i = skip(j, t);
	if (i < j->n && j->toks[i].start < j->toks[parent].end)
		return i;
	return -1;
}

int
json_get(const struct json *j, int t, const char *key)
{
	int	k;

	if (json_type(j, t) != JSON_OBJECT)
		return -1;
	for (k = json_first(j, t); k != -1; k = json_next(j, t, k + 1))
		if (k + 1 < j->n && json_streq(j, k, key))
			return k + 1;
	return -1;
}

static unsigned
hexval(const char *s)
{
	unsigned	v = 0;
	int		i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return 0x110000;
	}
	return v;
}

static size_t
put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Unescape s[0..len) into o (room for len + 1); returns the length. */
static size_t
unescape(char *o, const char *s, size_t len)
{
	size_t		i = 0, k = 0;
	unsigned	cp, lo;

	while (i < len) {
		if (s[i] != '\\' || i + 1 >= len) {
			o[k++] = s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b': o[k++] = '\b'; i += 2; continue;
		case 'f': o[k++] = '\f'; i += 2; continue;
		case 'n': o[k++] = '\n'; i += 2; continue;
		case 'r': o[k++] = '\r'; i += 2; continue;
		case 't': o[k++] = '\t'; i += 2; continue;
		case '"': case '\\': case '/':
			o[k++] = s[i + 1];
			i += 2;
			continue;
		case 'u':
			if (i + 6 > len || (cp = hexval(s + i + 2)) > 0xffff)
				break;
			i += 6;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len &&
			    s[i] == '\\' && s[i + 1] == 'u' &&
			    (lo = hexval(s + i + 2)) >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 6;
			} else if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;	/* a lone surrogate */
			/* Escapes never expand: 6 or 12 bytes give <= 4. */
			k += put_utf8(o + k, cp);
			continue;
		default:
			break;
		}
		o[k++] = s[i++];
	}
	o[k] = '\0';
	return k;
}

int
json_streq(const struct json *j, int t, const char *s)
{
	const jsmntok_t	*tk;
	const char	*p;
	size_t		 len, slen = strlen(s);
	char		 small[256];
	size_t		 k;

	if (json_type(j, t) != JSON_STRING)
		return 0;
	tk = &j->toks[t];
	p = j->buf + tk->start;
	len = (size_t)(tk->end - tk->start);
	if (memchr(p, '\\', len) == NULL)
		return len == slen && memcmp(p, s, len) == 0;
	if (len >= sizeof(small))
		return 0;	/* keys we look up are short */
	k = unescape(small, p, len);
	return k == slen && memcmp(small, s, k) == 0;
}

char *
json_strdup(const struct json *j, int t)
{
	const jsmntok_t	*tk;
	size_t		 len;
	char		*o;

	if (t < 0 || t >= j->n)
		return xstrdup("");
	tk = &j->toks[t];
	len = (size_t)(tk->end - tk->start);
	o = xmalloc(len + 1);
	if (tk->type == JSMN_STRING)
		unescape(o, j->buf + tk->start, len);
	else {
		memcpy(o, j->buf + tk->start, len);
		o[len] = '\0';
	}
	return o;
}

/* JSON's number grammar (RFC 8259 section 6), which strtod is wider than. */
static int
is_number(const char *s, size_t len)
{
	size_t	i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else {
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == len;
}

int
json_integer(const struct json *j, int t, long long *out)
{
	const jsmntok_t	*tk;
	long long	 v = 0;
	int		 i, neg = 0;

	if (json_type(j, t) != JSON_NUMBER)
		return -1;
	tk = &j->toks[t];
	i = tk->start;
	if (j->buf[i] == '-') {
		neg = 1;
		i++;
	}
	if (i >= tk->end)
		return -1;
	for (; i < tk->end; i++) {
		char c = j->buf[i];

		if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

int
json_number(const struct json *j, int t, double *out)
{
	const jsmntok_t	*tk;
	char		 tmp[64];
	size_t		 len;

	if (json_type(j, t) != JSON_NUMBER)
		return -1;
	tk = &j->toks[t];
	len = (size_t)(tk->end - tk->start);
	if (len >= sizeof(tmp) || !is_number(j->buf + tk->start, len))
		return -1;
	memcpy(tmp, j->buf + tk->start, len);
	tmp[len] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

long
json_floats(const struct json *j, int t, float *out, size_t max)
{
	size_t		 n, k;
	const jsmntok_t	*tk;

	if (json_type(j, t) != JSON_ARRAY)
		return -1;
	n = (size_t)j->toks[t].size;
	if (n > max || (size_t)t + n >= (size_t)j->n)
		return -1;
	/* The elements of a flat array are the n tokens that follow it. */
	for (k = 0; k < n; k++) {
		const char	*s;
		size_t		 len;
		char		 c;

		tk = &j->toks[t + 1 + k];
		if (tk->type != JSMN_PRIMITIVE)
			return -1;
		s = j->buf + tk->start;
		len = (size_t)(tk->end - tk->start);
		c = s[0];
		if (c != '-' && (c < '0' || c > '9'))
			return -1;
		if (numfmt_parse_float(s, len, &out[k]) != len ||
		    !isfinite(out[k]))
			return -1;
	}
	return (long)n;
}

static void
reserve(struct json_out *o, size_t more)
{
	size_t	need = o->len + more + 1;

	if (need <= o->cap)
		return;
	if (o->cap == 0)
		o->cap = 1024;
	while (o->cap < need)
		o->cap *= 2;
	o->buf = xreallocarray(o->buf, o->cap, 1);
}

void
json_out_raw(struct json_out *o, const char *s, size_t len)
{
	reserve(o, len);
	memcpy(o->buf + o->len, s, len);
	o->len += len;
	o->buf[o->len] = '\0';
}

void
json_out_str(struct json_out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i;
	char		*p;

	reserve(o, len * 6 + 2);	/* every byte escaped at worst */
	p = o->buf + o->len;
	*p++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': *p++ = '\\'; *p++ = '"'; break;
		case '\\': *p++ = '\\'; *p++ = '\\'; break;
		case '\n': *p++ = '\\'; *p++ = 'n'; break;
		case '\r': *p++ = '\\'; *p++ = 'r'; break;
		case '\t': *p++ = '\\'; *p++ = 't'; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				*p++ = '\\';
				*p++ = 'u';
				*p++ = '0';
				*p++ = '0';
				*p++ = hex[c >> 4];
				*p++ = hex[c & 15];
			} else
				*p++ = (char)c;
		}
	}
	*p++ = '"';
	o->len = (size_t)(p - o->buf);
	o->buf[o->len] = '\0';
}

void
json_out_int(struct json_out *o, long long v)
{
	char	tmp[32];
	int	n = snprintf(tmp, sizeof(tmp), "%lld", v);

	json_out_raw(o, tmp, (size_t)n);
}

void
json_out_free(struct json_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}
