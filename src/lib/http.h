/* http.h: the fetcher's HTTP engine, one libcurl multi handle for all.
 *
 * Requests are queued with mdas_http_get() and run by mdas_http_run():
 * at most `jobs` at a time over a shared connection cache (so keep-alive
 * connections and TLS sessions are reused), HTTP/2 where offered,
 * compressed bodies accepted, TLS verification always on.  Each host has
 * a token bucket (`rate` requests per second); Binance's
 * x-mbx-used-weight-1m header slows its host down before the limit.
 *
 * Failed attempts (429, 418, 5xx, timeouts, resets, truncated bodies) are
 * retried up to `retries` times after a delay: Retry-After when the
 * server sends it, else exponential backoff with full jitter, both capped
 * by `max_wait_s`.  Waiting never blocks other transfers: a request that
 * waits sits in the queue with a start time, and the loop sleeps in
 * curl_multi_poll() only until the next thing is due.
 *
 * The completion callback gets the final outcome once per request and
 * may queue further requests.  Cookies are shared by every request of one
 * engine (an in-memory cookie jar).  Library code: nothing is printed.
 */
#ifndef MDAS_HTTP_H
#define MDAS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Caps on a response head (status line and header lines, per response):
 * real upstreams send a few KB in about 30 lines. */
#define MDAS_HTTP_HEAD_MAX 65536
#define MDAS_HTTP_HEADERS_MAX 200

struct mdas_http_opts {
	long jobs;                 /* concurrent transfers (and connections) */
	double rate;               /* requests per second per host */
	long retries;              /* extra attempts after the first */
	double max_wait_s;         /* cap on one retry delay */
	double timeout_s;          /* whole transfer */
	double connect_timeout_s;
	long long max_bytes;       /* response body cap */
	const char *user_agent;
	double backoff_base_s;     /* first backoff cap; 0 means 0.5 */
	/* Called (when not NULL) each time an attempt is scheduled again. */
	void (*on_retry)(void *ctx);
	void *ctx;
};

/* The outcome of one request (all attempts).  Valid during the callback. */
struct mdas_http_response {
	const char *url;
	long status;               /* HTTP status of the last attempt; 0: none */
	const char *body;          /* NUL-terminated; "" when none */
	size_t len;
	int failed;                /* the last attempt got no complete response */
	const char *code;          /* then what went wrong, one word: timeout,
	                              connect, dns, reset, truncated, too_large,
	                              bad_http, tls, transport; else NULL */
	const char *error;         /* then what went wrong, a stable sentence
	                              ("response header too large (over 65536
	                              bytes)"); else "" */
	int retryable;             /* the last failure was of a retryable kind */
	int attempts;
	double elapsed_ms;         /* first attempt's start to the end */
	int64_t fetched_at_ms;     /* wall clock at the end */
};

typedef void (*mdas_http_done_fn)(void *ctx, const struct mdas_http_response *r);

enum {
	MDAS_HTTP_NO_RETRY = 1,    /* a single attempt, whatever happens */
	MDAS_HTTP_URGENT = 2,      /* queue before the others */
};

struct mdas_http_stats {
	long requests;             /* attempts sent */
	long retries;              /* attempts that were retries */
	long connections;          /* connections opened */
};

struct mdas_http;

/* Initialises libcurl (once per process) and a new engine.  Returns NULL
 * with err set on failure. */
struct mdas_http *mdas_http_new(const struct mdas_http_opts *opts, struct mdas_error *err);
/* Frees h, dropping requests still queued; NULL is accepted. */
void mdas_http_free(struct mdas_http *h);

/* Queues a GET of url (copied).  fn(ctx, response) is called once when
 * the request is finished.  Returns -1 (err set) when out of memory. */
int mdas_http_get(struct mdas_http *h, const char *url, int flags,
    mdas_http_done_fn fn, void *ctx, struct mdas_error *err);

/* Runs until no request is left.  Returns 0, or -1 (err set) when the
 * engine itself fails (out of memory, a libcurl multi error). */
int mdas_http_run(struct mdas_http *h, struct mdas_error *err);

/* Makes mdas_http_run() return as soon as the current callback is done;
 * requests not finished are dropped (their callbacks are never called)
 * when h is freed. */
void mdas_http_stop(struct mdas_http *h);

void mdas_http_get_stats(const struct mdas_http *h, struct mdas_http_stats *st);

/* The retry delay for failure number n (1-based) with full jitter, in
 * ms: uniform in [0, min(max_wait, base * 2^(n-1))].  r is in [0, 1). */
double mdas_http_backoff_ms(double base_s, double max_wait_s, int n, double r);

/* Parses a Retry-After value (delta seconds or an HTTP date) into
 * seconds from now_s; -1 when it is neither. */
double mdas_http_parse_retry_after(const char *v, int64_t now_s);

#endif
