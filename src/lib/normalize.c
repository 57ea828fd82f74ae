#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "jsonget.h"
#include "jsonw.h"
#include "ndjson.h"
#include "normalize.h"
#include "record.h"
#include "series.h"
#include "timeutil.h"

struct mdas_normalizer {
	struct mdas_normalize_opts opts;
	FILE *out;
	mdas_reject_fn reject;
	void *arg;
	struct mdas_jsonw *w;
	struct mdas_series_table *series;
	/* The series of the last bars envelope: the only one that may hold a
	 * bar back, so each series' bars leave together. */
	struct mdas_series *current;
	struct mdas_record *scratch;
	struct mdas_normalize_stats stats;

	/* Sort buffer for the bars of one envelope (reused). */
	struct tsidx { int64_t ts; size_t idx; } *order;
	size_t order_cap;

	int failed;             /* a write failed: errno in failed_errno */
	int failed_errno;
	int stop;               /* the reject callback asked to stop */
};

/* What the current envelope is: everything records and messages need. */
struct env {
	const char *input;
	unsigned long lineno;
	const char *line;
	size_t len;
	const char *source, *endpoint, *kind, *symbol, *interval, *fetched_at, *url;
	/* Per-envelope instrument facts. */
	const char *asset_class, *currency, *exchange, *tz;
	const char *range;      /* Yahoo meta.range, when not empty */
	int shift;              /* minor-unit prices: divide by 10^shift */
	/* Bars and events of this envelope, and those rejected: a rejection
	 * is reported on its own, and the envelope ends with one error record
	 * for the symbol that counts them (see item_reject()). */
	size_t nbars, nevents;
	unsigned long bad_bars, bad_events;
	const char *bad_code;
	char first_bad[300];
};

int
mdas_missing_parse(const char *s)
{
	if (strcmp(s, "ffill") == 0)
		return MDAS_MISSING_FFILL;
	if (strcmp(s, "drop") == 0)
		return MDAS_MISSING_DROP;
	if (strcmp(s, "keep") == 0)
		return MDAS_MISSING_KEEP;
	return -1;
}

struct mdas_normalizer *
mdas_normalizer_new(const struct mdas_normalize_opts *o, FILE *out,
    mdas_reject_fn reject, void *arg)
{
	struct mdas_normalizer *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->opts = *o;
	n->out = out;
	n->reject = reject;
	n->arg = arg;
	n->w = mdas_jsonw_new();
	n->series = mdas_series_table_new(o->window);
	n->scratch = malloc(sizeof(*n->scratch));
	if (n->w == NULL || n->series == NULL || n->scratch == NULL) {
		mdas_normalizer_free(n);
		return NULL;
	}
	return n;
}

void
mdas_normalizer_free(struct mdas_normalizer *n)
{
	if (n == NULL)
		return;
	mdas_jsonw_free(n->w);
	mdas_series_table_free(n->series);
	free(n->scratch);
	free(n->order);
	free(n);
}

const struct mdas_normalize_stats *
mdas_normalizer_stats(const struct mdas_normalizer *n)
{
	return &n->stats;
}

/* ---- small helpers ---------------------------------------------------- */

/* Every read of the input is type-checked (jsonget.h): json-c asserts on
 * an array call with a non-array, and input may have any shape. */
static struct json_object *
get(struct json_object *o, const char *key)
{
	return mdas_json_get(o, key);
}

/* A non-empty string member, else NULL (see fact() for wrong types). */
static const char *
get_str(struct json_object *o, const char *key)
{
	return mdas_json_str(o, key);
}

static struct json_object *
get_index(struct json_object *a, size_t i)
{
	return mdas_json_at(a, i);
}

static int
do_reject(struct mdas_normalizer *n, const struct env *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
do_reject(struct mdas_normalizer *n, const struct env *e, const char *fmt, ...)
{
	struct mdas_reject rj;
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	n->stats.rejected++;
	rj.input = e->input;
	rj.line = e->lineno;
	rj.symbol = e->symbol;
	rj.reason = reason;
	rj.text = e->line;
	rj.text_len = e->len;
	if (n->reject != NULL && n->reject(n->arg, &rj) != 0)
		n->stop = 1;
	return n->stop ? MDAS_NORM_STOP : MDAS_NORM_OK;
}

static void
write_line(struct mdas_normalizer *n)
{
	if (mdas_jsonw_write_line(n->w, n->out) < 0 && !n->failed) {
		n->failed = 1;
		n->failed_errno = errno;
	}
}

static void
write_record(struct mdas_normalizer *n, const struct mdas_record *r)
{
	mdas_record_write(n->w, r);
	write_line(n);
	if (r->type == MDAS_REC_QUOTE || r->type == MDAS_REC_BAR)
		n->stats.records++;
	else
		n->stats.events++;
}

/* Codes of normalize's error records (mdas-schema(7)). */
#define CODE_NO_DATA     "no_data"      /* the answer holds no bars */
#define CODE_BAD_PAYLOAD "bad_payload"  /* the payload has the wrong shape */
#define CODE_BAD_VALUE   "bad_value"    /* a value of the wrong type or out of range */
#define CODE_TOO_LARGE   "too_large"    /* strings over the record's size */
#define CODE_UPSTREAM    "upstream_error" /* the payload is an upstream error */
#define CODE_BAD_ENVELOPE "bad_envelope" /* the envelope lacks what it must say */

/* Writes an error record for the envelope's symbol (no rejection). */
static void
write_error(struct mdas_normalizer *n, const struct env *e, const char *code,
    const char *reason)
{
	char where[512];
	struct mdas_jsonw *w = n->w;

	snprintf(where, sizeof(where), "%s:%lu", e->input, e->lineno);
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "type");
	mdas_jsonw_string(w, "error");
	mdas_jsonw_key(w, "stage");
	mdas_jsonw_string(w, "normalize");
	mdas_jsonw_key(w, "source");
	mdas_jsonw_string(w, e->source);
	mdas_jsonw_key(w, "endpoint");
	mdas_jsonw_string(w, e->endpoint);
	mdas_jsonw_key(w, "symbol");
	mdas_jsonw_string(w, e->symbol);
	mdas_jsonw_key(w, "input");
	mdas_jsonw_string(w, where);
	mdas_jsonw_key(w, "code");
	mdas_jsonw_string(w, code);
	mdas_jsonw_key(w, "message");
	mdas_jsonw_string(w, reason);
	mdas_jsonw_key(w, "retryable");
	mdas_jsonw_bool(w, 0);
	mdas_jsonw_key(w, "run_id");
	mdas_jsonw_string(w, n->opts.run_id);
	mdas_jsonw_key(w, "fetched_at");
	mdas_jsonw_string(w, e->fetched_at);
	mdas_jsonw_end_object(w);
	write_line(n);
}

/* An envelope it cannot use (or whose one record it rejects): an error
 * record in the stream, and a rejection.  The one way a symbol's failure
 * is reported, so that every symbol yields data or an error record. */
static int
envelope_error(struct mdas_normalizer *n, const struct env *e, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
envelope_error(struct mdas_normalizer *n, const struct env *e, const char *code,
    const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	write_error(n, e, code, reason);
	return do_reject(n, e, "%s", reason);
}

/* One bar or event of an envelope rejected: reported now; the envelope's
 * error record, written when it ends (finish_items()), counts them. */
static int
item_reject(struct mdas_normalizer *n, struct env *e, int event, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
item_reject(struct mdas_normalizer *n, struct env *e, int event, const char *code,
    const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (e->bad_bars + e->bad_events == 0) {
		snprintf(e->first_bad, sizeof(e->first_bad), "%s", reason);
		e->bad_code = code;
	}
	if (event)
		e->bad_events++;
	else
		e->bad_bars++;
	return do_reject(n, e, "%s", reason);
}

/* The error record of an envelope some of whose bars or events were
 * rejected. */
static void
finish_items(struct mdas_normalizer *n, const struct env *e)
{
	char msg[512], bars[64] = "", events[64] = "";

	if (e->bad_bars + e->bad_events == 0)
		return;
	if (e->bad_bars > 0)
		snprintf(bars, sizeof(bars), "%lu of %zu bars", e->bad_bars, e->nbars);
	if (e->bad_events > 0)
		snprintf(events, sizeof(events), "%lu of %zu events", e->bad_events, e->nevents);
	snprintf(msg, sizeof(msg), "%s%s%s rejected (first: %s)", bars,
	    *bars && *events ? " and " : "", events, e->first_bad);
	write_error(n, e, e->bad_code, msg);
}

/* Minor-unit currencies are converted to their major unit: prices are
 * divided by 100 (exactly, on the decimal text) and the currency becomes
 * the ISO 4217 code.  One rule for every price field, so a record never
 * mixes units. */
static const char *
major_currency(const char *cur, int *shift)
{
	static const struct { const char *minor, *major; } tab[] = {
		{ "GBp", "GBP" }, { "GBX", "GBP" }, { "ZAc", "ZAR" },
		{ "ZAC", "ZAR" }, { "ILA", "ILS" },
	};
	size_t i;

	*shift = 0;
	if (cur == NULL)
		return NULL;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(cur, tab[i].minor) == 0) {
			*shift = 2;
			return tab[i].major;
		}
	return cur;
}

static const char *
asset_class(const char *quote_type, char *buf, size_t size)
{
	static const struct { const char *yahoo, *ours; } tab[] = {
		{ "EQUITY", "equity" }, { "ETF", "etf" }, { "INDEX", "index" },
		{ "CURRENCY", "fx" }, { "FUTURE", "future" },
		{ "CRYPTOCURRENCY", "crypto" }, { "MUTUALFUND", "fund" },
	};
	size_t i;

	if (quote_type == NULL)
		return NULL;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(quote_type, tab[i].yahoo) == 0)
			return tab[i].ours;
	if (strlen(quote_type) >= size)
		return NULL;    /* not cut short: the caller rejects it */
	for (i = 0; quote_type[i] != '\0'; i++)
		buf[i] = (char)(quote_type[i] >= 'A' && quote_type[i] <= 'Z' ?
		    quote_type[i] - 'A' + 'a' : quote_type[i]);
	buf[i] = '\0';
	return buf;
}

/* The quote asset of a Binance symbol, from the longest known suffix. */
static const char *
binance_quote_asset(const char *symbol)
{
	static const char *const assets[] = {
		"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "EURI", "AEUR",
		"BIDR", "IDRT", "BVND", "DAI", "PAX", "UST", "BTC", "ETH", "BNB",
		"XRP", "TRX", "DOGE", "DOT", "SOL", "EUR", "GBP", "TRY", "AUD",
		"BRL", "RUB", "UAH", "ZAR", "NGN", "PLN", "RON", "ARS", "JPY",
		"MXN", "COP", "CZK", "IDR", "VAI",
	};
	size_t i, len = strlen(symbol), best_len = 0;
	const char *best = NULL;

	for (i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		size_t al = strlen(assets[i]);

		if (al < len && al > best_len &&
		    strcmp(symbol + len - al, assets[i]) == 0) {
			best = assets[i];
			best_len = al;
		}
	}
	return best;
}

/* Reads string member key of o into *out; a member of another type is
 * remembered in *bad (the first such key). */
static void
fact(struct json_object *o, const char *key, const char **out, const char **bad)
{
	if (mdas_json_get_string(o, key, out) == MDAS_JSON_WRONG && *bad == NULL)
		*bad = key;
}

/* The instrument facts of a Yahoo quote or chart meta (o): zone,
 * currency, exchange (full_key, else short_key), asset class (type_key);
 * for a chart also dataGranularity and range.  Returns 0, or -1 with *rc
 * from the error record it wrote. */
static int
instrument(struct mdas_normalizer *n, struct env *e, struct json_object *o,
    const char *full_key, const char *short_key, const char *type_key,
    char *acbuf, size_t acsize, int *rc)
{
	const char *bad = NULL, *cur, *full, *shrt, *type, *gran = NULL;
	struct mdas_error merr;

	fact(o, "exchangeTimezoneName", &e->tz, &bad);
	fact(o, "currency", &cur, &bad);
	fact(o, full_key, &full, &bad);
	fact(o, short_key, &shrt, &bad);
	fact(o, type_key, &type, &bad);
	if (strcmp(type_key, "instrumentType") == 0) {
		fact(o, "dataGranularity", &gran, &bad);
		fact(o, "range", &e->range, &bad);
	}
	if (bad != NULL) {
		*rc = envelope_error(n, e, CODE_BAD_PAYLOAD, "%s is not a string", bad);
		return -1;
	}
	e->currency = major_currency(cur, &e->shift);
	e->exchange = full != NULL ? full : shrt;
	if (e->interval == NULL)
		e->interval = gran;
	if (type != NULL && (e->asset_class = asset_class(type, acbuf, acsize)) == NULL) {
		*rc = envelope_error(n, e, CODE_TOO_LARGE, "%s is too long (%zu bytes)",
		    type_key, strlen(type));
		return -1;
	}
	if (e->tz != NULL && mdas_tz_localtime(e->tz, 0, &(struct tm){ 0 }, NULL, &merr) < 0) {
		*rc = envelope_error(n, e, CODE_BAD_VALUE, "exchangeTimezoneName %s", merr.msg);
		return -1;
	}
	return 0;
}

/* session_date: the date in the exchange's zone (mdas_tz_date caches the
 * offset per zone and day, so this is cheap per record). */
static void
set_session_date(struct env *e, struct mdas_record *r)
{
	char buf[16];

	if (e->tz != NULL && r->has_ts && mdas_tz_date(e->tz, r->ts_ms, buf, NULL) == 0)
		mdas_record_set_str(r, MDAS_S_SESSION_DATE, buf);
}

static void
base(struct mdas_normalizer *n, struct env *e, struct mdas_record *r,
    enum mdas_record_type type)
{
	mdas_record_init(r, type);
	mdas_record_set_str(r, MDAS_S_SOURCE, e->source);
	mdas_record_set_str(r, MDAS_S_SYMBOL, e->symbol);
	mdas_record_set_str(r, MDAS_S_ASSET_CLASS, e->asset_class);
	mdas_record_set_str(r, MDAS_S_CURRENCY, e->currency);
	mdas_record_set_str(r, MDAS_S_EXCHANGE, e->exchange);
	mdas_record_set_str(r, MDAS_S_EXCHANGE_TZ, e->tz);
	if (type == MDAS_REC_BAR)
		mdas_record_set_str(r, MDAS_S_INTERVAL, e->interval);
	mdas_record_set_str(r, MDAS_S_RUN_ID, n->opts.run_id);
	mdas_record_set_str(r, MDAS_S_FETCHED_AT, e->fetched_at);
}

/* The value's JSON text, for a message. */
static const char *
json_text(struct json_object *v)
{
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* Reads one number; on failure writes the reason into why, worded as the
 * schema's bounds word it (bounds.h). */
static int
take(struct mdas_record *r, enum mdas_rec_num which, struct json_object *v,
    int decimal_strings, int shift, const char *name, char *why, size_t whysize)
{
	switch (mdas_record_set_json(r, which, v, decimal_strings, shift)) {
	case MDAS_NUM_OK:
	case MDAS_NUM_NULL:
		return 0;
	case MDAS_NUM_NOT_FINITE:
		mdas_bounds_why(why, whysize, name, json_text(v), "not a finite number");
		return -1;
	case MDAS_NUM_RANGE:
		/* An integer past 64 bits prints clamped: its digits are not
		 * the ones sent, so none are shown. */
		if (mdas_json_underflowed(v))
			mdas_bounds_why(why, whysize, name, json_text(v), MDAS_BOUNDS_WHY_TINY);
		else
			mdas_bounds_why(why, whysize, name, NULL, MDAS_BOUNDS_WHY_LIMIT);
		return -1;
	default:
		snprintf(why, whysize, "%s is not a number", name);
		return -1;
	}
}

/* Epoch seconds (Yahoo, unit 1000) or milliseconds (Binance, unit 1) to
 * ms, within the schema's bounds (mdas_record_set_ts_json). */
static int
take_time(struct mdas_record *r, struct json_object *v, int64_t unit_ms,
    const char *name, char *why, size_t whysize)
{
	switch (mdas_record_set_ts_json(r, v, unit_ms)) {
	case MDAS_NUM_OK:
		return 0;
	case MDAS_NUM_NULL:
		snprintf(why, whysize, "no %s", name);
		return -1;
	case MDAS_NUM_RANGE:
	case MDAS_NUM_NOT_FINITE:
		/* The text as parsed: json-c prints an integer beyond int64
		 * clamped, so the sent digits are not always shown. */
		mdas_bounds_why(why, whysize, name, json_text(v), MDAS_BOUNDS_WHY_TIME);
		return -1;
	default:
		snprintf(why, whysize, "%s is not a number", name);
		return -1;
	}
}

/* A trade count (Binance ticker "count", klines field 8). */
static int
take_count(struct mdas_record *r, struct json_object *v, const char *name,
    char *why, size_t whysize)
{
	switch (mdas_record_set_count_json(r, v)) {
	case MDAS_NUM_OK:
	case MDAS_NUM_NULL:
		return 0;
	case MDAS_NUM_RANGE:
		mdas_bounds_why(why, whysize, name, json_text(v), MDAS_BOUNDS_WHY_COUNT);
		return -1;
	default:
		snprintf(why, whysize, "%s is not a trade count", name);
		return -1;
	}
}

/* The code of an error record for a record validation rejected. */
static const char *
record_code(const struct mdas_record *r)
{
	return r->overflow ? CODE_TOO_LARGE : CODE_BAD_VALUE;
}

/* A quote is its symbol's whole answer: rejected, it becomes the
 * symbol's error record. */
static int
emit_quote(struct mdas_normalizer *n, struct env *e, struct mdas_record *r,
    const char *why)
{
	char reason[600];

	if (why != NULL)
		return envelope_error(n, e, record_code(r), "%s", why);
	set_session_date(e, r);
	if (mdas_record_validate(r, reason, sizeof(reason)) < 0)
		return envelope_error(n, e, record_code(r), "%s", reason);
	mdas_record_derive(r);
	write_record(n, r);
	return MDAS_NORM_OK;
}

/* ---- bars: ordering, duplicates, hold-back --------------------------- */

/* The series the envelope's bars belong to; NULL, with n->failed set,
 * when out of memory. */
static struct mdas_series *
envelope_series(struct mdas_normalizer *n, const struct env *e)
{
	struct mdas_series *s;
	struct mdas_error merr;

	if ((s = mdas_series_get(n->series, e->source, e->symbol, e->interval, &merr)) == NULL) {
		n->failed = 1;
		n->failed_errno = merr.errnum;
	}
	return s;
}

struct bar_source {
	/* Fills r (already based) from bar idx; returns -1 with a reason. */
	int (*build)(struct mdas_normalizer *n, struct env *e, void *ctx,
	    size_t idx, struct mdas_record *r, char *why, size_t whysize);
	/* The bar's time in ms; -1 with a reason. */
	int (*time)(void *ctx, size_t idx, int64_t *ms, char *why, size_t whysize);
	void *ctx;
	size_t count;
};

static int
is_null_bar(const struct mdas_record *r)
{
	return isnan(r->num[MDAS_N_OPEN].v) && isnan(r->num[MDAS_N_HIGH].v) &&
	    isnan(r->num[MDAS_N_LOW].v) && isnan(r->num[MDAS_N_CLOSE].v) &&
	    isnan(r->num[MDAS_N_VOLUME].v);
}

/* Writes a bar of series s in order: missing-data policy, then the
 * series metrics. */
static void
emit_bar(struct mdas_normalizer *n, struct mdas_series *s, struct mdas_record *r)
{
	if (is_null_bar(r)) {
		switch (n->opts.missing) {
		case MDAS_MISSING_DROP:
			n->stats.dropped++;
			s->has_written = 1;
			s->last_written_ts = r->ts_ms;
			return;
		case MDAS_MISSING_FFILL:
			if (mdas_series_ffill(s, r) == 0)
				n->stats.filled++;
			else
				n->stats.unfilled++;
			break;
		case MDAS_MISSING_KEEP:
			break;
		}
	}
	mdas_series_complete(n->series, s, r);
	write_record(n, r);
}

static int
cmp_tsidx(const void *a, const void *b)
{
	const struct tsidx *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Value of query parameter name in url into buf, when it is a plain
 * token (letters and digits: an interval, a range, a time); else NULL. */
static const char *
url_param(const char *url, const char *name, char *buf, size_t size)
{
	const char *p = url != NULL ? strchr(url, '?') : NULL;
	size_t nlen = strlen(name), i;

	while (p != NULL) {
		p++;
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			for (i = 0; i + 1 < size && ((p[i] >= '0' && p[i] <= '9') ||
			    (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')); i++)
				buf[i] = p[i];
			buf[i] = '\0';
			return i > 0 && (p[i] == '\0' || p[i] == '&') ? buf : NULL;
		}
		p = strchr(p, '&');
	}
	return NULL;
}

/* A time parameter of the URL (unit_ms per unit) as ISO text. */
static const char *
url_time(const char *url, const char *name, int64_t unit_ms, char *iso)
{
	char buf[24], *end;
	long long t;

	if (url_param(url, name, buf, sizeof(buf)) == NULL)
		return NULL;
	errno = 0;
	t = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || t < 0 || t > MDAS_TS_MS_MAX / unit_ms ||
	    mdas_format_iso_ms((int64_t)t * unit_ms, iso) < 0)
		return NULL;
	return iso;
}

/* An answer with no bars: the symbol's error record says what was asked,
 * as far as the envelope tells (its interval, and the range or period in
 * its URL, or Yahoo's meta.range). */
static int
no_data(struct mdas_normalizer *n, struct env *e, const char *note)
{
	char rbuf[32], ibuf[32], from[MDAS_ISO_MAX], to[MDAS_ISO_MAX];
	const char *iv = e->interval, *range = NULL, *a = NULL, *b = NULL;
	int64_t unit = strcmp(e->source, "yahoo") == 0 ? 1000 : 1;

	if (iv == NULL)
		iv = url_param(e->url, "interval", ibuf, sizeof(ibuf));
	if (unit == 1000) {
		range = url_param(e->url, "range", rbuf, sizeof(rbuf));
		a = url_time(e->url, "period1", unit, from);
		b = url_time(e->url, "period2", unit, to);
		if (range == NULL && (a == NULL || b == NULL))
			range = e->range;
	} else {
		a = url_time(e->url, "startTime", unit, from);
		b = url_time(e->url, "endTime", unit, to);
	}
	if (note == NULL)
		note = "";
	if (range != NULL)
		return envelope_error(n, e, CODE_NO_DATA, "no bars for interval %s, range %s%s",
		    iv != NULL ? iv : "?", range, note);
	if (a != NULL && b != NULL)
		return envelope_error(n, e, CODE_NO_DATA, "no bars for interval %s from %s to %s%s",
		    iv != NULL ? iv : "?", a, b, note);
	return envelope_error(n, e, CODE_NO_DATA,
	    "no bars for interval %s (the envelope does not say which period was asked)%s",
	    iv != NULL ? iv : "?", note);
}

static int flush_held(struct mdas_normalizer *, struct mdas_series *);

static int
process_bars(struct mdas_normalizer *n, struct env *e, struct mdas_series *s,
    const struct bar_source *src)
{
	char why[600], iso[MDAS_ISO_MAX];
	size_t i, m = 0, valid = 0, nulls = 0;
	int sorted = 1;

	/* A held bar waits only for more envelopes of its own series (a
	 * re-fetch of the forming bar); another series releases it, so a
	 * series' bars stay together in the output, as readers expect. */
	if (n->current != NULL && n->current != s &&
	    flush_held(n, n->current) != MDAS_NORM_OK)
		return MDAS_NORM_FAIL;
	n->current = s;

	e->nbars = src->count;
	if (src->count == 0)
		return no_data(n, e, NULL);
	if (src->count > n->order_cap) {
		struct tsidx *o = realloc(n->order, src->count * sizeof(*o));

		if (o == NULL) {
			n->failed = 1;
			n->failed_errno = ENOMEM;
			return MDAS_NORM_FAIL;
		}
		n->order = o;
		n->order_cap = src->count;
	}
	for (i = 0; i < src->count; i++) {
		int64_t ts;

		if (src->time(src->ctx, i, &ts, why, sizeof(why)) < 0) {
			if (item_reject(n, e, 0, CODE_BAD_VALUE, "bar %zu: %s", i, why) !=
			    MDAS_NORM_OK)
				return MDAS_NORM_STOP;
			continue;
		}
		if (m > 0 && ts <= n->order[m - 1].ts)
			sorted = 0;
		n->order[m].ts = ts;
		n->order[m].idx = i;
		m++;
	}
	if (!sorted && m > 1)
		qsort(n->order, m, sizeof(*n->order), cmp_tsidx);

	for (i = 0; i < m; i++) {
		struct mdas_record *r = n->scratch;
		int64_t ts = n->order[i].ts;

		/* Of bars with the same time, the last one sent wins. */
		if (i + 1 < m && n->order[i + 1].ts == ts) {
			n->stats.duplicates++;
			continue;
		}
		if (s->has_written && ts <= s->last_written_ts) {
			n->stats.stale++;
			continue;
		}
		base(n, e, r, MDAS_REC_BAR);
		r->ts_ms = ts;
		r->has_ts = 1;
		/* session_date before the check: every string is in the
		 * record when its size is checked. */
		set_session_date(e, r);
		if (src->build(n, e, src->ctx, n->order[i].idx, r, why, sizeof(why)) < 0 ||
		    mdas_record_validate(r, why, sizeof(why)) < 0) {
			mdas_format_iso_ms(ts, iso);
			if (item_reject(n, e, 0, record_code(r), "bar %s: %s", iso, why) !=
			    MDAS_NORM_OK)
				return MDAS_NORM_STOP;
			continue;
		}
		valid++;
		nulls += is_null_bar(r);
		if (s->held == NULL || !s->held_set) {
			/* Hold r; the old held buffer becomes the scratch. */
			struct mdas_record *old = s->held;

			s->held = r;
			s->held_set = 1;
			n->scratch = old != NULL ? old : malloc(sizeof(*n->scratch));
			if (n->scratch == NULL) {
				n->failed = 1;
				n->failed_errno = ENOMEM;
				return MDAS_NORM_FAIL;
			}
		} else if (s->held->ts_ms == ts) {
			struct mdas_record *old = s->held;

			n->stats.duplicates++;
			s->held = r;
			n->scratch = old;
		} else if (s->held->ts_ms < ts) {
			struct mdas_record *old = s->held;

			emit_bar(n, s, old);
			s->held = r;
			n->scratch = old;
		} else
			emit_bar(n, s, r);
	}
	/* Dropping every bar of an answer must not make its symbol vanish. */
	if (n->opts.missing == MDAS_MISSING_DROP && valid > 0 && nulls == valid) {
		snprintf(why, sizeof(why), " (all %zu were null: dropped, --missing=drop)", valid);
		return no_data(n, e, why);
	}
	return MDAS_NORM_OK;
}

static int
flush_held(struct mdas_normalizer *n, struct mdas_series *s)
{
	if (s->held != NULL && s->held_set) {
		s->held_set = 0;
		emit_bar(n, s, s->held);
	}
	return n->failed ? MDAS_NORM_FAIL : MDAS_NORM_OK;
}

int
mdas_normalizer_finish(struct mdas_normalizer *n, struct mdas_error *err)
{
	struct mdas_series *s;
	size_t i;

	for (i = 0; (s = mdas_series_nth(n->series, i)) != NULL; i++)
		flush_held(n, s);
	if (fflush(n->out) != 0 && !n->failed) {
		n->failed = 1;
		n->failed_errno = errno;
	}
	if (n->failed) {
		mdas_error_errno(err, n->failed_errno, "write error");
		return MDAS_NORM_FAIL;
	}
	return MDAS_NORM_OK;
}

/* ---- Yahoo chart --------------------------------------------------- */

struct chart_ctx {
	struct json_object *ts, *open, *high, *low, *close, *volume, *adj;
};

static int
chart_time(void *ctx, size_t idx, int64_t *ms, char *why, size_t whysize)
{
	struct chart_ctx *c = ctx;
	struct mdas_record r;

	r.has_ts = 0;
	if (take_time(&r, get_index(c->ts, idx), 1000,
	    "timestamp", why, whysize) < 0)
		return -1;
	*ms = r.ts_ms;
	return 0;
}

static int
chart_build(struct mdas_normalizer *n, struct env *e, void *ctx, size_t idx,
    struct mdas_record *r, char *why, size_t whysize)
{
	struct chart_ctx *c = ctx;

	(void)n;
	if (take(r, MDAS_N_OPEN, get_index(c->open, idx), 0, e->shift, "open", why, whysize) < 0 ||
	    take(r, MDAS_N_HIGH, get_index(c->high, idx), 0, e->shift, "high", why, whysize) < 0 ||
	    take(r, MDAS_N_LOW, get_index(c->low, idx), 0, e->shift, "low", why, whysize) < 0 ||
	    take(r, MDAS_N_CLOSE, get_index(c->close, idx), 0, e->shift, "close", why, whysize) < 0 ||
	    take(r, MDAS_N_VOLUME, get_index(c->volume, idx), 0, 0, "volume", why, whysize) < 0)
		return -1;
	if (c->adj != NULL &&
	    take(r, MDAS_N_ADJ_CLOSE, get_index(c->adj, idx), 0, e->shift, "adj_close", why, whysize) < 0)
		return -1;
	return 0;
}

/* Checks that indicator array `name` is absent-or-array of length n. */
static int
chart_array(struct mdas_normalizer *n, struct env *e, struct json_object *q,
    const char *name, size_t count, struct json_object **out)
{
	struct json_object *a = get(q, name);

	*out = NULL;
	if (mdas_json_is_null(a)) {
		if (count == 0)
			return 0;
		return envelope_error(n, e, CODE_BAD_PAYLOAD, "chart: indicators have no %s",
		    name) == MDAS_NORM_OK ? 1 : -1;
	}
	if (!mdas_json_is_array(a))
		return envelope_error(n, e, CODE_BAD_PAYLOAD, "chart: %s is not an array",
		    name) == MDAS_NORM_OK ? 1 : -1;
	if (mdas_json_len(a) != count)
		return envelope_error(n, e, CODE_BAD_PAYLOAD,
		    "chart: %s has %zu values for %zu timestamps", name, mdas_json_len(a),
		    count) == MDAS_NORM_OK ? 1 : -1;
	*out = a;
	return 0;
}

struct event_item {
	int64_t ts;
	int split;
	struct json_object *obj;
};

static int
cmp_event(const void *a, const void *b)
{
	const struct event_item *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->split - y->split;
}

static int
chart_events(struct mdas_normalizer *n, struct env *e, struct mdas_series *s,
    struct json_object *events)
{
	struct json_object *kinds[2] = { get(events, "dividends"), get(events, "splits") };
	struct event_item *items = NULL;
	size_t count = 0, cap = 0, i;
	char why[600];
	int k, rc = MDAS_NORM_OK;

	if (!mdas_json_is_object(events))
		return envelope_error(n, e, CODE_BAD_PAYLOAD, "chart: events is not an object");
	for (k = 0; k < 2; k++)
		if (!mdas_json_is_null(kinds[k]) && !mdas_json_is_object(kinds[k]))
			return envelope_error(n, e, CODE_BAD_PAYLOAD,
			    "chart: events.%s is not an object", k ? "splits" : "dividends");
	for (k = 0; k < 2; k++) {
		if (!mdas_json_is_object(kinds[k]))
			continue;
		e->nevents += (size_t)json_object_object_length(kinds[k]);
		json_object_object_foreach(kinds[k], key, val) {
			struct mdas_record t;
			struct event_item *p;

			if (take_time(&t, get(val, "date"), 1000, "date", why, sizeof(why)) < 0) {
				if (item_reject(n, e, 1, CODE_BAD_VALUE, "%s %s: %s",
				    k ? "split" : "dividend", key, why) != MDAS_NORM_OK) {
					free(items);
					return MDAS_NORM_STOP;
				}
				continue;
			}
			if (count == cap) {
				cap = cap ? cap * 2 : 16;
				if ((p = realloc(items, cap * sizeof(*items))) == NULL) {
					free(items);
					n->failed = 1;
					n->failed_errno = ENOMEM;
					return MDAS_NORM_FAIL;
				}
				items = p;
			}
			items[count].ts = t.ts_ms;
			items[count].split = k;
			items[count].obj = val;
			count++;
		}
	}
	/* qsort(NULL, 0, ...) is undefined: "dividends":{} leaves no items. */
	if (count > 1)
		qsort(items, count, sizeof(*items), cmp_event);
	for (i = 0; i < count && rc == MDAS_NORM_OK; i++) {
		struct mdas_record *r = n->scratch;
		int split = items[i].split, bad = 0;
		int64_t *last = split ? &s->last_split_ts : &s->last_dividend_ts;
		int *has = split ? &s->has_split : &s->has_dividend;
		char iso[MDAS_ISO_MAX];

		if (*has && items[i].ts <= *last) {
			n->stats.duplicates++;
			continue;
		}
		base(n, e, r, split ? MDAS_REC_SPLIT : MDAS_REC_DIVIDEND);
		r->ts_ms = items[i].ts;
		r->has_ts = 1;
		set_session_date(e, r);
		if (split)
			bad = take(r, MDAS_N_NUMERATOR, get(items[i].obj, "numerator"), 0, 0,
			    "numerator", why, sizeof(why)) < 0 ||
			    take(r, MDAS_N_DENOMINATOR, get(items[i].obj, "denominator"), 0, 0,
			    "denominator", why, sizeof(why)) < 0;
		else
			bad = take(r, MDAS_N_AMOUNT, get(items[i].obj, "amount"), 0, e->shift,
			    "amount", why, sizeof(why)) < 0;
		if (bad || mdas_record_validate(r, why, sizeof(why)) < 0) {
			mdas_format_iso_ms(items[i].ts, iso);
			rc = item_reject(n, e, 1, record_code(r), "%s %s: %s",
			    split ? "split" : "dividend", iso, why);
			continue;
		}
		write_record(n, r);
		*has = 1;
		*last = items[i].ts;
	}
	free(items);
	return rc;
}

static int
yahoo_chart(struct mdas_normalizer *n, struct env *e, struct json_object *payload)
{
	struct json_object *chart = get(payload, "chart"), *result, *meta, *q, *err;
	struct chart_ctx c;
	struct bar_source src;
	struct mdas_series *s;
	char why[600], acbuf[64];
	size_t count = 0;
	int rc;

	result = get_index(get(chart, "result"), 0);
	if (result == NULL) {
		err = get(chart, "error");
		if (get_str(err, "code") != NULL || get_str(err, "description") != NULL)
			return envelope_error(n, e, CODE_UPSTREAM, "chart error: %s: %s",
			    get_str(err, "code") ? get_str(err, "code") : "?",
			    get_str(err, "description") ? get_str(err, "description") : "?");
		return envelope_error(n, e, CODE_BAD_PAYLOAD, "chart: no result");
	}
	if (!mdas_json_is_object(meta = get(result, "meta")))
		return envelope_error(n, e, CODE_BAD_PAYLOAD, "chart: no meta");
	if (instrument(n, e, meta, "fullExchangeName", "exchangeName", "instrumentType",
	    acbuf, sizeof(acbuf), &rc) < 0)
		return rc;

	if (e->kind != NULL && strcmp(e->kind, "quote") == 0) {
		struct mdas_record *r = n->scratch;
		const char *w = NULL;
		struct json_object *pc = get(meta, "previousClose");

		/* A quote from the chart's meta (mdas-fetch's fallback when the
		 * crumb flow fails): no bid/ask, no open. */
		base(n, e, r, MDAS_REC_QUOTE);
		if (mdas_json_is_null(pc))
			pc = get(meta, "chartPreviousClose");
		if (take_time(r, get(meta, "regularMarketTime"), 1000, "regularMarketTime", why, sizeof(why)) < 0 ||
		    take(r, MDAS_N_CLOSE, get(meta, "regularMarketPrice"), 0, e->shift, "regularMarketPrice", why, sizeof(why)) < 0 ||
		    take(r, MDAS_N_HIGH, get(meta, "regularMarketDayHigh"), 0, e->shift, "regularMarketDayHigh", why, sizeof(why)) < 0 ||
		    take(r, MDAS_N_LOW, get(meta, "regularMarketDayLow"), 0, e->shift, "regularMarketDayLow", why, sizeof(why)) < 0 ||
		    take(r, MDAS_N_VOLUME, get(meta, "regularMarketVolume"), 0, 0, "regularMarketVolume", why, sizeof(why)) < 0 ||
		    take(r, MDAS_N_PREV_CLOSE, pc, 0, e->shift, "previousClose", why, sizeof(why)) < 0)
			w = why;
		return emit_quote(n, e, r, w);
	}

	memset(&c, 0, sizeof(c));
	c.ts = get(result, "timestamp");
	if (!mdas_json_is_null(c.ts)) {
		if (!mdas_json_is_array(c.ts))
			return envelope_error(n, e, CODE_BAD_PAYLOAD, "chart: timestamp is not an array");
		count = mdas_json_len(c.ts);
	}
	if (e->interval == NULL)
		return envelope_error(n, e, CODE_BAD_ENVELOPE, "no interval");
	q = get_index(get(get(result, "indicators"), "quote"), 0);
	if ((rc = chart_array(n, e, q, "open", count, &c.open)) != 0 ||
	    (rc = chart_array(n, e, q, "high", count, &c.high)) != 0 ||
	    (rc = chart_array(n, e, q, "low", count, &c.low)) != 0 ||
	    (rc = chart_array(n, e, q, "close", count, &c.close)) != 0 ||
	    (rc = chart_array(n, e, q, "volume", count, &c.volume)) != 0)
		return rc < 0 ? MDAS_NORM_STOP : MDAS_NORM_OK;
	if (get(get(result, "indicators"), "adjclose") != NULL) {
		struct json_object *aq = get_index(get(get(result, "indicators"), "adjclose"), 0);

		if ((rc = chart_array(n, e, aq, "adjclose", count, &c.adj)) != 0)
			return rc < 0 ? MDAS_NORM_STOP : MDAS_NORM_OK;
	}
	if ((s = envelope_series(n, e)) == NULL)
		return MDAS_NORM_FAIL;
	src.build = chart_build;
	src.time = chart_time;
	src.ctx = &c;
	src.count = count;
	if ((rc = process_bars(n, e, s, &src)) != MDAS_NORM_OK)
		return rc;
	if (!mdas_json_is_null(get(result, "events")))
		return chart_events(n, e, s, get(result, "events"));
	return MDAS_NORM_OK;
}

/* ---- Yahoo v7 quote ------------------------------------------------- */

static int
yahoo_quote(struct mdas_normalizer *n, struct env *e, struct json_object *p)
{
	struct mdas_record *r = n->scratch;
	const char *w = NULL;
	char why[600], acbuf[64];

	int rc;

	if (!mdas_json_is_object(p))
		return envelope_error(n, e, CODE_BAD_PAYLOAD, "quote: payload is not an object");
	if (instrument(n, e, p, "fullExchangeName", "exchange", "quoteType",
	    acbuf, sizeof(acbuf), &rc) < 0)
		return rc;
	base(n, e, r, MDAS_REC_QUOTE);
	if (take_time(r, get(p, "regularMarketTime"), 1000, "regularMarketTime", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_CLOSE, get(p, "regularMarketPrice"), 0, e->shift, "regularMarketPrice", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_OPEN, get(p, "regularMarketOpen"), 0, e->shift, "regularMarketOpen", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_HIGH, get(p, "regularMarketDayHigh"), 0, e->shift, "regularMarketDayHigh", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_LOW, get(p, "regularMarketDayLow"), 0, e->shift, "regularMarketDayLow", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_VOLUME, get(p, "regularMarketVolume"), 0, 0, "regularMarketVolume", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_PREV_CLOSE, get(p, "regularMarketPreviousClose"), 0, e->shift, "regularMarketPreviousClose", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_BID, get(p, "bid"), 0, e->shift, "bid", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_ASK, get(p, "ask"), 0, e->shift, "ask", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_BID_SIZE, get(p, "bidSize"), 0, 0, "bidSize", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_ASK_SIZE, get(p, "askSize"), 0, 0, "askSize", why, sizeof(why)) < 0)
		w = why;
	return emit_quote(n, e, r, w);
}

/* ---- Binance --------------------------------------------------------- */

static void
binance_facts(struct env *e)
{
	e->exchange = "BINANCE";
	e->tz = "UTC";
	e->asset_class = "crypto";
	e->currency = binance_quote_asset(e->symbol);
	e->shift = 0;
}

static int
binance_ticker(struct mdas_normalizer *n, struct env *e, struct json_object *p)
{
	struct mdas_record *r = n->scratch;
	const char *w = NULL;
	char why[600];

	if (!mdas_json_is_object(p))
		return envelope_error(n, e, CODE_BAD_PAYLOAD, "ticker24hr: payload is not an object");
	binance_facts(e);
	base(n, e, r, MDAS_REC_QUOTE);
	if (take_time(r, get(p, "closeTime"), 1, "closeTime", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_CLOSE, get(p, "lastPrice"), 1, 0, "lastPrice", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_OPEN, get(p, "openPrice"), 1, 0, "openPrice", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_HIGH, get(p, "highPrice"), 1, 0, "highPrice", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_LOW, get(p, "lowPrice"), 1, 0, "lowPrice", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_VOLUME, get(p, "volume"), 1, 0, "volume", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_QUOTE_VOLUME, get(p, "quoteVolume"), 1, 0, "quoteVolume", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_PREV_CLOSE, get(p, "prevClosePrice"), 1, 0, "prevClosePrice", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_BID, get(p, "bidPrice"), 1, 0, "bidPrice", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_ASK, get(p, "askPrice"), 1, 0, "askPrice", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_BID_SIZE, get(p, "bidQty"), 1, 0, "bidQty", why, sizeof(why)) < 0 ||
	    take(r, MDAS_N_ASK_SIZE, get(p, "askQty"), 1, 0, "askQty", why, sizeof(why)) < 0 ||
	    take_count(r, get(p, "count"), "count", why, sizeof(why)) < 0)
		w = why;
	return emit_quote(n, e, r, w);
}

static int
kline_time(void *ctx, size_t idx, int64_t *ms, char *why, size_t whysize)
{
	struct json_object *row = get_index(ctx, idx);
	struct mdas_record r;

	if (mdas_json_len(row) < 9) {
		snprintf(why, whysize, "kline row is not an array of 12 values");
		return -1;
	}
	if (take_time(&r, get_index(row, 0), 1, "open time", why, whysize) < 0)
		return -1;
	*ms = r.ts_ms;
	return 0;
}

static int
kline_build(struct mdas_normalizer *n, struct env *e, void *ctx, size_t idx,
    struct mdas_record *r, char *why, size_t whysize)
{
	struct json_object *row = get_index(ctx, idx);

	(void)n;
	(void)e;
	if (take(r, MDAS_N_OPEN, get_index(row, 1), 1, 0, "open", why, whysize) < 0 ||
	    take(r, MDAS_N_HIGH, get_index(row, 2), 1, 0, "high", why, whysize) < 0 ||
	    take(r, MDAS_N_LOW, get_index(row, 3), 1, 0, "low", why, whysize) < 0 ||
	    take(r, MDAS_N_CLOSE, get_index(row, 4), 1, 0, "close", why, whysize) < 0 ||
	    take(r, MDAS_N_VOLUME, get_index(row, 5), 1, 0, "volume", why, whysize) < 0 ||
	    take(r, MDAS_N_QUOTE_VOLUME, get_index(row, 7), 1, 0, "quote volume", why, whysize) < 0 ||
	    take_count(r, get_index(row, 8), "trade count", why, whysize) < 0)
		return -1;
	return 0;
}

static int
binance_klines(struct mdas_normalizer *n, struct env *e, struct json_object *p)
{
	struct bar_source src;
	struct mdas_series *s;

	if (!mdas_json_is_array(p))
		return envelope_error(n, e, CODE_BAD_PAYLOAD, "klines: payload is not an array");
	if (e->interval == NULL)
		return envelope_error(n, e, CODE_BAD_ENVELOPE, "no interval");
	binance_facts(e);
	if ((s = envelope_series(n, e)) == NULL)
		return MDAS_NORM_FAIL;
	src.build = kline_build;
	src.time = kline_time;
	src.ctx = p;
	src.count = mdas_json_len(p);
	return process_bars(n, e, s, &src);
}

/* ---- the stream ------------------------------------------------------ */

int
mdas_normalizer_bad_line(struct mdas_normalizer *n, const char *line,
    size_t len, const char *input, unsigned long lineno, const char *reason)
{
	struct env e;

	memset(&e, 0, sizeof(e));
	e.input = input;
	e.lineno = lineno;
	e.line = line;
	e.len = len;
	return do_reject(n, &e, "%s", reason);
}

int
mdas_normalizer_line(struct mdas_normalizer *n, struct json_object *v,
    const char *line, size_t len, const char *input, unsigned long lineno,
    struct mdas_error *err)
{
	struct json_object *payload;
	struct env e;
	const char *type, *bad = NULL, *why;
	int64_t fetched_ms;
	int rc;

	memset(&e, 0, sizeof(e));
	e.input = input;
	e.lineno = lineno;
	e.line = line;
	e.len = len;
	if (!json_object_is_type(v, json_type_object)) {
		rc = do_reject(n, &e, "not an envelope (expected a JSON object)");
		goto out;
	}
	if ((type = get_str(v, "type")) == NULL) {
		rc = do_reject(n, &e, "not an envelope (no \"type\")");
		goto out;
	}
	if (mdas_json_get_string(v, "symbol", &e.symbol) == MDAS_JSON_WRONG) {
		rc = do_reject(n, &e, "symbol is not a string");
		goto out;
	}
	if (strcmp(type, "error") == 0) {
		/* Fetch errors go on unchanged, byte for byte. */
		mdas_jsonw_raw(n->w, line, len);
		write_line(n);
		n->stats.passed++;
		rc = MDAS_NORM_OK;
		goto out;
	}
	if (strcmp(type, "raw") != 0) {
		rc = do_reject(n, &e, "unknown record type '%s'", type);
		goto out;
	}
	fact(v, "source", &e.source, &bad);
	fact(v, "endpoint", &e.endpoint, &bad);
	fact(v, "kind", &e.kind, &bad);
	fact(v, "interval", &e.interval, &bad);
	fact(v, "fetched_at", &e.fetched_at, &bad);
	fact(v, "url", &e.url, &bad);
	payload = get(v, "payload");
	/* An envelope without a symbol may still name it in its payload. */
	if (e.symbol == NULL)
		e.symbol = get_str(payload, "symbol");
	if (e.symbol == NULL)
		e.symbol = get_str(get(get_index(get(get(payload, "chart"), "result"), 0),
		    "meta"), "symbol");
	if (e.symbol == NULL) {
		rc = do_reject(n, &e, "no symbol");
		goto out;
	}
	if (bad != NULL) {
		rc = envelope_error(n, &e, CODE_BAD_ENVELOPE, "%s is not a string", bad);
		goto out;
	}
	if (e.source == NULL || e.endpoint == NULL) {
		rc = envelope_error(n, &e, CODE_BAD_ENVELOPE, "no source or endpoint");
		goto out;
	}
	if (mdas_json_is_null(payload)) {
		rc = envelope_error(n, &e, CODE_BAD_ENVELOPE, "no payload");
		goto out;
	}
	/* Copied into every record: it must read back as the time it is. */
	if (e.fetched_at != NULL &&
	    (why = mdas_bounds_time_text(e.fetched_at, 0, &fetched_ms)) != NULL) {
		e.fetched_at = NULL;
		rc = envelope_error(n, &e, CODE_BAD_ENVELOPE, "fetched_at: %s", why);
		goto out;
	}
	if (strcmp(e.source, "yahoo") == 0 && strcmp(e.endpoint, "chart") == 0)
		rc = yahoo_chart(n, &e, payload);
	else if (strcmp(e.source, "yahoo") == 0 && strcmp(e.endpoint, "quote") == 0)
		rc = yahoo_quote(n, &e, payload);
	else if (strcmp(e.source, "binance") == 0 && strcmp(e.endpoint, "ticker24hr") == 0)
		rc = binance_ticker(n, &e, payload);
	else if (strcmp(e.source, "binance") == 0 && strcmp(e.endpoint, "klines") == 0)
		rc = binance_klines(n, &e, payload);
	else
		rc = envelope_error(n, &e, CODE_BAD_ENVELOPE, "unsupported source/endpoint %s/%s",
		    e.source, e.endpoint);
	if (rc != MDAS_NORM_FAIL && !n->failed)
		finish_items(n, &e);
out:
	if (n->failed) {
		mdas_error_errno(err, n->failed_errno, "write error");
		return MDAS_NORM_FAIL;
	}
	return rc;
}

/* The reader's message is "input:line: reason"; mdas_normalizer_bad_line()
 * adds the place again, so only the reason is passed on. */
static const char *
reason_of(const char *msg, const char *input, unsigned long lineno)
{
	char prefix[600];
	size_t n;

	n = (size_t)snprintf(prefix, sizeof(prefix), "%s:%lu: ", input, lineno);
	return strncmp(msg, prefix, n) == 0 ? msg + n : msg;
}

int
mdas_normalizer_run(struct mdas_normalizer *n, FILE *fp, const char *input,
    int *read_failed, struct mdas_error *err)
{
	struct mdas_ndjson *r;
	struct json_object *v;
	const char *line;
	size_t len;
	int rc = MDAS_NORM_OK, got;

	if ((r = mdas_ndjson_open(fp, input, 0)) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", input);
		return MDAS_NORM_FAIL;
	}
	while (rc == MDAS_NORM_OK && (got = mdas_ndjson_next(r, &v, err)) != MDAS_NDJSON_EOF) {
		line = mdas_ndjson_line(r, &len);
		if (got == MDAS_NDJSON_VALUE) {
			rc = mdas_normalizer_line(n, v, line, len, input,
			    mdas_ndjson_lineno(r), err);
			json_object_put(v);
		} else if (got == MDAS_NDJSON_BAD)
			rc = mdas_normalizer_bad_line(n, line, len, input,
			    mdas_ndjson_lineno(r),
			    reason_of(err->msg, input, mdas_ndjson_lineno(r)));
		else {
			*read_failed = 1;
			break;
		}
	}
	mdas_ndjson_free(r);
	return rc;
}
