/* http: concurrent POST requests over libcurl's multi interface. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "util.h"

/* One transfer: a reusable easy handle and the response it collects. */
struct slot {
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	size_t			 len, cap;
	size_t			 max;
	int			 toobig;
	long			 retry_after_ms;
	void			*udata;
	void			(*sink)(void *, const char *, size_t);
	void			*sink_arg;
	int			 sinking;	/* -1: not known yet */
	int			 busy;
	char			 errbuf[CURL_ERROR_SIZE];
	/* The options the handle was last set up with (see same_setup). */
	int			 ready;
	char			*url, *ca_file;
	long			 timeout_ms, connect_timeout_ms;
	size_t			 max_response;
};

/* A socket libcurl wants watched, and for what (CURL_POLL_*). */
struct watch {
	curl_socket_t	 fd;
	int		 what;
};

/*
 * The multi handle is driven socket by socket (curl_multi_socket_action)
 * from one poll(2) of our own: curl_multi_perform would poll every
 * transfer's socket again on each call, ten system calls a response.
 */
struct http {
	CURLM		*multi;
	struct slot	*slots;
	size_t		 nslots;
	size_t		 inflight;
	struct slot	*returned;	/* handed out by the last http_wait */
	struct watch	*watch;
	size_t		 nwatch, watch_cap;
	struct pollfd	*pfd;
	double		 timer_at;	/* libcurl's timeout, -1: none */
	int		 wake[2];	/* http_wakeup writes, poll reads */
};

/* libcurl's receive buffer: CURL_MAX_READ_SIZE, its largest. */
#define HTTP_BUFFER	(512L * 1024)

static int	global_ready;

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct slot	*s = arg;
	size_t		 n = size * nmemb, need;

	if (s->max > 0 && s->len + n > s->max) {
		s->toobig = 1;
		return 0;	/* makes libcurl stop with CURLE_WRITE_ERROR */
	}
	if (s->sinking == -1) {
		long	status = 0;

		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
		s->sinking = s->sink != NULL && status == 200;
	}
	if (s->sinking) {
		s->sink(s->sink_arg, data, n);
		s->len += n;
		return n;
	}
	need = s->len + n + 1;
	if (need > s->cap) {
		s->cap = s->cap == 0 ? 16384 : s->cap;
		while (s->cap < need)
			s->cap *= 2;
		s->body = xreallocarray(s->body, s->cap, 1);
	}
	memcpy(s->body + s->len, data, n);
	s->len += n;
	s->body[s->len] = '\0';
	return n;
}

/* Retry-After: delta-seconds (RFC 9110 10.2.3); an HTTP-date is ignored. */
static size_t
header_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct slot	*s = arg;
	size_t		 n = size * nitems;
	static const char name[] = "retry-after:";
	size_t		 i, k = sizeof(name) - 1;
	long		 v = 0;
	int		 digits = 0;

	if (n > 5 && strncmp(data, "HTTP/", 5) == 0)
		s->retry_after_ms = -1;	/* a new response (after 100 etc.) */
	if (n <= k)
		return n;
	for (i = 0; i < k; i++)
		if (tolower((unsigned char)data[i]) != name[i])
			return n;
	while (i < n && (data[i] == ' ' || data[i] == '\t'))
		i++;
	for (; i < n && isdigit((unsigned char)data[i]); i++) {
		if (v < 86400)
			v = v * 10 + (data[i] - '0');
		digits = 1;
	}
	if (digits)
		s->retry_after_ms = (v > 86400 ? 86400 : v) * 1000;
	return n;
}

static double
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
socket_cb(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct http	*h = arg;
	size_t		 i;

	(void)e;
	(void)sockp;
	for (i = 0; i < h->nwatch && h->watch[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < h->nwatch)
			h->watch[i] = h->watch[--h->nwatch];
		return 0;
	}
	if (i == h->nwatch) {
		if (h->nwatch == h->watch_cap) {
			h->watch_cap = h->watch_cap == 0 ? 16 : 2 * h->watch_cap;
			h->watch = xreallocarray(h->watch, h->watch_cap,
			    sizeof(*h->watch));
			h->pfd = xreallocarray(h->pfd, h->watch_cap + 1,
			    sizeof(*h->pfd));
		}
		h->watch[h->nwatch++].fd = fd;
	}
	h->watch[i].what = what;
	return 0;
}

static int
timer_cb(CURLM *m, long ms, void *arg)
{
	struct http	*h = arg;

	(void)m;
	h->timer_at = ms < 0 ? -1 : mono_ms() + (double)ms;
	return 0;
}

struct http *
http_open(size_t max_inflight, const char **errstr)
{
	struct http	*h;
	size_t		 i;

	if (!global_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			*errstr = "cannot initialise libcurl";
			return NULL;
		}
		global_ready = 1;
#ifdef __GLIBC__
		/*
		 * libcurl allocates each transfer's receive buffer (512 kB)
		 * when it starts and frees it when it ends.  By default
		 * glibc then gives the top of the heap back to the system
		 * and takes it again for the next transfer, whose pages
		 * fault in anew: half the page faults of a long run, and
		 * a brk(2) call every other transfer.  Keep freed memory
		 * instead (the peak is the same), and serve blocks below
		 * 4 MB from the heap rather than from a fresh mmap(2).
		 */
		mallopt(M_MMAP_THRESHOLD, 4 << 20);
		mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	}
	if (max_inflight == 0)
		max_inflight = 1;
	h = xcalloc(1, sizeof(*h));
	h->timer_at = -1;
	if (pipe(h->wake) == -1) {
		free(h);
		*errstr = "cannot make a pipe";
		return NULL;
	}
	for (i = 0; i < 2; i++) {
		fcntl(h->wake[i], F_SETFL, fcntl(h->wake[i], F_GETFL) |
		    O_NONBLOCK);
		fcntl(h->wake[i], F_SETFD, FD_CLOEXEC);
	}
	h->pfd = xreallocarray(NULL, 1, sizeof(*h->pfd));
	if ((h->multi = curl_multi_init()) == NULL) {
		http_close(h);
		*errstr = "cannot initialise libcurl";
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* Keep one connection per request in flight, and reuse them. */
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)max_inflight);
	h->nslots = max_inflight;
	h->slots = xcalloc(max_inflight, sizeof(*h->slots));
	for (i = 0; i < max_inflight; i++) {
		if ((h->slots[i].easy = curl_easy_init()) == NULL) {
			http_close(h);
			*errstr = "cannot initialise libcurl";
			return NULL;
		}
	}
	return h;
}

static int
same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/*
 * 1 if the slot's handle is set up for rq already but for the body: the
 * same URL, headers, limits and CAs.  A run sends every request to one
 * URL with one set of headers, and setting the handle up again each time
 * (curl_easy_reset, twenty options, the headers copied, the URL parsed)
 * is work for nothing.
 */
static int
same_setup(const struct slot *s, const struct http_request *rq)
{
	const struct curl_slist	*l = s->headers;
	const char *const	*hp;

	if (!s->ready || !same_str(s->url, rq->url) ||
	    !same_str(s->ca_file, rq->ca_file) ||
	    s->timeout_ms != rq->timeout_ms ||
	    s->connect_timeout_ms != rq->connect_timeout_ms ||
	    s->max_response != rq->max_response)
		return 0;
	for (hp = rq->headers; hp != NULL && *hp != NULL; hp++, l = l->next)
		if (l == NULL || strcmp(l->data, *hp) != 0)
			return 0;
	return l == NULL;
}

/* Set the slot's handle up for rq, from libcurl's defaults. */
static int
setup(struct slot *s, const struct http_request *rq, const char **errstr)
{
	const char *const	*hp;
	CURL			*e = s->easy;

	s->ready = 0;
	curl_easy_reset(e);	/* keeps the connection and DNS caches */
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	for (hp = rq->headers; hp != NULL && *hp != NULL; hp++) {
		struct curl_slist *n = curl_slist_append(s->headers, *hp);

		if (n == NULL) {
			*errstr = "out of memory";
			return -1;
		}
		s->headers = n;
	}
	s->max = rq->max_response;

	curl_easy_setopt(e, CURLOPT_URL, rq->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	if (rq->connect_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
		    rq->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	/*
	 * As large as libcurl allows: a response of a few hundred kB is read
	 * in one or two recv(2) calls, each followed by libcurl's poll(2) of
	 * the socket.  The buffer lives as long as the handle, which is
	 * never reset again while the setup stays the same.
	 */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, HTTP_BUFFER);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	/*
	 * Never follow a redirect: it would carry the headers, the key among
	 * them, to wherever the server says.  Stated rather than left to
	 * curl_easy_reset, so that no later change turns it on by accident.
	 */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Always verify: there is no way to turn it off. */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rq->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, rq->ca_file);
	/* Refuse an announced length over the bound before reading it. */
	if (rq->max_response > 0)
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)rq->max_response);
	free(s->url);
	free(s->ca_file);
	s->url = xstrdup(rq->url);
	s->ca_file = rq->ca_file != NULL ? xstrdup(rq->ca_file) : NULL;
	s->timeout_ms = rq->timeout_ms;
	s->connect_timeout_ms = rq->connect_timeout_ms;
	s->max_response = rq->max_response;
	s->ready = 1;
	return 0;
}

int
http_start(struct http *h, const struct http_request *rq, const char **errstr)
{
	struct slot		*s = NULL;
	CURL			*e;
	size_t			 i;

	for (i = 0; i < h->nslots; i++)
		if (!h->slots[i].busy && &h->slots[i] != h->returned) {
			s = &h->slots[i];
			break;
		}
	if (s == NULL) {
		*errstr = "too many requests in flight";
		return -1;
	}
	e = s->easy;
	s->len = 0;
	if (s->body != NULL)
		s->body[0] = '\0';
	s->toobig = 0;
	s->retry_after_ms = -1;
	s->udata = rq->udata;
	s->sink = rq->sink;
	s->sink_arg = rq->sink_arg;
	s->sinking = -1;
	s->errbuf[0] = '\0';
	if (!same_setup(s, rq) && setup(s, rq, errstr) == -1)
		return -1;
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)rq->body_len);
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		*errstr = "libcurl refused the request";
		return -1;
	}
	s->busy = 1;
	h->inflight++;
	return 0;
}

size_t
http_inflight(const struct http *h)
{
	return h->inflight;
}

static struct slot *
slot_of(struct http *h, CURL *e)
{
	size_t	i;

	for (i = 0; i < h->nslots; i++)
		if (h->slots[i].easy == e)
			return &h->slots[i];
	return NULL;
}

static int
collect(struct http *h, struct http_response *res)
{
	CURLMsg		*m;
	struct slot	*s;
	int		 left;
	double		 secs = 0;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		if ((s = slot_of(h, m->easy_handle)) == NULL)
			continue;
		memset(res, 0, sizeof(*res));
		res->udata = s->udata;
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &res->status);
		curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME, &secs);
		res->seconds = secs;
		res->retry_after_ms = s->retry_after_ms;
		res->location = NULL;
		if (res->status / 100 == 3)
			curl_easy_getinfo(s->easy, CURLINFO_REDIRECT_URL,
			    &res->location);
		switch (m->data.result) {
		case CURLE_OK:
			res->error = HTTP_OK;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			res->error = HTTP_ETIMEOUT;
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			res->error = HTTP_ECONNECT;
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
			res->error = HTTP_ECERT;
			break;
		case CURLE_FILESIZE_EXCEEDED:
			res->error = HTTP_ETOOBIG;
			break;
		default:
			res->error = s->toobig ? HTTP_ETOOBIG : HTTP_ETRANSPORT;
			break;
		}
		if (res->error != HTTP_OK) {
			res->status = 0;
			if (res->error == HTTP_ETOOBIG) {
				snprintf(s->errbuf, sizeof(s->errbuf),
				    "response larger than %zu bytes refused",
				    s->max);
				res->errstr = s->errbuf;
			} else if (s->errbuf[0] != '\0')
				res->errstr = s->errbuf;
			else
				res->errstr = curl_easy_strerror(
				    m->data.result);
		}
		if (s->body == NULL) {
			s->body = xmalloc(1);
			s->cap = 1;
			s->body[0] = '\0';
		}
		res->body = s->body;
		res->len = s->len;
		if (s->sinking == 1)
			res->body[0] = '\0';
		curl_multi_remove_handle(h->multi, s->easy);
		s->busy = 0;
		h->inflight--;
		h->returned = s;
		return 1;
	}
	return 0;
}

/* Run libcurl's timeout when it is due. */
static int
run_timer(struct http *h)
{
	int	running;

	if (h->timer_at < 0 || h->timer_at > mono_ms())
		return 0;
	h->timer_at = -1;
	return curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running) == CURLM_OK ? 0 : -1;
}

int
http_wait(struct http *h, long timeout_ms, struct http_response *res,
    const char **errstr)
{
	size_t	i, n;
	double	left;
	int	running, r, mask;
	char	drain[64];

	h->returned = NULL;
	if (collect(h, res))
		return 1;
	if (run_timer(h) == -1)
		goto fail;
	if (collect(h, res))
		return 1;
	if (timeout_ms < 0)
		return 0;
	if (h->timer_at >= 0) {
		left = h->timer_at - mono_ms();
		if (left < 0)
			left = 0;
		if (left < (double)timeout_ms)
			timeout_ms = (long)left + 1;
	}
	h->pfd[0].fd = h->wake[0];
	h->pfd[0].events = POLLIN;
	n = h->nwatch;
	for (i = 0; i < n; i++) {
		h->pfd[i + 1].fd = h->watch[i].fd;
		h->pfd[i + 1].events =
		    (h->watch[i].what & CURL_POLL_IN ? POLLIN : 0) |
		    (h->watch[i].what & CURL_POLL_OUT ? POLLOUT : 0);
	}
	if ((r = poll(h->pfd, n + 1, (int)timeout_ms)) == -1 &&
	    errno != EINTR) {
		*errstr = "poll failed";
		return -1;
	}
	if (r > 0 && h->pfd[0].revents != 0)
		while (read(h->wake[0], drain, sizeof(drain)) > 0)
			;
	/* socket_action may change the watch list: go by the poll set. */
	for (i = 1; r > 0 && i <= n; i++) {
		short ev = h->pfd[i].revents;

		if (ev == 0)
			continue;
		mask = 0;
		if (ev & (POLLIN | POLLHUP | POLLERR))
			mask |= CURL_CSELECT_IN;
		if (ev & POLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (ev & (POLLERR | POLLNVAL))
			mask |= CURL_CSELECT_ERR;
		if (curl_multi_socket_action(h->multi, h->pfd[i].fd, mask,
		    &running) != CURLM_OK)
			goto fail;
	}
	if (run_timer(h) == -1)
		goto fail;
	return collect(h, res);
fail:
	*errstr = "libcurl failed";
	return -1;
}

void
http_wakeup(struct http *h)
{
	ssize_t	r;

	r = write(h->wake[1], "", 1);	/* a full pipe wakes the poll too */
	(void)r;
}

void
http_close(struct http *h)
{
	size_t	i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nslots; i++) {
		struct slot *s = &h->slots[i];

		if (s->easy != NULL) {
			if (s->busy)
				curl_multi_remove_handle(h->multi, s->easy);
			curl_easy_cleanup(s->easy);
		}
		curl_slist_free_all(s->headers);
		free(s->body);
		free(s->url);
		free(s->ca_file);
	}
	free(h->slots);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	close(h->wake[0]);
	close(h->wake[1]);
	free(h->watch);
	free(h->pfd);
	free(h);
}
