#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "timeutil.h"

/* Binance allows 6000 request weight per minute per IP (since 2023-08).
 * Past SLOW_AT we space requests out; past HOLD_AT we stop sending to
 * that host until the minute window turns over. */
#define WEIGHT_LIMIT 6000.0
#define WEIGHT_SLOW_AT 0.70
#define WEIGHT_HOLD_AT 0.90
#define WEIGHT_HEADER "x-mbx-used-weight-1m"
#define POLL_MAX_MS 1000

/* What the engine makes of a transfer that failed, beyond the CURLcode. */
enum fault {
	F_NONE,
	F_BODY_TOO_LARGE,          /* over max_bytes (write_cb) */
	F_HEAD_TOO_LARGE,          /* response head over MDAS_HTTP_HEAD_MAX */
	F_TOO_MANY_HEADERS,        /* over MDAS_HTTP_HEADERS_MAX lines */
	F_NO_MEMORY,               /* our own buffer could not grow */
};

struct host {
	char *key;                 /* scheme://host:port */
	double tokens;             /* token bucket */
	double last_refill;        /* monotonic ms */
	double rate_factor;        /* 1, or less when near the weight limit */
	double hold_until;         /* monotonic ms; 0 when not held */
	struct host *next;
};

struct req {
	char *url;
	int flags;
	mdas_http_done_fn fn;
	void *ctx;
	struct host *host;
	int attempts;
	double first_start;        /* monotonic ms; <0 before the first attempt */
	double not_before;         /* monotonic ms */
	CURL *easy;
	char *body;
	size_t len, cap;
	enum fault fault;
	int in_head;               /* between a status line and its blank line */
	int chunked;               /* the response said Transfer-Encoding: chunked */
	size_t head_bytes, head_lines;   /* of the response being received */
	long long max_bytes;
	double retry_after;        /* seconds from the header, -1 when none */
	double weight;             /* x-mbx-used-weight-1m, -1 when none */
	char errbuf[CURL_ERROR_SIZE];
	char errtext[CURL_ERROR_SIZE + 100];
	struct req *next;
};

struct mdas_http {
	struct mdas_http_opts o;
	char *user_agent;
	CURLM *multi;
	CURLSH *share;
	struct curl_slist *headers;
	struct req *head, *tail;   /* waiting to start */
	struct req *running;       /* started, linked through next */
	long active;
	struct host *hosts;
	uint64_t rng;
	int stopped;
	struct mdas_http_stats st;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* xorshift64*: jitter needs no quality, only independence from rand(). */
static double
rng_next(struct mdas_http *h)
{
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return (double)((h->rng * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

double
mdas_http_backoff_ms(double base_s, double max_wait_s, int n, double r)
{
	double cap = base_s * 1e3 * pow(2.0, n > 0 ? n - 1 : 0);

	if (cap > max_wait_s * 1e3)
		cap = max_wait_s * 1e3;
	return r * cap;
}

double
mdas_http_parse_retry_after(const char *v, int64_t now_s)
{
	char *end;
	double d;
	time_t t;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		d = strtod(v, &end);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (errno == 0 && *end == '\0' && isfinite(d) && d >= 0)
			return d;
		return -1;
	}
	if ((t = curl_getdate(v, NULL)) == (time_t)-1)
		return -1;
	return (double)t > (double)now_s ? (double)t - (double)now_s : 0;
}

static void
lock_cb(CURL *c, curl_lock_data d, curl_lock_access a, void *u)
{
	/* One thread drives every transfer: the share needs no real lock. */
	(void)c; (void)d; (void)a; (void)u;
}

struct mdas_http *
mdas_http_new(const struct mdas_http_opts *opts, struct mdas_error *err)
{
	static int global_done;
	struct mdas_http *h;
	struct curl_slist *l;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			mdas_error_set(err, "libcurl initialisation failed");
			return NULL;
		}
		global_done = 1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto nomem;
	h->o = *opts;
	if (h->o.jobs < 1)
		h->o.jobs = 1;
	if (h->o.backoff_base_s <= 0)
		h->o.backoff_base_s = 0.5;
	if ((h->user_agent = strdup(opts->user_agent ? opts->user_agent : "")) == NULL)
		goto nomem;
	h->o.user_agent = h->user_agent;
	h->rng = (uint64_t)mdas_now_ms() * UINT64_C(6364136223846793005) ^ (uint64_t)getpid();
	if (h->rng == 0)
		h->rng = 1;
	if ((h->multi = curl_multi_init()) == NULL || (h->share = curl_share_init()) == NULL)
		goto nomem;
	/* The connection cache belongs to the multi handle; the share adds
	 * DNS answers, TLS sessions and the cookie jar for every transfer. */
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, lock_cb);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, lock_cb);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, h->o.jobs);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, h->o.jobs);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, h->o.jobs);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	/* What a browser sends: Yahoo answers bare clients with 429s. */
	l = curl_slist_append(NULL, "Accept: application/json,text/plain,*/*;q=0.8");
	if (l == NULL)
		goto nomem;
	h->headers = l;
	if (curl_slist_append(l, "Accept-Language: en-US,en;q=0.9") == NULL)
		goto nomem;
	return h;
nomem:
	mdas_error_errno(err, ENOMEM, "HTTP engine");
	mdas_http_free(h);
	return NULL;
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	free(r->url);
	free(r->body);
	free(r);
}

void
mdas_http_free(struct mdas_http *h)
{
	struct req *r, *rn;
	struct host *ho, *hn;

	if (h == NULL)
		return;
	for (r = h->head; r != NULL; r = rn) {
		rn = r->next;
		req_free(r);
	}
	/* Transfers still running (after a fatal error) are abandoned. */
	for (r = h->running; r != NULL; r = rn) {
		rn = r->next;
		curl_multi_remove_handle(h->multi, r->easy);
		curl_easy_cleanup(r->easy);
		req_free(r);
	}
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	if (h->share != NULL)
		curl_share_cleanup(h->share);
	curl_slist_free_all(h->headers);
	for (ho = h->hosts; ho != NULL; ho = hn) {
		hn = ho->next;
		free(ho->key);
		free(ho);
	}
	free(h->user_agent);
	free(h);
}

static struct host *
host_for(struct mdas_http *h, const char *url)
{
	const char *p = strstr(url, "://"), *e;
	struct host *ho;
	size_t n;

	p = p != NULL ? p + 3 : url;
	e = p + strcspn(p, "/?#");
	n = (size_t)(e - url);
	for (ho = h->hosts; ho != NULL; ho = ho->next)
		if (strlen(ho->key) == n && strncmp(ho->key, url, n) == 0)
			return ho;
	if ((ho = calloc(1, sizeof(*ho))) == NULL || (ho->key = strndup(url, n)) == NULL) {
		free(ho);
		return NULL;
	}
	ho->tokens = h->o.rate > 1 ? h->o.rate : 1;
	ho->last_refill = now_ms();
	ho->rate_factor = 1;
	ho->next = h->hosts;
	h->hosts = ho;
	return ho;
}

static void
enqueue(struct mdas_http *h, struct req *r, int front)
{
	if (front) {
		r->next = h->head;
		h->head = r;
		if (h->tail == NULL)
			h->tail = r;
	} else {
		r->next = NULL;
		if (h->tail != NULL)
			h->tail->next = r;
		else
			h->head = r;
		h->tail = r;
	}
}

int
mdas_http_get(struct mdas_http *h, const char *url, int flags,
    mdas_http_done_fn fn, void *ctx, struct mdas_error *err)
{
	struct req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL || (r->url = strdup(url)) == NULL ||
	    (r->host = host_for(h, url)) == NULL) {
		req_free(r);
		return mdas_error_errno(err, ENOMEM, "%s", url);
	}
	r->flags = flags;
	r->fn = fn;
	r->ctx = ctx;
	r->first_start = -1;
	enqueue(h, r, (flags & MDAS_HTTP_URGENT) != 0);
	return 0;
}

/* The cap is enforced here too: CURLOPT_MAXFILESIZE only sees an
 * announced Content-Length, not a chunked or compressed body. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *u)
{
	struct req *r = u;
	size_t n = size * nmemb, ncap;
	char *nb;

	if (r->max_bytes > 0 && (long long)(r->len + n) > r->max_bytes) {
		r->fault = F_BODY_TOO_LARGE;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		ncap = r->cap ? r->cap : 16384;
		while (ncap < r->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(r->body, ncap)) == NULL) {
			r->fault = F_NO_MEMORY;
			return 0;
		}
		r->body = nb;
		r->cap = ncap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static size_t
header_cb(char *line, size_t size, size_t nmemb, void *u)
{
	struct req *r = u;
	size_t n = size * nmemb, klen;
	char val[128];
	const char *colon;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or 100): forget the old one's. */
		r->retry_after = -1;
		r->weight = -1;
		r->in_head = 1;
		r->chunked = 0;
		r->head_bytes = n;
		r->head_lines = 0;
		return n;
	}
	if (n <= 2 && (n == 0 || line[0] == '\r' || line[0] == '\n')) {
		r->in_head = 0;
		return n;
	}
	/* curl holds a whole head in memory (up to 300 KB, one line up to
	 * 100 KB); no real upstream comes near these caps, so a head past
	 * them is refused here, with a name, before curl refuses it with
	 * "Out of memory" or a receive error. */
	r->head_bytes += n;
	if (++r->head_lines > MDAS_HTTP_HEADERS_MAX) {
		r->fault = F_TOO_MANY_HEADERS;
		return 0;
	}
	if (r->head_bytes > MDAS_HTTP_HEAD_MAX) {
		r->fault = F_HEAD_TOO_LARGE;
		return 0;
	}
	if ((colon = memchr(line, ':', n)) == NULL)
		return n;
	klen = (size_t)(colon - line);
	n -= klen + 1;
	while (n > 0 && (colon[1] == ' ' || colon[1] == '\t')) {
		colon++;
		n--;
	}
	if (n >= sizeof(val))
		n = sizeof(val) - 1;
	memcpy(val, colon + 1, n);
	val[n] = '\0';
	val[strcspn(val, "\r\n")] = '\0';
	if (klen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0 &&
	    strcasestr(val, "chunked") != NULL)
		r->chunked = 1;
	else if (klen == 11 && strncasecmp(line, "Retry-After", 11) == 0)
		r->retry_after = mdas_http_parse_retry_after(val, mdas_now_ms() / 1000);
	else if (klen == strlen(WEIGHT_HEADER) && strncasecmp(line, WEIGHT_HEADER, klen) == 0) {
		char *end;
		double w = strtod(val, &end);

		if (end != val && isfinite(w) && w >= 0)
			r->weight = w;
	}
	return size * nmemb;
}

static int
start(struct mdas_http *h, struct req *r, double now)
{
	CURL *e;
	CURLMcode mc;

	if ((e = curl_easy_init()) == NULL)
		return -1;
	r->easy = e;
	r->len = 0;
	if (r->body != NULL)
		r->body[0] = '\0';
	r->fault = F_NONE;
	r->in_head = r->chunked = 0;
	r->head_bytes = r->head_lines = 0;
	r->max_bytes = h->o.max_bytes;
	r->retry_after = -1;
	r->weight = -1;
	r->errbuf[0] = '\0';
	if (r->first_start < 0)
		r->first_start = now;
	r->attempts++;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_SHARE, h->share);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(h->o.timeout_s * 1e3));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(h->o.connect_timeout_s * 1e3));
	if (h->o.max_bytes > 0)
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->o.max_bytes);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	if ((mc = curl_multi_add_handle(h->multi, e)) != CURLM_OK) {
		curl_easy_cleanup(e);
		r->easy = NULL;
		return -1;
	}
	h->active++;
	h->st.requests++;
	r->next = h->running;
	h->running = r;
	return 0;
}

static int
retryable_code(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* The host part of url ("127.0.0.1:1"), for messages. */
static int
host_len(const char *url, const char **host)
{
	const char *p = strstr(url, "://");

	*host = p != NULL ? p + 3 : url;
	return (int)strcspn(*host, "/?#");
}

/* Says what a failed transfer met, in stable words (curl's own texts
 * carry timings and byte counts that differ from run to run): sets
 * *code, the message in r->errtext, and whether trying again can help.
 * A response that breaks HTTP (a head over the caps, bad chunked or
 * content encoding) is not retried: a server that sends one sends it
 * again. */
static void
classify(struct req *r, CURLcode res, const char **code, int *retryable)
{
	char *t = r->errtext;
	size_t n = sizeof(r->errtext);
	const char *host;
	int hl = host_len(r->url, &host);

	*retryable = 0;
	switch (r->fault) {
	case F_BODY_TOO_LARGE:
		*code = "too_large";
		snprintf(t, n, "response larger than http.max_response_bytes");
		return;
	case F_HEAD_TOO_LARGE:
		*code = "bad_http";
		snprintf(t, n, "response header too large (over %d bytes)", MDAS_HTTP_HEAD_MAX);
		return;
	case F_TOO_MANY_HEADERS:
		*code = "bad_http";
		snprintf(t, n, "too many response headers (over %d)", MDAS_HTTP_HEADERS_MAX);
		return;
	case F_NO_MEMORY:
		*code = "transport";
		snprintf(t, n, "out of memory for the response body");
		return;
	case F_NONE:
		break;
	}
	*retryable = retryable_code(res);
	switch (res) {
	case CURLE_FILESIZE_EXCEEDED:
		*code = "too_large";
		*retryable = 0;
		snprintf(t, n, "response larger than http.max_response_bytes");
		return;
	case CURLE_OPERATION_TIMEDOUT: *code = "timeout"; snprintf(t, n, "timed out"); return;
	case CURLE_COULDNT_CONNECT:
		*code = "connect";
		snprintf(t, n, "cannot connect to %.*s", hl, host);
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		*code = "dns";
		snprintf(t, n, "cannot resolve the host name %.*s", hl, host);
		return;
	case CURLE_PARTIAL_FILE:
		*code = "truncated";
		snprintf(t, n, "truncated response (connection closed early)");
		return;
	case CURLE_GOT_NOTHING:
		*code = "reset";
		snprintf(t, n, "connection closed without a response");
		return;
	case CURLE_RECV_ERROR:
		/* curl reports a chunk-size line it cannot read as a receive
		 * error too; only its error text tells the two apart. */
		if (r->chunked && strstr(r->errbuf, "chunked") != NULL) {
			*code = "bad_http";
			*retryable = 0;
			snprintf(t, n, "bad chunked encoding");
			return;
		}
		/* FALLTHROUGH */
	case CURLE_SEND_ERROR:
		*code = "reset";
		snprintf(t, n, "connection reset");
		return;
	case CURLE_OUT_OF_MEMORY:
#if LIBCURL_VERSION_NUM >= 0x080600
	case CURLE_TOO_LARGE:
#endif
		/* curl's own cap on one header line (100 KB): under the caps
		 * above every line reached header_cb, so this is that cap. */
		if (r->in_head) {
			*code = "bad_http";
			snprintf(t, n, "response header too large (over %d bytes)", MDAS_HTTP_HEAD_MAX);
			return;
		}
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		*code = "bad_http";
		snprintf(t, n, "malformed HTTP response");
		return;
	case CURLE_BAD_CONTENT_ENCODING:
		*code = "bad_http";
		snprintf(t, n, "bad content encoding (the compressed body cannot be decoded)");
		return;
	case CURLE_TOO_MANY_REDIRECTS:
		*code = "bad_http";
		snprintf(t, n, "too many redirects");
		return;
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* Every URL built here is http or https: only a redirect can
		 * lead elsewhere (CURLOPT_REDIR_PROTOCOLS_STR refuses it). */
		*code = "transport";
		snprintf(t, n, "redirect to a protocol other than http or https");
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
		*code = "tls";
		snprintf(t, n, "TLS certificate verification failed");
		return;
	default:
		break;
	}
	*code = "transport";
	snprintf(t, n, "%s", r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(res));
}

static int
retryable_status(long status)
{
	return status == 408 || status == 418 || status == 429 ||
	    (status >= 500 && status <= 599);
}

/* Reacts to Binance's used-weight header: past the thresholds the host
 * is slowed or held until the minute window (wall clock) turns over. */
static void
watch_weight(struct mdas_http *h, struct host *ho, double weight, double now)
{
	double ratio = weight / WEIGHT_LIMIT, wait;
	int64_t wall = mdas_now_ms();

	if (ratio >= WEIGHT_HOLD_AT) {
		wait = (double)(60000 - wall % 60000) + 100;
		if (wait > h->o.max_wait_s * 1e3)
			wait = h->o.max_wait_s * 1e3;
		if (now + wait > ho->hold_until)
			ho->hold_until = now + wait;
		ho->rate_factor = 0.25;
	} else if (ratio >= WEIGHT_SLOW_AT)
		ho->rate_factor = 0.25;
	else
		ho->rate_factor = 1;
}

static void
refill(struct mdas_http *h, struct host *ho, double now)
{
	double cap = h->o.rate > 1 ? h->o.rate : 1;

	ho->tokens += (now - ho->last_refill) / 1e3 * h->o.rate * ho->rate_factor;
	if (ho->tokens > cap)
		ho->tokens = cap;
	ho->last_refill = now;
}

/* Starts every queued request that is due and allowed by its host's
 * bucket, in queue order.  Returns the ms until the next one may be, or
 * -1 when the queue is empty or only a free slot can help. */
static double
start_ready(struct mdas_http *h, double now, int *failed)
{
	struct req *r, *prev = NULL, *next;
	double wait = -1, w;

	for (r = h->head; r != NULL; r = next) {
		next = r->next;
		if (h->active >= h->o.jobs)
			break;
		w = 0;
		if (r->not_before > now)
			w = r->not_before - now;
		else if (r->host->hold_until > now)
			w = r->host->hold_until - now;
		else {
			refill(h, r->host, now);
			if (r->host->tokens < 1) {
				w = (1 - r->host->tokens) * 1e3 /
				    (h->o.rate * r->host->rate_factor);
				if (w < 1)
					w = 1;
			}
		}
		if (w > 0) {
			if (wait < 0 || w < wait)
				wait = w;
			prev = r;
			continue;
		}
		r->host->tokens -= 1;
		if (prev != NULL)
			prev->next = next;
		else
			h->head = next;
		if (h->tail == r)
			h->tail = prev;
		r->next = NULL;
		if (start(h, r, now) < 0) {
			*failed = 1;
			req_free(r);
			return -1;
		}
	}
	return wait;
}

static void
finish(struct mdas_http *h, struct req *r, CURLcode res)
{
	struct mdas_http_response resp;
	long status = 0, nconn = 0;
	double now = now_ms(), delay;
	struct req **pp;
	const char *code = NULL;
	int retryable;

	for (pp = &h->running; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	r->next = NULL;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &nconn);
	h->st.connections += nconn;
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	h->active--;
	if (r->weight >= 0)
		watch_weight(h, r->host, r->weight, now);

	if (res != CURLE_OK)
		classify(r, res, &code, &retryable);
	else
		retryable = retryable_status(status);
	if (retryable && r->attempts <= h->o.retries && !(r->flags & MDAS_HTTP_NO_RETRY)) {
		if (r->retry_after >= 0)
			delay = r->retry_after * 1e3 < h->o.max_wait_s * 1e3 ?
			    r->retry_after * 1e3 : h->o.max_wait_s * 1e3;
		else
			delay = mdas_http_backoff_ms(h->o.backoff_base_s, h->o.max_wait_s,
			    r->attempts, rng_next(h));
		r->not_before = now + delay;
		h->st.retries++;
		/* A retry keeps its place ahead of requests not yet tried. */
		enqueue(h, r, 1);
		if (h->o.on_retry != NULL)
			h->o.on_retry(h->o.ctx);
		return;
	}

	memset(&resp, 0, sizeof(resp));
	resp.url = r->url;
	resp.status = res == CURLE_OK || status != 0 ? status : 0;
	resp.body = r->body != NULL ? r->body : "";
	resp.len = r->len;
	resp.failed = res != CURLE_OK;
	resp.code = res != CURLE_OK ? code : NULL;
	resp.error = res != CURLE_OK ? r->errtext : "";
	resp.retryable = retryable;
	resp.attempts = r->attempts;
	resp.elapsed_ms = now - r->first_start;
	resp.fetched_at_ms = mdas_now_ms();
	r->fn(r->ctx, &resp);
	req_free(r);
}

int
mdas_http_run(struct mdas_http *h, struct mdas_error *err)
{
	CURLMsg *msg;
	CURLMcode mc;
	double wait;
	long cto;
	int running, left, failed = 0, timeout, progressed;

	for (;;) {
		if (h->stopped)
			return 0;
		wait = start_ready(h, now_ms(), &failed);
		if (failed)
			return mdas_error_set(err, "cannot start a transfer (out of memory?)");
		if (h->active == 0 && h->head == NULL)
			return 0;
		if ((mc = curl_multi_perform(h->multi, &running)) != CURLM_OK)
			return mdas_error_set(err, "libcurl: %s", curl_multi_strerror(mc));
		progressed = 0;
		while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
			struct req *r = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			finish(h, r, msg->data.result);
			progressed = 1;
			if (h->stopped)
				return 0;
		}
		if (progressed)
			continue;   /* free slots: start queued requests first */
		timeout = POLL_MAX_MS;
		if (wait >= 0 && wait < timeout)
			timeout = (int)ceil(wait);
		if (h->active > 0 && curl_multi_timeout(h->multi, &cto) == CURLM_OK &&
		    cto >= 0 && cto < timeout)
			timeout = (int)cto;
		if (timeout > 0 &&
		    (mc = curl_multi_poll(h->multi, NULL, 0, timeout, NULL)) != CURLM_OK)
			return mdas_error_set(err, "libcurl: %s", curl_multi_strerror(mc));
	}
}

void
mdas_http_stop(struct mdas_http *h)
{
	h->stopped = 1;
}

void
mdas_http_get_stats(const struct mdas_http *h, struct mdas_http_stats *st)
{
	*st = h->st;
}
