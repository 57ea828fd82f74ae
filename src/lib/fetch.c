#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "binance.h"
#include "fetch.h"
#include "fetchbody.h"
#include "jsonget.h"
#include "jsonw.h"
#include "sourcelimits.h"
#include "shard.h"
#include "timeutil.h"
#include "utf8.h"
#include "yahoo.h"

#define SPEC_MAX 1024               /* bytes of a bad spec kept for its record */

enum job_type { J_COOKIE, J_CRUMB, J_YQUOTE, J_YCHART, J_BTICKER, J_BKLINES };
enum { CRUMB_NONE, CRUMB_FETCHING, CRUMB_OK, CRUMB_FAILED };

struct sym {
	char name[MDAS_SYMBOL_MAX + 1];   /* the symbol */
	char *spec;                /* a bad spec as typed (cut at SPEC_MAX), else NULL */
	enum mdas_source src;
	int done;                  /* its last line is written; -1: bad spec */
	int more;                  /* its next line is not its last (a window) */
	int failed_any;            /* one of its lines was an error record */
	int main_done;             /* the line of its normal request is written */
	size_t spans;              /* gap requests whose line is still to come */
	const struct mdas_span *sp; /* its gaps (--spans), asked one after another */
	size_t sp_n, sp_k;         /* how many; the next to look at */
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
	int windowed;              /* J_YCHART: the windows of plan, one at a time */
	struct mdas_plan plan;
	int64_t win;               /* the window asked for (0: the oldest) */
	int span;                  /* a gap asked for again (--spans): one line */
	char *note;
	/* J_BKLINES: pages merged so far */
	struct mdas_klines *km;
	const char *binterval;
	int attempts;
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
	int64_t now;               /* "now" of the whole run */
	int in_span;               /* the answer being written is a gap request's */
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

static void line_done(struct fetch *f, size_t i, int failed);
static void spans_next(struct fetch *f, size_t i);
static void history_main(struct fetch *f, size_t i);

static void
write_line(struct fetch *f, size_t i, int failed)
{
	if (mdas_jsonw_write_line(f->w, f->out) < 0)
		set_fatal(f, errno, "standard output");
	/* Flushed per line so a pipeline sees each symbol as it lands. */
	else if (fflush(f->out) != 0)
		set_fatal(f, errno, "standard output");
	line_done(f, i, failed);
}

/* Symbol i's line (written or, for a gap the source still has no bars
 * for, left out) is done: the symbol is, after its last. */
static void
line_done(struct fetch *f, size_t i, int failed)
{
	f->syms[i].failed_any |= failed;
	if (f->in_span) {
		/* A gap's line: the next gap, then the normal request.  In
		 * time order, oldest first: mdas-normalize drops bars older
		 * than one it has written for their series. */
		if (f->syms[i].spans > 0)
			f->syms[i].spans--;
		if (!f->fatal && f->syms[i].spans > 0) {
			spans_next(f, i);
			return;
		}
		if (!f->syms[i].main_done) {
			if (!f->fatal) {
				f->in_span = 0;
				history_main(f, i);
				f->in_span = 1;
			}
			return;
		}
	} else {
		if (f->syms[i].more > 0) {
			/* A window of several: the symbol goes on. */
			f->syms[i].more = 0;
			return;
		}
		f->syms[i].main_done = 1;
		if (f->syms[i].spans > 0)
			return;
	}
	f->syms[i].done = 1;
	f->st->done++;
	if (f->syms[i].failed_any)
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
	char spec[3 * SPEC_MAX + 1];

	if (s->done)
		return;
	/* Bytes of a bad spec that are not UTF-8 are replaced, so the
	 * record stays valid JSON text. */
	if (s->spec != NULL)
		mdas_utf8_replace(s->spec, strlen(s->spec), spec, sizeof(spec), NULL);
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "type"); mdas_jsonw_string(w, "error");
	mdas_jsonw_key(w, "stage"); mdas_jsonw_string(w, "fetch");
	mdas_jsonw_key(w, "source"); mdas_jsonw_string(w, mdas_source_name(s->src));
	mdas_jsonw_key(w, "symbol"); mdas_jsonw_string(w, s->spec != NULL ? spec : s->name);
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
		f->hooks->on_failure(f->hooks->ctx, mdas_source_name(s->src),
		    s->spec != NULL ? s->spec : s->name, status, code, message);
}

/* The part of symbol i's period, [from, to), that the source no longer
 * serves: not asked for, and said so.  Not a failure of the symbol (what
 * can be served is); the warning goes through on_failure all the same. */
static void
emit_beyond(struct fetch *f, size_t i, const struct mdas_limit *l, int64_t from, int64_t to)
{
	struct mdas_jsonw *w = f->w;
	struct sym *s = &f->syms[i];
	char msg[300], a[MDAS_ISO_MAX], b[MDAS_ISO_MAX];

	if (s->done)
		return;
	if (mdas_format_iso_ms(from, a) < 0)
		snprintf(a, sizeof(a), "%lld ms", (long long)from);
	if (mdas_format_iso_ms(to, b) < 0)
		snprintf(b, sizeof(b), "%lld ms", (long long)to);
	snprintf(msg, sizeof(msg), "%s serves %s: %s to %s is beyond that and was not requested",
	    mdas_source_name(s->src), l->what, a, b);
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "type"); mdas_jsonw_string(w, "error");
	mdas_jsonw_key(w, "stage"); mdas_jsonw_string(w, "fetch");
	mdas_jsonw_key(w, "source"); mdas_jsonw_string(w, mdas_source_name(s->src));
	mdas_jsonw_key(w, "symbol"); mdas_jsonw_string(w, s->name);
	mdas_jsonw_key(w, "interval"); mdas_jsonw_string(w, f->o->interval);
	mdas_jsonw_key(w, "http_status"); mdas_jsonw_null(w);
	mdas_jsonw_key(w, "code"); mdas_jsonw_string(w, "beyond_source_limit");
	mdas_jsonw_key(w, "message"); mdas_jsonw_string(w, msg);
	mdas_jsonw_key(w, "retryable"); mdas_jsonw_bool(w, 0);
	mdas_jsonw_key(w, "attempts"); mdas_jsonw_int(w, 0);
	mdas_jsonw_key(w, "fetched_at"); put_time(w, f->now);
	mdas_jsonw_key(w, "from_ts_ms"); mdas_jsonw_int(w, from);
	mdas_jsonw_key(w, "to_ts_ms"); mdas_jsonw_int(w, to);
	mdas_jsonw_end_object(w);
	f->st->beyond++;
	write_line(f, i, 0);
	if (f->hooks != NULL && f->hooks->on_failure != NULL)
		f->hooks->on_failure(f->hooks->ctx, mdas_source_name(s->src), s->name, 0,
		    "beyond_source_limit", msg);
}

/* Where fetchbody.c's outcomes for one answer go: envelopes and error
 * records of the job's symbols, with the response's status and counts. */
struct answer {
	struct fetch *f;
	const struct job *j;
	const struct mdas_http_response *r;
	const char *endpoint, *kind, *url, *note;
};

/* True when payload, the answer to a gap asked for again, holds no bar:
 * the source still has nothing there.  No envelope is written for it (an
 * empty series would read as a failure of the symbol, whose normal
 * request went well); the gap stays and is reported again. */
static int
span_empty(const struct job *j, struct json_object *payload)
{
	struct json_object *r;

	if (!j->span)
		return 0;
	if (j->type == J_BKLINES)
		return mdas_json_len(payload) == 0;
	r = mdas_json_at(mdas_json_get(mdas_json_get(payload, "chart"), "result"), 0);
	return mdas_json_len(mdas_json_get(r, "timestamp")) == 0;
}

static void
answer_data(void *ctx, size_t k, struct json_object *payload)
{
	const struct answer *a = ctx;

	if (span_empty(a->j, payload)) {
		a->f->st->spans_empty++;
		line_done(a->f, a->j->idx[k], 0);
		return;
	}
	emit_raw(a->f, a->j->idx[k], a->endpoint, a->kind, a->url, a->r->status,
	    a->r->fetched_at_ms, a->r->elapsed_ms, a->r->attempts, a->note, payload);
}

static void
answer_error(void *ctx, size_t k, const char *code, const char *message)
{
	const struct answer *a = ctx;

	emit_error(a->f, a->j->idx[k], a->r->status, code, message, a->r->retryable,
	    a->r->attempts, a->r->fetched_at_ms);
}

/* The symbols of j, for the body functions. */
static void
job_names(const struct fetch *f, const struct job *j, const char **names)
{
	size_t k;

	for (k = 0; k < j->n; k++)
		names[k] = f->syms[j->idx[k]].name;
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
	mdas_klines_free(j->km);
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

/* A transport failure: the same error record for every symbol of j. */
static void
fail_transport(struct fetch *f, const struct job *j, const struct mdas_http_response *r,
    int attempts)
{
	fail_all(f, j, r->status, r->code, r->error, r->retryable, attempts, r->fetched_at_ms);
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

/* The period [*start, *end) of symbol i's history request: from its mark
 * (last_ts_ms inclusive, to now: the forming bar is asked for again),
 * else the range (ending now) or --start/--end.  *is_max: the range is
 * "max" (from the listing, or as far back as the source serves). */
static int
period(struct fetch *f, size_t i, int64_t *start, int64_t *end, int *is_max)
{
	const struct mdas_fetch_opts *o = f->o;
	const struct mdas_mark *m = o->marks != NULL
	    ? mdas_marks_find(o->marks, f->syms[i].src, f->syms[i].name) : NULL;
	int64_t now = f->now, y, step;
	unsigned mo, d;
	size_t k;

	*is_max = 0;
	if (m != NULL) {
		*start = m->last_ts_ms;
		*end = now + 1;
		/* A mark ahead of our clock still gets its bar asked for. */
		step = mdas_interval_ms(o->interval);
		if (*end <= *start)
			*end = *start + (step > 0 ? step : MDAS_DAY_MS);
		f->st->marked++;
		return 1;
	}
	if (o->range == NULL) {
		*start = o->start_ms;
		*end = o->end_ms;
		return 0;
	}
	*end = now + 1;
	for (k = 0; k < sizeof(known_ranges) / sizeof(known_ranges[0]); k++)
		if (strcmp(o->range, known_ranges[k].name) == 0)
			break;
	if (k == sizeof(known_ranges) / sizeof(known_ranges[0]) || known_ranges[k].days == -2) {
		*start = 0;
		*is_max = 1;
	} else if (known_ranges[k].days == -1) {
		mdas_civil_from_days(now / MDAS_DAY_MS, &y, &mo, &d);
		*start = mdas_days_from_civil(y, 1, 1) * MDAS_DAY_MS;
	} else
		*start = now - known_ranges[k].days * MDAS_DAY_MS;
	return 0;
}

static void yahoo_window(struct fetch *f, struct job *j);

/* Symbol i's bars from Yahoo: one chart request with the range when it
 * fits the limits (as Yahoo's own range), else windows of period1/period2
 * inside them, after a beyond_source_limit record for a part too old. */
static void
yahoo_history(struct fetch *f, size_t i)
{
	const struct mdas_fetch_opts *o = f->o;
	const struct mdas_limit *l = mdas_limit_find(MDAS_SOURCE_YAHOO, o->interval);
	struct mdas_plan plan;
	int64_t start, end;
	int is_max, from_mark;
	struct job *j;

	from_mark = period(f, i, &start, &end, &is_max);
	if (is_max && l->lookback_ms > 0)
		start = f->now - l->lookback_ms;   /* "max": all there is, no record */
	mdas_limit_plan(l, start, end, f->now, &plan);
	if (!from_mark && o->range != NULL && !plan.beyond && plan.windows == 1) {
		yahoo_chart(f, i, 0, NULL);
		return;
	}
	if (plan.beyond) {
		f->syms[i].more = plan.windows > 0;
		emit_beyond(f, i, l, plan.start, plan.served_start);
	}
	if (plan.windows == 0 || f->fatal)
		return;
	if ((j = job_new(f, J_YCHART, &i, 1)) == NULL)
		return;
	j->windowed = 1;
	j->plan = plan;
	j->win = 0;
	yahoo_window(f, j);
}

static void
yahoo_window(struct fetch *f, struct job *j)
{
	const struct mdas_fetch_opts *o = f->o;
	int64_t ws, we;
	char note[200];

	mdas_limit_window(&j->plan, j->win, &ws, &we);
	free(j->note);
	j->note = NULL;
	if (j->plan.windows > 1) {
		snprintf(note, sizeof(note), "window %lld of %lld (at most %lld days per request)",
		    (long long)j->win + 1, (long long)j->plan.windows,
		    (long long)(j->plan.span_ms / MDAS_DAY_MS));
		if ((j->note = strdup(note)) == NULL) {
			set_fatal(f, ENOMEM, "fetch");
			job_free(j);
			return;
		}
	}
	/* period2 rounded up: the last millisecond asked for stays inside. */
	submit(f, j, mdas_yahoo_chart_url(o->yahoo_base, f->syms[j->idx[0]].name, o->interval,
	    NULL, ws / 1000, (we + 999) / 1000, 1), 0);
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
	const char *why;
	char st[MDAS_BODY_MSG_MAX];

	if (r->failed) {
		snprintf(f->crumb_why, sizeof(f->crumb_why), "crumb flow failed (getcrumb: %s)",
		    r->error);
		f->crumb_state = CRUMB_FAILED;
	} else if (mdas_yahoo_crumb_check(r->status, r->body, r->len, f->crumb, &why) < 0) {
		if (r->status != 200)
			mdas_body_status_text(r->status, r->body, r->len, st, sizeof(st));
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
	const char *names[MDAS_YAHOO_QUOTE_BATCH];
	char why[MDAS_BODY_MSG_MAX], desc[MDAS_BODY_MSG_MAX], url[4096];
	struct mdas_body_sink sink;
	struct answer a;
	const char *c;

	if (r->status == 401 && !r->failed) {
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
		if (mdas_body_yahoo_error_text(r->body, r->len, "finance", desc, sizeof(desc)))
			snprintf(why, sizeof(why), "quote endpoint refused the crumb after a refresh (HTTP 401: %s)", desc);
		else
			snprintf(why, sizeof(why), "quote endpoint refused the crumb after a refresh (HTTP 401)");
		yahoo_fallback(f, j, why);
		return;
	}
	if (r->failed) {
		fail_transport(f, j, r, r->attempts);
		goto done;
	}
	/* The crumb is a session secret: the envelope's URL (which travels
	 * on into data files) gets a placeholder instead. */
	c = strstr(r->url, "&crumb=");
	snprintf(url, sizeof(url), "%.*s%s", c != NULL ? (int)(c - r->url) : (int)strlen(r->url),
	    r->url, c != NULL ? "&crumb=REDACTED" : "");
	a = (struct answer){ f, j, r, "quote", "quote", url, NULL };
	sink = (struct mdas_body_sink){ answer_data, answer_error, &a };
	job_names(f, j, names);
	mdas_body_yahoo_quotes(r->status, r->body, r->len, names, j->n, &sink);
done:
	job_free(j);
}

static void
yahoo_chart_done(struct fetch *f, struct job *j, const struct mdas_http_response *r)
{
	struct mdas_body_sink sink;
	struct answer a;
	int more = j->windowed && j->win + 1 < j->plan.windows;

	/* A failed window is an error record of its own; the next windows
	 * are asked for all the same. */
	if (!j->span)
		f->syms[j->idx[0]].more = more;
	if (r->failed)
		fail_transport(f, j, r, r->attempts);
	else {
		a = (struct answer){ f, j, r, "chart", j->as_quote ? "quote" : "history",
		    r->url, j->note };
		sink = (struct mdas_body_sink){ answer_data, answer_error, &a };
		mdas_body_yahoo_chart(r->status, r->body, r->len, &sink);
	}
	if (more && !f->fatal) {
		j->win++;
		yahoo_window(f, j);
		return;
	}
	job_free(j);
}

/* ---- Binance -------------------------------------------------------- */

static void
binance_ticker(struct fetch *f, const size_t *idx, size_t n)
{
	const char *names[MDAS_BINANCE_TICKER_BATCH];
	struct job *j = job_new(f, J_BTICKER, idx, n);

	if (j == NULL)
		return;
	job_names(f, j, names);
	submit(f, j, mdas_binance_ticker_url(f->o->binance_base, names, n), 0);
}

static void
binance_ticker_done(struct fetch *f, struct job *j, const struct mdas_http_response *r)
{
	const char *names[MDAS_BINANCE_TICKER_BATCH];
	char msg[MDAS_BODY_MSG_MAX];
	struct mdas_body_sink sink;
	struct answer a;
	int64_t c;
	size_t k;

	if (r->failed) {
		fail_transport(f, j, r, r->attempts);
		goto done;
	}
	if (r->status == 400 && j->n > 1 &&
	    mdas_body_binance_error(r->body, r->len, &c, msg, sizeof(msg)) &&
	    c == MDAS_BINANCE_INVALID_SYMBOL) {
		/* One bad symbol fails the whole batch: ask for each alone so
		 * the good ones still arrive and the bad one is named. */
		for (k = 0; k < j->n; k++)
			binance_ticker(f, &j->idx[k], 1);
		goto done;
	}
	a = (struct answer){ f, j, r, "ticker24hr", "quote", r->url, NULL };
	sink = (struct mdas_body_sink){ answer_data, answer_error, &a };
	job_names(f, j, names);
	mdas_body_binance_tickers(r->status, r->body, r->len, r->url, names, j->n, &sink);
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
	int64_t start, end;
	int is_max;
	struct job *j = job_new(f, J_BKLINES, &i, 1);

	if (j == NULL)
		return;
	j->binterval = binterval;
	/* max: start 0, Binance starts at the listing.  Pages of at most
	 * 1000 rows from startTime (sourcelimits.c), no age limit. */
	period(f, i, &start, &end, &is_max);
	j->end_ms = end - 1;
	if ((j->km = mdas_klines_new(j->end_ms, MDAS_BINANCE_KLINES_LIMIT)) == NULL) {
		set_fatal(f, ENOMEM, "fetch");
		job_free(j);
		return;
	}
	binance_klines_page(f, j, start);
}

static void
binance_klines_done(struct fetch *f, struct job *j, const struct mdas_http_response *r)
{
	char msg[MDAS_BODY_MSG_MAX], note[200];
	const char *code;
	int64_t next = 0;
	int pages;

	j->attempts += r->attempts;
	j->elapsed_ms += r->elapsed_ms;
	if (r->failed) {
		fail_transport(f, j, r, j->attempts);
		goto done;
	}
	switch (mdas_klines_add(j->km, r->status, r->body, r->len, r->url, &next, &code,
	    msg, sizeof(msg))) {
	case MDAS_KLINES_NOMEM:
		set_fatal(f, ENOMEM, "fetch");
		break;
	case MDAS_KLINES_FAILED:
		fail_all(f, j, r->status, code, msg, r->retryable, j->attempts, r->fetched_at_ms);
		break;
	case MDAS_KLINES_MORE:
		binance_klines_page(f, j, next);
		return;
	default:
		/* An empty series ([]) is an envelope too: mdas-normalize
		 * turns it into a no_data error record with the range. */
		pages = mdas_klines_pages(j->km);
		if (pages > 1)
			snprintf(note, sizeof(note), "%s%s%d pages merged", j->note ? j->note : "",
			    j->note ? "; " : "", pages);
		else if (j->note != NULL)
			snprintf(note, sizeof(note), "%s", j->note);
		if (span_empty(j, mdas_klines_rows(j->km))) {
			f->st->spans_empty++;
			line_done(f, j->idx[0], 0);
			break;
		}
		emit_raw(f, j->idx[0], "klines", "history", j->first_url, r->status,
		    r->fetched_at_ms, j->elapsed_ms, j->attempts,
		    pages > 1 || j->note != NULL ? note : NULL, mdas_klines_rows(j->km));
	}
done:
	job_free(j);
}

/* ---- Gaps asked for again (--spans) ---------------------------------- */

/* The note of a gap request's envelope. */
static char *
span_note(const struct mdas_span *sp)
{
	char a[MDAS_ISO_MAX], b[MDAS_ISO_MAX], note[160];

	if (mdas_format_iso_ms(sp->from_ts_ms, a) < 0 || mdas_format_iso_ms(sp->to_ts_ms, b) < 0)
		snprintf(note, sizeof(note), "gap asked for again: %lld to %lld",
		    (long long)sp->from_ts_ms, (long long)sp->to_ts_ms);
	else
		snprintf(note, sizeof(note), "gap asked for again: %s to %s", a, b);
	return strdup(note);
}

/* The request for gap sp of symbol i: [*ws, *we) in ms, inside what the
 * source serves (a Yahoo gap longer than one request may ask for gets
 * its newest window; the rest waits for a later run).  0 when nothing
 * of it is served any more. */
static int
span_period(struct fetch *f, size_t i, const struct mdas_span *sp, int64_t *ws, int64_t *we)
{
	const struct mdas_limit *l = mdas_limit_find(f->syms[i].src, f->o->interval);
	int64_t step = mdas_interval_ms(f->o->interval);
	struct mdas_plan plan;

	if (step <= 0)
		step = 1;
	*ws = sp->from_ts_ms;
	*we = sp->to_ts_ms + step;     /* past the last missing bar's open time */
	if (f->syms[i].src != MDAS_SOURCE_YAHOO)
		return 1;                  /* Binance: paged, any age */
	mdas_limit_plan(l, *ws, *we, f->now, &plan);
	if (plan.windows == 0)
		return 0;
	mdas_limit_window(&plan, plan.windows - 1, ws, we);
	return 1;
}

static void
span_request(struct fetch *f, size_t i, const struct mdas_span *sp, int64_t ws, int64_t we)
{
	enum job_type type = f->syms[i].src == MDAS_SOURCE_YAHOO ? J_YCHART : J_BKLINES;
	struct job *j = job_new(f, type, &i, 1);

	if (j == NULL)
		return;
	j->span = 1;
	if ((j->note = span_note(sp)) == NULL) {
		set_fatal(f, ENOMEM, "fetch");
		job_free(j);
		return;
	}
	f->st->spans_asked++;
	if (type == J_YCHART) {
		submit(f, j, mdas_yahoo_chart_url(f->o->yahoo_base, f->syms[i].name,
		    f->o->interval, NULL, ws / 1000, (we + 999) / 1000, 1), 0);
		return;
	}
	j->binterval = mdas_binance_interval(f->o->interval);
	j->end_ms = we - 1;
	if ((j->km = mdas_klines_new(j->end_ms, MDAS_BINANCE_KLINES_LIMIT)) == NULL) {
		set_fatal(f, ENOMEM, "fetch");
		job_free(j);
		return;
	}
	binance_klines_page(f, j, ws);
}

/* Asks for symbol i's next gap that the source still serves. */
static void
spans_next(struct fetch *f, size_t i)
{
	struct sym *s = &f->syms[i];
	int64_t ws, we;

	while (s->sp_k < s->sp_n) {
		const struct mdas_span *sp = &s->sp[s->sp_k++];

		if (span_period(f, i, sp, &ws, &we)) {
			span_request(f, i, sp, ws, we);
			return;
		}
	}
}

/* Symbol i's reported gaps, each asked for once in a request of its own,
 * one after another, oldest first, then its normal request (so that the
 * output is in time order per series).  Returns 1 when gaps were asked
 * (the normal request follows the last), 0 when there are none. */
static int
spans_history(struct fetch *f, size_t i)
{
	struct sym *s = &f->syms[i];
	int64_t ws, we;
	size_t n, k, m = 0;

	int64_t ms = 0, me = 0;
	int is_max = 0;

	if (f->o->spans == NULL)
		return 0;
	s->sp = mdas_spans_find(f->o->spans, s->src, s->name, &n);
	if (n > MDAS_SPANS_PER_SERIES)
		n = MDAS_SPANS_PER_SERIES;
	/* Where the normal request starts: a gap from there on is in its
	 * answer already, and only gaps before it are asked (spans are
	 * sorted: those come first). */
	if (n > 0 && period(f, i, &ms, &me, &is_max))
		f->st->marked--;      /* counted when the normal request is made */
	if (n > 0 && is_max)
		ms = 0;
	for (k = 0; k < n && s->sp[k].from_ts_ms < ms; k++) {
		if (span_period(f, i, &s->sp[k], &ws, &we))
			m++;
		else
			f->st->spans_beyond++;
	}
	f->st->spans_covered += n - k;
	n = k;
	if (m == 0)
		return 0;
	s->sp_n = n;
	s->sp_k = 0;
	s->spans = m;
	spans_next(f, i);
	return 1;
}

/* Symbol i's normal history request. */
static void
history_main(struct fetch *f, size_t i)
{
	if (f->syms[i].src == MDAS_SOURCE_YAHOO)
		yahoo_history(f, i);
	else
		binance_klines(f, i, mdas_binance_interval(f->o->interval));
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
	/* Binance counts weight per request it answers; every attempt sent
	 * is counted, as the worst case. */
	f->in_span = j->span;
	if (j->type == J_BKLINES)
		f->st->weight += (long)mdas_binance_klines_weight() * r->attempts;
	else if (j->type == J_BTICKER)
		f->st->weight += (long)mdas_binance_ticker_weight(j->n) * r->attempts;
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
	f->in_span = 0;
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
		int bad = mdas_symbol_resolve(specs[i], f->o->force, &s->src, s->name, &err) < 0;

		/* Another machine's symbol is not ours to fetch, nor to report
		 * (a bad spec goes by its text, so one machine reports it). */
		if (f->o->shard_n > 0 && mdas_shard_of(mdas_source_name(bad ? f->o->force : s->src),
		    bad ? specs[i] : s->name, f->o->shard_n) != f->o->shard_k) {
			f->st->other_shards++;
			memset(s, 0, sizeof(*s));
			continue;
		}
		if (bad) {
			/* Kept, to get its error record: the spec as typed. */
			s->src = f->o->force;
			s->done = -1;
			s->spec = strndup(specs[i], SPEC_MAX);
			s->bad = strdup(err.msg);
			f->n++;         /* freed at the end, even on failure */
			if (s->spec == NULL || s->bad == NULL)
				return -1;
			(*nbad)++;
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
	f->now = o->now_ms > 0 ? o->now_ms : mdas_now_ms();
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
				if (!spans_history(f, i))
					history_main(f, i);
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
	for (i = 0; f->syms != NULL && i < f->n; i++) {
		free(f->syms[i].bad);
		free(f->syms[i].spec);
	}
	free(f->syms);
	return rc;
}
