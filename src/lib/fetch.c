#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "binance.h"
#include "fetch.h"
#include "jsonw.h"
#include "timeutil.h"
#include "yahoo.h"

#define KLINES_MAX_PAGES 10000   /* 10 million rows: far past any real range */

enum job_type { J_COOKIE, J_CRUMB, J_YQUOTE, J_YCHART, J_BTICKER, J_BKLINES };
enum { CRUMB_NONE, CRUMB_FETCHING, CRUMB_OK, CRUMB_FAILED };

struct sym {
	char name[128];            /* the symbol; for a bad spec, the spec */
	enum mdas_source src;
	int done;                  /* its line is written; -1: bad spec */
	char *bad;                 /* why the spec was rejected */
};

struct fetch;

struct job {
	struct fetch *f;
	enum job_type type;
	size_t *idx;               /* symbols of this request */
	size_t n;
	int crumb_gen;             /* J_YQUOTE: the crumb it was sent with */
	int as_quote;              /* J_YCHART: a quote fallback */
	char *note;
	/* J_BKLINES: pages merged so far */
	struct json_object *rows;
	const char *binterval;
	int pages, attempts;
	int64_t end_ms;
	double elapsed_ms;
	char *first_url;
	struct job *next;          /* waiting for a crumb */
	struct job *prev_all, *next_all;   /* every live job, for cleanup */
};

struct fetch {
	const struct mdas_fetch_opts *o;
	struct mdas_http *http;
	FILE *out;
	struct mdas_jsonw *w;
	struct sym *syms;
	size_t n;
	const struct mdas_fetch_hooks *hooks;
	struct mdas_fetch_stats *st;
	int fatal;
	struct mdas_error ferr;
	int crumb_state, crumb_gen, refreshed;
	char crumb[MDAS_YAHOO_CRUMB_MAX + 1];
	char crumb_why[256];
	struct job *waiting;
	struct job *all;
};

static const char *const known_intervals[] = {
	"1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "4h",
	"1d", "5d", "1wk", "1mo", "3mo",
};
static const struct { const char *name; int64_t days; } known_ranges[] = {
	{ "1d", 1 }, { "5d", 5 }, { "1mo", 30 }, { "3mo", 91 }, { "6mo", 182 },
	{ "1y", 365 }, { "2y", 730 }, { "5y", 1826 }, { "10y", 3652 },
	{ "ytd", -1 }, { "max", -2 },
};

int
mdas_fetch_interval_known(const char *interval)
{
	size_t i;

	for (i = 0; i < sizeof(known_intervals) / sizeof(known_intervals[0]); i++)
		if (strcmp(interval, known_intervals[i]) == 0)
			return 1;
	return 0;
}

int
mdas_fetch_range_known(const char *range)
{
	size_t i;

	for (i = 0; i < sizeof(known_ranges) / sizeof(known_ranges[0]); i++)
		if (strcmp(range, known_ranges[i].name) == 0)
			return 1;
	return 0;
}

/* Nothing more can be written: stop the engine at once rather than
 * fetch what nobody will see. */
static void
set_fatal(struct fetch *f, int errnum, const char *what)
{
	if (!f->fatal) {
		f->fatal = 1;
		mdas_error_errno(&f->ferr, errnum ? errnum : ENOMEM, "%s", what);
		mdas_http_stop(f->http);
	}
}

static void
progress(struct fetch *f)
{
	mdas_http_get_stats(f->http, &f->st->http);
	if (f->hooks != NULL && f->hooks->on_progress != NULL)
		f->hooks->on_progress(f->hooks->ctx, f->st);
}

static void
on_retry(void *ctx)
{
	progress(ctx);
}

static void
put_time(struct mdas_jsonw *w, int64_t ms)
{
	char iso[MDAS_ISO_MAX];

	if (mdas_format_iso_ms(ms, iso) < 0)
		mdas_jsonw_null(w);
	else
		mdas_jsonw_string(w, iso);
}

static void
write_line(struct fetch *f, size_t i, int failed)
{
	if (mdas_jsonw_write_line(f->w, f->out) < 0)
		set_fatal(f, errno, "standard output");
	/* Flushed per line so a pipeline sees each symbol as it lands. */
	else if (fflush(f->out) != 0)
		set_fatal(f, errno, "standard output");
	f->syms[i].done = 1;
	f->st->done++;
	if (failed)
		f->st->failed++;
	progress(f);
}

static void
emit_raw(struct fetch *f, size_t i, const char *endpoint, const char *kind,
    const char *url, long status, int64_t fetched_at, double elapsed_ms,
    int attempts, const char *note, struct json_object *payload)
{
	struct mdas_jsonw *w = f->w;
	struct sym *s = &f->syms[i];

	if (s->done)
		return;
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "type"); mdas_jsonw_string(w, "raw");
	mdas_jsonw_key(w, "source"); mdas_jsonw_string(w, mdas_source_name(s->src));
	mdas_jsonw_key(w, "endpoint"); mdas_jsonw_string(w, endpoint);
	mdas_jsonw_key(w, "kind"); mdas_jsonw_string(w, kind);
	mdas_jsonw_key(w, "symbol"); mdas_jsonw_string(w, s->name);
	if (strcmp(kind, "history") == 0) {
		mdas_jsonw_key(w, "interval");
		mdas_jsonw_string(w, f->o->interval);
	}
	mdas_jsonw_key(w, "url"); mdas_jsonw_string(w, url);
	mdas_jsonw_key(w, "http_status"); mdas_jsonw_int(w, status);
	mdas_jsonw_key(w, "fetched_at"); put_time(w, fetched_at);
	mdas_jsonw_key(w, "elapsed_ms"); mdas_jsonw_number(w, round(elapsed_ms * 10) / 10);
	mdas_jsonw_key(w, "attempts"); mdas_jsonw_int(w, attempts);
	if (note != NULL) {
		mdas_jsonw_key(w, "note");
		mdas_jsonw_string(w, note);
	}
	mdas_jsonw_key(w, "payload"); mdas_jsonw_json(w, payload);
	mdas_jsonw_end_object(w);
	write_line(f, i, 0);
}

static void
emit_error(struct fetch *f, size_t i, long status, const char *code,
    const char *message, int retryable, int attempts, int64_t fetched_at)
{
	struct mdas_jsonw *w = f->w;
	struct sym *s = &f->syms[i];

	if (s->done)
		return;
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "type"); mdas_jsonw_string(w, "error");
	mdas_jsonw_key(w, "stage"); mdas_jsonw_string(w, "fetch");
	mdas_jsonw_key(w, "source"); mdas_jsonw_string(w, mdas_source_name(s->src));
	mdas_jsonw_key(w, "symbol"); mdas_jsonw_string(w, s->name);
	mdas_jsonw_key(w, "http_status");
	if (status > 0)
		mdas_jsonw_int(w, status);
	else
		mdas_jsonw_null(w);
	mdas_jsonw_key(w, "code"); mdas_jsonw_string(w, code);
	mdas_jsonw_key(w, "message"); mdas_jsonw_string(w, message);
	mdas_jsonw_key(w, "retryable"); mdas_jsonw_bool(w, retryable);
	mdas_jsonw_key(w, "attempts"); mdas_jsonw_int(w, attempts);
	mdas_jsonw_key(w, "fetched_at"); put_time(w, fetched_at);
	mdas_jsonw_end_object(w);
	write_line(f, i, 1);
	if (f->hooks != NULL && f->hooks->on_failure != NULL)
		f->hooks->on_failure(f->hooks->ctx, mdas_source_name(s->src), s->name,
		    status, code, message);
}

/* One symbol's share of a batched quote answer: its object, or an error
 * when the answer left it out (how both sources say "unknown symbol"). */
static void
emit_batched(struct fetch *f, size_t i, const struct mdas_http_response *r,
    const char *endpoint, const char *url, struct json_object *obj)
{
	char msg[100];

	if (obj != NULL) {
		emit_raw(f, i, endpoint, "quote", url, r->status, r->fetched_at_ms,
		    r->elapsed_ms, r->attempts, NULL, obj);
		return;
	}
	snprintf(msg, sizeof(msg), "no such symbol (missing from the %s response)",
	    strcmp(endpoint, "quote") == 0 ? "quote" : "ticker");
	emit_error(f, i, r->status, "Not Found", msg, 0, r->attempts, r->fetched_at_ms);
}

static void
fail_all(struct fetch *f, const struct job *j, long status, const char *code,
    const char *message, int retryable, int attempts, int64_t fetched_at)
{
	size_t k;

	for (k = 0; k < j->n; k++)
		emit_error(f, j->idx[k], status, code, message, retryable, attempts, fetched_at);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->prev_all != NULL)
		j->prev_all->next_all = j->next_all;
	else if (j->f->all == j)
		j->f->all = j->next_all;
	if (j->next_all != NULL)
		j->next_all->prev_all = j->prev_all;
	free(j->idx);
	free(j->note);
	free(j->first_url);
	json_object_put(j->rows);
	free(j);
}

static struct job *
job_new(struct fetch *f, enum job_type type, const size_t *idx, size_t n)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL || (n > 0 && (j->idx = malloc(n * sizeof(*idx))) == NULL)) {
		free(j);
		set_fatal(f, ENOMEM, "fetch");
		return NULL;
	}
	j->f = f;
	j->type = type;
	j->next_all = f->all;
	if (f->all != NULL)
		f->all->prev_all = j;
	f->all = j;
	if (n > 0)
		memcpy(j->idx, idx, n * sizeof(*idx));
	j->n = n;
	return j;
}

static void done_cb(void *ctx, const struct mdas_http_response *r);

/* Queues url for j; takes url (malloc'd, may be NULL: out of memory). */
static void
submit(struct fetch *f, struct job *j, char *url, int flags)
{
	struct mdas_error err;

	if (url == NULL || mdas_http_get(f->http, url, flags, done_cb, j, &err) < 0) {
		set_fatal(f, ENOMEM, "fetch");
		job_free(j);
	}
	free(url);
}

/* Stable words for transport failures: curl's own texts carry timings
 * and byte counts that differ from run to run.  Failures to reach a host
 * name it, since the fix is in that host's base_url setting. */
static const char *
transport_text(const struct mdas_http_response *r, const char **code,
    char *buf, size_t n)
{
	const char *host = r->url != NULL ? strstr(r->url, "://") : NULL;
	int hostlen = 0;

	if (host != NULL) {
		host += 3;
		hostlen = (int)strcspn(host, "/?#");
	}
	if (r->too_large) {
		*code = "too_large";
		return "response larger than http.max_response_bytes";
	}
	switch (r->curl_code) {
	case CURLE_OPERATION_TIMEDOUT: *code = "timeout"; return "timed out";
	case CURLE_COULDNT_CONNECT:
		*code = "connect";
		snprintf(buf, n, "cannot connect to %.*s", hostlen, host != NULL ? host : "");
		return buf;
	case CURLE_COULDNT_RESOLVE_HOST:
		*code = "dns";
		snprintf(buf, n, "cannot resolve the host name %.*s", hostlen,
		    host != NULL ? host : "");
		return buf;
	case CURLE_PARTIAL_FILE:
		*code = "truncated";
		return "truncated response (connection closed early)";
	case CURLE_GOT_NOTHING:
		*code = "reset";
		return "connection closed without a response";
	case CURLE_SEND_ERROR: case CURLE_RECV_ERROR:
		*code = "reset";
		return "connection reset";
	case CURLE_PEER_FAILED_VERIFICATION:
		*code = "tls";
		return "TLS certificate verification failed";
	default:
		*code = "transport";
		return r->error;
	}
}

/* Parses a body that should be JSON.  On failure returns NULL and says
 * what came instead, without quoting anything that could be long. */
static struct json_object *
parse_body(const struct mdas_http_response *r, char *why, size_t n)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error e;
	size_t i = 0, used;

	while (i < r->len && strchr(" \t\r\n", r->body[i]) != NULL)
		i++;
	if (i == r->len) {
		snprintf(why, n, "empty body instead of JSON");
		return NULL;
	}
	if (r->body[i] == '<') {
		snprintf(why, n, "HTML instead of JSON");
		return NULL;
	}
	if (r->body[i] != '{' && r->body[i] != '[') {
		size_t l = strcspn(r->body + i, "\r\n");

		snprintf(why, n, "text instead of JSON: \"%.*s%s\"",
		    (int)(l > 60 ? 60 : l), r->body + i, l > 60 ? "..." : "");
		for (char *p = why; *p != '\0'; p++)
			if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f)
				*p = '?';
		return NULL;
	}
	if ((tok = json_tokener_new()) == NULL) {
		snprintf(why, n, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, r->body, (int)r->len);
	e = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e == json_tokener_continue) {
		snprintf(why, n, "truncated JSON");
		return NULL;
	}
	if (obj == NULL || e != json_tokener_success) {
		json_object_put(obj);
		snprintf(why, n, "malformed JSON (%s)", json_tokener_error_desc(e));
		return NULL;
	}
	for (i = used; i < r->len; i++)
		if (strchr(" \t\r\n", r->body[i]) == NULL) {
			json_object_put(obj);
			snprintf(why, n, "malformed JSON (text after the value)");
			return NULL;
		}
	return obj;
}

/* "HTTP 503" plus a hint of what the body was. */
static void
status_text(const struct mdas_http_response *r, char *buf, size_t n)
{
	char why[160];
	struct json_object *obj;

	if (r->len == 0)
		snprintf(buf, n, "HTTP %ld", r->status);
	else if ((obj = parse_body(r, why, sizeof(why))) != NULL) {
		json_object_put(obj);
		snprintf(buf, n, "HTTP %ld", r->status);
	} else if (strncmp(why, "text instead of JSON: \"", 23) == 0) {
		/* A plain-text body is the message: "HTTP 429: Too Many Requests". */
		size_t l = strlen(why + 23);

		snprintf(buf, n, "HTTP %ld: %.*s", r->status, (int)(l > 0 ? l - 1 : 0), why + 23);
	} else
		snprintf(buf, n, "HTTP %ld: %s", r->status, why);
}

/* ---- Yahoo ---------------------------------------------------------- */

static void
yahoo_chart(struct fetch *f, size_t i, int as_quote, const char *note)
{
	const struct mdas_fetch_opts *o = f->o;
	struct job *j = job_new(f, J_YCHART, &i, 1);
	char *url;

	if (j == NULL)
		return;
	j->as_quote = as_quote;
	if (note != NULL && (j->note = strdup(note)) == NULL) {
		set_fatal(f, ENOMEM, "fetch");
		job_free(j);
		return;
	}
	if (as_quote)
		url = mdas_yahoo_chart_url(o->yahoo_base, f->syms[i].name, "1d", "1d", 0, 0, 0);
	else
		url = mdas_yahoo_chart_url(o->yahoo_base, f->syms[i].name, o->interval, o->range,
		    o->start_ms / 1000, o->end_ms / 1000, 1);
	submit(f, j, url, 0);
}

static void
yahoo_fallback(struct fetch *f, struct job *j, const char *reason)
{
	char note[400];
	size_t k;

	snprintf(note, sizeof(note), "%s; price and volume from the chart endpoint's meta", reason);
	for (k = 0; k < j->n; k++)
		yahoo_chart(f, j->idx[k], 1, note);
	job_free(j);
}

static void
yahoo_send_quote(struct fetch *f, struct job *j)
{
	const char *names[MDAS_YAHOO_QUOTE_BATCH];
	size_t k;

	for (k = 0; k < j->n; k++)
		names[k] = f->syms[j->idx[k]].name;
	j->crumb_gen = f->crumb_gen;
	submit(f, j, mdas_yahoo_quote_url(f->o->yahoo_base, names, j->n, f->crumb), 0);
}

static void
yahoo_start_crumb(struct fetch *f)
{
	struct job *j;

	if (f->crumb_state == CRUMB_FETCHING)
		return;
	f->crumb_state = CRUMB_FETCHING;
	if ((j = job_new(f, J_COOKIE, NULL, 0)) == NULL)
		return;
	/* Any answer of the cookie URL will do: only its cookies matter. */
	submit(f, j, strdup(f->o->yahoo_cookie), MDAS_HTTP_NO_RETRY | MDAS_HTTP_URGENT);
}

static void
yahoo_release_waiting(struct fetch *f)
{
	struct job *j, *next;

	j = f->waiting;
	f->waiting = NULL;
	for (; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		if (f->crumb_state == CRUMB_OK)
			yahoo_send_quote(f, j);
		else
			yahoo_fallback(f, j, f->crumb_why);
	}
}

static void
yahoo_crumb_done(struct fetch *f, const struct mdas_http_response *r)
{
	char tbuf[300];
	const char *why, *code;

	if (r->curl_code != 0) {
		why = transport_text(r, &code, tbuf, sizeof(tbuf));
		snprintf(f->crumb_why, sizeof(f->crumb_why), "crumb flow failed (getcrumb: %s)", why);
		f->crumb_state = CRUMB_FAILED;
	} else if (mdas_yahoo_crumb_check(r->status, r->body, r->len, f->crumb, &why) < 0) {
		char st[200];

		if (r->status != 200)
			status_text(r, st, sizeof(st));
		snprintf(f->crumb_why, sizeof(f->crumb_why), "crumb flow failed (getcrumb: %s)",
		    r->status != 200 ? st : why);
		f->crumb_state = CRUMB_FAILED;
	} else {
		f->crumb_state = CRUMB_OK;
		f->crumb_gen++;
	}
	yahoo_release_waiting(f);
}

static void
yahoo_quote_done(struct fetch *f, struct job *j, const struct mdas_http_response *r)
{
	char tbuf[300];
	struct json_object *body, *results, *q;
	const char *code, *desc;
	char why[300];
	size_t k;

	if (r->status == 401) {
		if (f->crumb_state == CRUMB_FETCHING) {
			j->next = f->waiting;
			f->waiting = j;
			return;
		}
		if (f->crumb_state == CRUMB_OK && j->crumb_gen < f->crumb_gen) {
			yahoo_send_quote(f, j);
			return;
		}
		if (!f->refreshed) {
			/* The crumb went stale: one new cookie and crumb, then
			 * every batch that was refused goes again. */
			f->refreshed = 1;
			j->next = f->waiting;
			f->waiting = j;
			yahoo_start_crumb(f);
			return;
		}
		body = parse_body(r, why, sizeof(why));
		if (body != NULL && mdas_yahoo_error(body, "finance", &code, &desc) && desc != NULL)
			snprintf(why, sizeof(why), "quote endpoint refused the crumb after a refresh (HTTP 401: %s)", desc);
		else
			snprintf(why, sizeof(why), "quote endpoint refused the crumb after a refresh (HTTP 401)");
		json_object_put(body);
		yahoo_fallback(f, j, why);
		return;
	}
	if (r->curl_code != 0) {
		desc = transport_text(r, &code, tbuf, sizeof(tbuf));
		fail_all(f, j, r->status, code, desc, r->retryable, r->attempts, r->fetched_at_ms);
		goto done;
	}
	if ((body = parse_body(r, why, sizeof(why))) == NULL) {
		if (r->status != 200)
			status_text(r, why, sizeof(why));
		fail_all(f, j, r->status, r->status != 200 ? NULL : "bad_response", why,
		    r->retryable, r->attempts, r->fetched_at_ms);
		goto done;
	}
	if (mdas_yahoo_error(body, "finance", &code, &desc)) {
		fail_all(f, j, r->status, code, desc != NULL ? desc : "error without a description",
		    r->retryable, r->attempts, r->fetched_at_ms);
	} else if (r->status != 200) {
		status_text(r, why, sizeof(why));
		fail_all(f, j, r->status, NULL, why, r->retryable, r->attempts, r->fetched_at_ms);
	} else if ((results = mdas_yahoo_quote_results(body)) == NULL) {
		fail_all(f, j, r->status, "bad_response", "JSON without quoteResponse.result",
		    0, r->attempts, r->fetched_at_ms);
	} else {
		/* The crumb is a session secret: the envelope's URL (which
		 * travels on into data files) gets a placeholder instead. */
		char url[4096];
		const char *c = strstr(r->url, "&crumb=");

		snprintf(url, sizeof(url), "%.*s%s", c != NULL ? (int)(c - r->url) : (int)strlen(r->url),
		    r->url, c != NULL ? "&crumb=REDACTED" : "");
		for (k = 0; k < j->n; k++) {
			size_t i = j->idx[k];

			q = mdas_yahoo_find_quote(results, f->syms[i].name);
			emit_batched(f, i, r, "quote", url, q);
		}
	}
	json_object_put(body);
done:
	job_free(j);
}

static void
yahoo_chart_done(struct fetch *f, struct job *j, const struct mdas_http_response *r)
{
	char tbuf[300];
	struct json_object *body;
	const char *code, *desc;
	char why[300];
	size_t i = j->idx[0];

	if (r->curl_code != 0) {
		desc = transport_text(r, &code, tbuf, sizeof(tbuf));
		emit_error(f, i, r->status, code, desc, r->retryable, r->attempts, r->fetched_at_ms);
	} else if ((body = parse_body(r, why, sizeof(why))) == NULL) {
		if (r->status != 200)
			status_text(r, why, sizeof(why));
		emit_error(f, i, r->status, r->status != 200 ? NULL : "bad_response", why,
		    r->retryable, r->attempts, r->fetched_at_ms);
	} else {
		if (mdas_yahoo_error(body, "chart", &code, &desc))
			emit_error(f, i, r->status, code,
			    desc != NULL ? desc : "error without a description",
			    r->retryable, r->attempts, r->fetched_at_ms);
		else if (r->status != 200) {
			status_text(r, why, sizeof(why));
			emit_error(f, i, r->status, NULL, why, r->retryable, r->attempts,
			    r->fetched_at_ms);
		} else if (mdas_yahoo_chart_result(body) == NULL)
			emit_error(f, i, r->status, "bad_response", "JSON without chart.result",
			    0, r->attempts, r->fetched_at_ms);
		else
			emit_raw(f, i, "chart", j->as_quote ? "quote" : "history", r->url,
			    r->status, r->fetched_at_ms, r->elapsed_ms, r->attempts, j->note, body);
		json_object_put(body);
	}
	job_free(j);
}

/* ---- Binance -------------------------------------------------------- */

static void
binance_fail(struct fetch *f, struct job *j, const struct mdas_http_response *r,
    struct json_object *body, const char *why)
{
	const char *msg = NULL, *hs, *he;
	char text[600], code[32];
	int64_t c = 0;
	int have = body != NULL && mdas_binance_error(body, &c, &msg);

	if (have)
		snprintf(code, sizeof(code), "%lld", (long long)c);
	if (r->status == 451) {
		/* Final: no retry helps; only another host does. */
		hs = strstr(r->url, "://");
		hs = hs != NULL ? hs + 3 : r->url;
		he = hs + strcspn(hs, "/?#");
		snprintf(text, sizeof(text),
		    "HTTP 451: %.*s refuses this location (%s); set data_sources.binance.base_url "
		    "(or MDAS_BINANCE_BASE_URL) to a Binance host that serves your location",
		    (int)(he - hs), hs, have ? msg : "restricted location");
		fail_all(f, j, r->status, have ? code : NULL, text, 0, r->attempts, r->fetched_at_ms);
		return;
	}
	if (have) {
		fail_all(f, j, r->status, code, msg, r->retryable, r->attempts, r->fetched_at_ms);
		return;
	}
	if (r->status != 200) {
		status_text(r, text, sizeof(text));
		fail_all(f, j, r->status, NULL, text, r->retryable, r->attempts, r->fetched_at_ms);
		return;
	}
	fail_all(f, j, r->status, "bad_response", why, 0, r->attempts, r->fetched_at_ms);
}

static void
binance_ticker(struct fetch *f, const size_t *idx, size_t n)
{
	const char *names[MDAS_BINANCE_TICKER_BATCH];
	struct job *j = job_new(f, J_BTICKER, idx, n);
	size_t k;

	if (j == NULL)
		return;
	for (k = 0; k < n; k++)
		names[k] = f->syms[idx[k]].name;
	submit(f, j, mdas_binance_ticker_url(f->o->binance_base, names, n), 0);
}

static void
binance_ticker_done(struct fetch *f, struct job *j, const struct mdas_http_response *r)
{
	char tbuf[300];
	struct json_object *body, *o;
	const char *code, *msg;
	char why[300];
	int64_t c;
	size_t k;

	if (r->curl_code != 0) {
		msg = transport_text(r, &code, tbuf, sizeof(tbuf));
		fail_all(f, j, r->status, code, msg, r->retryable, r->attempts, r->fetched_at_ms);
		goto done;
	}
	body = parse_body(r, why, sizeof(why));
	if (r->status == 400 && j->n > 1 && body != NULL && mdas_binance_error(body, &c, &msg) &&
	    c == MDAS_BINANCE_INVALID_SYMBOL) {
		/* One bad symbol fails the whole batch: ask for each alone so
		 * the good ones still arrive and the bad one is named. */
		for (k = 0; k < j->n; k++)
			binance_ticker(f, &j->idx[k], 1);
		json_object_put(body);
		goto done;
	}
	if (r->status != 200 || body == NULL || !(json_object_is_type(body, json_type_array) ||
	    json_object_is_type(body, json_type_object)) ||
	    (json_object_is_type(body, json_type_object) && mdas_binance_error(body, &c, &msg))) {
		binance_fail(f, j, r, body, body == NULL ? why : "unexpected JSON");
		json_object_put(body);
		goto done;
	}
	for (k = 0; k < j->n; k++) {
		size_t i = j->idx[k];
		struct json_object *s;

		if (json_object_is_type(body, json_type_array))
			o = mdas_binance_find_symbol(body, f->syms[i].name);
		else
			o = j->n == 1 && json_object_object_get_ex(body, "symbol", &s) &&
			    strcmp(json_object_get_string(s), f->syms[i].name) == 0 ? body : NULL;
		emit_batched(f, i, r, "ticker24hr", r->url, o);
	}
	json_object_put(body);
done:
	job_free(j);
}

static void
binance_klines_page(struct fetch *f, struct job *j, int64_t start)
{
	char *url = mdas_binance_klines_url(f->o->binance_base, f->syms[j->idx[0]].name,
	    j->binterval, start, j->end_ms, MDAS_BINANCE_KLINES_LIMIT);

	if (url != NULL && j->first_url == NULL && (j->first_url = strdup(url)) == NULL) {
		free(url);
		url = NULL;
	}
	submit(f, j, url, 0);
}

static void
binance_klines(struct fetch *f, size_t i, const char *binterval)
{
	const struct mdas_fetch_opts *o = f->o;
	int64_t now = o->now_ms > 0 ? o->now_ms : mdas_now_ms(), start = 0, y;
	struct job *j = job_new(f, J_BKLINES, &i, 1);
	unsigned m, d;
	size_t k;

	if (j == NULL)
		return;
	if ((j->rows = json_object_new_array()) == NULL) {
		set_fatal(f, ENOMEM, "fetch");
		job_free(j);
		return;
	}
	j->binterval = binterval;
	if (o->range != NULL) {
		j->end_ms = now;
		for (k = 0; k < sizeof(known_ranges) / sizeof(known_ranges[0]); k++)
			if (strcmp(o->range, known_ranges[k].name) == 0)
				break;
		if (k == sizeof(known_ranges) / sizeof(known_ranges[0]) || known_ranges[k].days == -2)
			start = 0;     /* max: Binance starts at the listing */
		else if (known_ranges[k].days == -1) {
			mdas_civil_from_days(now / 86400000, &y, &m, &d);
			start = mdas_days_from_civil(y, 1, 1) * 86400000;
		} else
			start = now - known_ranges[k].days * 86400000;
	} else {
		start = o->start_ms;
		j->end_ms = o->end_ms - 1;
	}
	binance_klines_page(f, j, start);
}

static void
binance_klines_done(struct fetch *f, struct job *j, const struct mdas_http_response *r)
{
	char tbuf[300];
	struct json_object *body, *last, *t;
	const char *code, *msg;
	char why[300], note[64];
	size_t k, n;
	int64_t next;

	j->attempts += r->attempts;
	j->elapsed_ms += r->elapsed_ms;
	if (r->curl_code != 0) {
		msg = transport_text(r, &code, tbuf, sizeof(tbuf));
		fail_all(f, j, r->status, code, msg, r->retryable, j->attempts, r->fetched_at_ms);
		goto done;
	}
	body = parse_body(r, why, sizeof(why));
	if (r->status != 200 || body == NULL || !json_object_is_type(body, json_type_array)) {
		binance_fail(f, j, r, body, body == NULL ? why : "unexpected JSON");
		json_object_put(body);
		goto done;
	}
	n = json_object_array_length(body);
	for (k = 0; k < n; k++)
		if (json_object_array_add(j->rows, json_object_get(json_object_array_get_idx(body, k))) < 0) {
			set_fatal(f, ENOMEM, "fetch");
			json_object_put(body);
			goto done;
		}
	j->pages++;
	last = n > 0 ? json_object_array_get_idx(body, n - 1) : NULL;
	t = last != NULL ? json_object_array_get_idx(last, 0) : NULL;
	next = t != NULL && json_object_is_type(t, json_type_int) ? json_object_get_int64(t) + 1 : -1;
	json_object_put(body);
	/* A full page means there may be more: go on from the row after the
	 * last one until the end of the range. */
	if (n == MDAS_BINANCE_KLINES_LIMIT && next > 0 && next <= j->end_ms &&
	    j->pages < KLINES_MAX_PAGES) {
		binance_klines_page(f, j, next);
		return;
	}
	if (j->pages > 1)
		snprintf(note, sizeof(note), "%d pages merged", j->pages);
	emit_raw(f, j->idx[0], "klines", "history", j->first_url, r->status, r->fetched_at_ms,
	    j->elapsed_ms, j->attempts, j->pages > 1 ? note : NULL, j->rows);
done:
	job_free(j);
}

/* ---- the run -------------------------------------------------------- */

static void
done_cb(void *ctx, const struct mdas_http_response *r)
{
	struct job *j = ctx;
	struct fetch *f = j->f;

	if (f->fatal) {
		job_free(j);
		return;
	}
	switch (j->type) {
	case J_COOKIE:
		job_free(j);
		if ((j = job_new(f, J_CRUMB, NULL, 0)) != NULL)
			submit(f, j, mdas_yahoo_getcrumb_url(f->o->yahoo_base), MDAS_HTTP_URGENT);
		break;
	case J_CRUMB:
		job_free(j);
		yahoo_crumb_done(f, r);
		break;
	case J_YQUOTE: yahoo_quote_done(f, j, r); break;
	case J_YCHART: yahoo_chart_done(f, j, r); break;
	case J_BTICKER: binance_ticker_done(f, j, r); break;
	case J_BKLINES: binance_klines_done(f, j, r); break;
	}
}

static int
add_symbols(struct fetch *f, const char *const *specs, size_t n, size_t *nbad)
{
	struct mdas_error err;
	size_t i, k;

	if ((f->syms = calloc(n ? n : 1, sizeof(*f->syms))) == NULL)
		return -1;
	*nbad = 0;
	for (i = 0; i < n; i++) {
		struct sym *s = &f->syms[f->n];

		if (mdas_symbol_resolve(specs[i], f->o->force, &s->src, s->name, &err) < 0) {
			/* Kept, to get its error record: the spec as typed. */
			snprintf(s->name, sizeof(s->name), "%s", specs[i]);
			s->src = f->o->force;
			s->done = -1;
			if ((s->bad = strdup(err.msg)) == NULL)
				return -1;
			(*nbad)++;
			f->n++;
			continue;
		}
		for (k = 0; k < f->n; k++)
			if (f->syms[k].done == 0 && f->syms[k].src == s->src &&
			    strcmp(f->syms[k].name, s->name) == 0)
				break;
		if (k == f->n)
			f->n++;
	}
	return 0;
}

int
mdas_fetch_run(const struct mdas_fetch_opts *o, const struct mdas_http_opts *http_opts,
    const char *const *specs, size_t n, FILE *out,
    const struct mdas_fetch_hooks *hooks, struct mdas_fetch_stats *st,
    struct mdas_error *err)
{
	struct fetch fs, *f = &fs;
	struct mdas_http_opts ho = *http_opts;
	struct mdas_error rerr;
	size_t i, k, nbad, batch[MDAS_BINANCE_TICKER_BATCH], nb;
	long ymax, bmax;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	memset(st, 0, sizeof(*st));
	f->o = o;
	f->out = out;
	f->hooks = hooks;
	f->st = st;
	ho.on_retry = on_retry;
	ho.ctx = f;
	if ((f->http = mdas_http_new(&ho, err)) == NULL)
		return -1;
	if ((f->w = mdas_jsonw_new()) == NULL || add_symbols(f, specs, n, &nbad) < 0) {
		mdas_error_errno(err, ENOMEM, "fetch");
		goto out;
	}
	st->total = f->n;
	progress(f);

	/* Symbols no request can serve get their error records first. */
	for (i = 0; i < f->n; i++) {
		struct sym *s = &f->syms[i];

		if (s->done < 0) {
			s->done = 0;
			emit_error(f, i, 0, "invalid_symbol", s->bad, 0, 0, mdas_now_ms());
		} else if (o->history && s->src == MDAS_SOURCE_YAHOO &&
		    !mdas_yahoo_interval_ok(o->interval)) {
			snprintf(rerr.msg, sizeof(rerr.msg), "interval %s is not offered by yahoo", o->interval);
			emit_error(f, i, 0, "bad_interval", rerr.msg, 0, 0, mdas_now_ms());
		} else if (o->history && s->src == MDAS_SOURCE_BINANCE &&
		    mdas_binance_interval(o->interval) == NULL) {
			snprintf(rerr.msg, sizeof(rerr.msg), "interval %s is not offered by binance", o->interval);
			emit_error(f, i, 0, "bad_interval", rerr.msg, 0, 0, mdas_now_ms());
		}
	}

	ymax = o->batch > 0 && o->batch < MDAS_YAHOO_QUOTE_BATCH ? o->batch : MDAS_YAHOO_QUOTE_BATCH;
	bmax = o->batch > 0 && o->batch < MDAS_BINANCE_TICKER_BATCH ? o->batch : MDAS_BINANCE_TICKER_BATCH;
	for (k = 0; k < 2 && !f->fatal; k++) {
		enum mdas_source src = k == 0 ? MDAS_SOURCE_BINANCE : MDAS_SOURCE_YAHOO;
		long max = src == MDAS_SOURCE_YAHOO ? ymax : bmax;

		nb = 0;
		for (i = 0; i <= f->n && !f->fatal; i++) {
			int last = i == f->n;

			if (!last && (f->syms[i].done || f->syms[i].src != src))
				continue;
			if (!last && o->history) {
				if (src == MDAS_SOURCE_YAHOO)
					yahoo_chart(f, i, 0, NULL);
				else
					binance_klines(f, i, mdas_binance_interval(o->interval));
				continue;
			}
			if (!last)
				batch[nb++] = i;
			if (nb > 0 && (last || nb == (size_t)max)) {
				if (src == MDAS_SOURCE_BINANCE)
					binance_ticker(f, batch, nb);
				else {
					struct job *j = job_new(f, J_YQUOTE, batch, nb);

					if (j != NULL) {
						j->next = f->waiting;
						f->waiting = j;
					}
				}
				nb = 0;
			}
		}
	}
	if (f->waiting != NULL && !f->fatal)
		yahoo_start_crumb(f);

	if (!f->fatal && mdas_http_run(f->http, err) < 0)
		goto out;
	if (f->fatal) {
		*err = f->ferr;
		goto out;
	}
	/* Belt and braces: every symbol gets a line, even after a bug. */
	for (i = 0; i < f->n; i++)
		if (!f->syms[i].done)
			emit_error(f, i, 0, "internal", "no answer was recorded (internal error)",
			    0, 0, mdas_now_ms());
	if (f->fatal) {
		*err = f->ferr;
		goto out;
	}
	rc = 0;
out:
	mdas_http_get_stats(f->http, &st->http);
	/* Jobs left after a stop (queued, running or waiting for a crumb). */
	while (f->all != NULL)
		job_free(f->all);
	mdas_http_free(f->http);
	mdas_jsonw_free(f->w);
	for (i = 0; f->syms != NULL && i < f->n; i++)
		free(f->syms[i].bad);
	free(f->syms);
	return rc;
}
