/*
 * http: POST requests over libcurl's multi interface: many requests in
 * flight at once on reused connections, each with its own deadline and a
 * bound on the size of the response.  The only module that uses libcurl.
 * One thread drives a client; http_wakeup may be called from any thread.
 *
 * TLS certificates and host names are always verified, against the
 * system's CAs or the request's ca_file; redirects are never followed,
 * so the headers (the API key) go to the URL given and nowhere else; a
 * response over max_response bytes is refused as soon as its length is
 * announced, or as soon as it grows past it.
 */
#ifndef DS_HTTP_H
#define DS_HTTP_H

#include <stddef.h>

/* How a request ended, apart from the HTTP status. */
enum http_error {
	HTTP_OK = 0,		/* a complete response: see status */
	HTTP_ETIMEOUT,		/* the deadline passed */
	HTTP_ECONNECT,		/* no connection: refused, unresolved, TLS */
	HTTP_ECERT,		/* the server's certificate did not verify */
	HTTP_ETOOBIG,		/* the response outgrew max_response */
	HTTP_ETRANSPORT		/* reset, closed early, malformed HTTP */
};

struct http_request {
	const char		*url;
	const char *const	*headers;	/* "Name: value", NULL-ended */
	const char		*body;		/* body_len bytes */
	size_t			 body_len;
	long			 timeout_ms;	/* whole exchange; 0: none */
	long			 connect_timeout_ms;	/* 0: libcurl's */
	size_t			 max_response;	/* bytes; 0: no bound */
	const char		*ca_file;	/* PEM CAs; NULL: the system's */
	void			*udata;		/* handed back in the response */
	/*
	 * If set, the body of a 200 response goes to sink(sink_arg, ...)
	 * piece by piece as it arrives, instead of into the response (whose
	 * body is then empty); any other body is collected.
	 */
	void			(*sink)(void *sink_arg, const char *piece,
				    size_t len);
	void			*sink_arg;
};

struct http_response {
	void		*udata;
	enum http_error	 error;
	const char	*errstr;	/* what failed, when error != HTTP_OK */
	long		 status;	/* HTTP status, 0 when none came */
	char		*body;		/* len bytes, NUL-terminated; "" when a
					   sink took them */
	size_t		 len;
	long		 retry_after_ms;	/* Retry-After, -1 when absent */
	const char	*location;	/* a redirect's target, or NULL */
	double		 seconds;	/* time the request took */
};

struct http;

/*
 * A client for at most max_inflight requests at once.  Returns NULL with
 * *errstr set when libcurl cannot be initialised.  With glibc, the first
 * call also keeps freed memory in the process (mallopt(3)), as libcurl
 * allocates and frees a 512 kB buffer for every transfer.
 */
struct http	*http_open(size_t max_inflight, const char **errstr);

/*
 * Start a request.  The url, headers and body are borrowed until its
 * response has been returned by http_wait.  Returns 0, or -1 with *errstr
 * when max_inflight requests are already running or libcurl refuses.
 */
int		 http_start(struct http *, const struct http_request *,
		    const char **errstr);

/* Requests started and not yet returned by http_wait. */
size_t		 http_inflight(const struct http *);

/*
 * Drive the transfers for up to timeout_ms (0: do not block; negative:
 * do not even poll the sockets, only hand out what has finished already)
 * and return 1 with *res filled in for one finished request, or 0 when
 * none finished in time or http_wakeup was called.  The strings in *res stay valid until
 * the next call to http_wait or http_close.  Returns -1 with *errstr on a
 * failure of libcurl itself.
 */
int		 http_wait(struct http *, long timeout_ms,
		    struct http_response *res, const char **errstr);

/* Make a blocked http_wait return early; safe from another thread. */
void		 http_wakeup(struct http *);

/* Abort what is running and free everything. */
void		 http_close(struct http *);

#endif
