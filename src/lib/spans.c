/* spans.c: reading gap lines for mdas-fetch --spans (spans.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonget.h"
#include "ndjson.h"
#include "spans.h"

#define SPAN_LINE_MAX 4096
/* 9999-12-31T23:59:59.999Z */
#define TS_MAX INT64_C(253402300799999)

struct mdas_spans {
	struct mdas_span *v;
	size_t n, cap, over;
	unsigned long lines, bad;
};

static int
get_ts(struct json_object *v, const char *key, int64_t *out, char *why, size_t n)
{
	struct json_object *x = mdas_json_get(v, key);

	if (x == NULL) {
		snprintf(why, n, "no %s", key);
		return -1;
	}
	if (!json_object_is_type(x, json_type_int)) {
		snprintf(why, n, "%s is not an integer", key);
		return -1;
	}
	errno = 0;
	*out = json_object_get_int64(x);
	if (errno != 0 || *out < 0 || *out > TS_MAX) {
		snprintf(why, n, "%s is out of range (expected 0 to %lld)", key,
		    (long long)TS_MAX);
		return -1;
	}
	return 0;
}

static int
get_text(struct json_object *v, const char *key, const char **out, char *why, size_t n)
{
	switch (mdas_json_get_string(v, key, out)) {
	case MDAS_JSON_FOUND:
		return 0;
	case MDAS_JSON_WRONG:
		snprintf(why, n, "%s is not a string", key);
		return -1;
	default:
		snprintf(why, n, "no %s", key);
		return -1;
	}
}

/* 1: a span kept in *sp; 0: a line to leave (another interval or
 * source, a more_gaps line); -1: malformed, why says how. */
static int
check(struct json_object *v, const char *interval, struct mdas_span *sp, char *why, size_t n)
{
	const char *src, *sym, *iv;
	int s;

	memset(sp, 0, sizeof(*sp));
	if (!mdas_json_is_object(v)) {
		snprintf(why, n, "not a gap (expected a JSON object)");
		return -1;
	}
	if (get_text(v, "source", &src, why, n) < 0 || get_text(v, "symbol", &sym, why, n) < 0 ||
	    get_text(v, "interval", &iv, why, n) < 0)
		return -1;
	if (mdas_json_get(v, "more_gaps") != NULL && mdas_json_get(v, "from_ts_ms") == NULL)
		return 0;
	if (get_ts(v, "from_ts_ms", &sp->from_ts_ms, why, n) < 0 ||
	    get_ts(v, "to_ts_ms", &sp->to_ts_ms, why, n) < 0)
		return -1;
	if (sp->from_ts_ms > sp->to_ts_ms) {
		snprintf(why, n, "from_ts_ms is after to_ts_ms");
		return -1;
	}
	if (strlen(sym) > MDAS_SYMBOL_MAX) {
		snprintf(why, n, "symbol is longer than %d bytes", MDAS_SYMBOL_MAX);
		return -1;
	}
	if (strcmp(iv, interval) != 0 || (s = mdas_source_parse(src)) < 0)
		return 0;
	sp->source = (enum mdas_source)s;
	strcpy(sp->symbol, sym);
	return 1;
}

static int
cmp_series(const struct mdas_span *x, const struct mdas_span *y)
{
	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	return strcmp(x->symbol, y->symbol);
}

static int
cmp_span(const void *a, const void *b)
{
	const struct mdas_span *x = a, *y = b;
	int c = cmp_series(x, y);

	if (c != 0)
		return c;
	if (x->from_ts_ms != y->from_ts_ms)
		return x->from_ts_ms < y->from_ts_ms ? -1 : 1;
	if (x->to_ts_ms != y->to_ts_ms)
		return x->to_ts_ms < y->to_ts_ms ? -1 : 1;
	return 0;
}

struct mdas_spans *
mdas_spans_read(FILE *fp, const char *name, const char *interval,
    void (*bad)(void *ctx, const char *msg), void *ctx, struct mdas_error *err)
{
	struct mdas_spans *ss = calloc(1, sizeof(*ss));
	struct mdas_ndjson *r = NULL;
	struct json_object *v;
	struct mdas_span sp;
	struct mdas_error lerr;
	char why[256], msg[sizeof(why) + 300];
	size_t i, o, first, k;
	int rc;

	if (ss == NULL || (r = mdas_ndjson_open(fp, name, SPAN_LINE_MAX)) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", name);
		goto fail;
	}
	while ((rc = mdas_ndjson_next(r, &v, &lerr)) != MDAS_NDJSON_EOF) {
		if (rc == MDAS_NDJSON_IOERR) {
			*err = lerr;
			goto fail;
		}
		ss->lines = mdas_ndjson_lineno(r);
		if (rc == MDAS_NDJSON_BAD) {
			ss->bad++;
			if (bad != NULL)
				bad(ctx, lerr.msg);
			continue;
		}
		rc = check(v, interval, &sp, why, sizeof(why));
		json_object_put(v);
		if (rc < 0) {
			ss->bad++;
			snprintf(msg, sizeof(msg), "%s:%lu: %s", name, mdas_ndjson_lineno(r), why);
			if (bad != NULL)
				bad(ctx, msg);
			continue;
		}
		if (rc == 0)
			continue;
		if (ss->n == ss->cap) {
			size_t ncap = ss->cap ? ss->cap * 2 : 64;
			struct mdas_span *nv;

			if (ss->n >= MDAS_SPANS_MAX) {
				mdas_error_set(err, "%s: more than %d gaps of interval %s", name,
				    MDAS_SPANS_MAX, interval);
				goto fail;
			}
			if ((nv = realloc(ss->v, ncap * sizeof(*nv))) == NULL) {
				mdas_error_errno(err, ENOMEM, "%s", name);
				goto fail;
			}
			ss->v = nv;
			ss->cap = ncap;
		}
		ss->v[ss->n++] = sp;
	}
	mdas_ndjson_free(r);
	if (ss->n > 1)
		qsort(ss->v, ss->n, sizeof(*ss->v), cmp_span);
	/* Equal spans once; of each series the newest MDAS_SPANS_PER_SERIES. */
	for (i = o = 0; i < ss->n; i++)
		if (o == 0 || cmp_span(&ss->v[o - 1], &ss->v[i]) != 0)
			ss->v[o++] = ss->v[i];
	ss->n = o;
	for (i = o = 0; i < ss->n; i = first) {
		for (first = i; first < ss->n && cmp_series(&ss->v[i], &ss->v[first]) == 0; first++)
			;
		k = first - i;
		if (k > MDAS_SPANS_PER_SERIES) {
			ss->over += k - MDAS_SPANS_PER_SERIES;
			i = first - MDAS_SPANS_PER_SERIES;
		}
		for (; i < first; i++)
			ss->v[o++] = ss->v[i];
	}
	ss->n = o;
	return ss;
fail:
	mdas_ndjson_free(r);
	mdas_spans_free(ss);
	return NULL;
}

void
mdas_spans_free(struct mdas_spans *ss)
{
	if (ss == NULL)
		return;
	free(ss->v);
	free(ss);
}

const struct mdas_span *
mdas_spans_find(const struct mdas_spans *ss, enum mdas_source source, const char *symbol,
    size_t *n)
{
	struct mdas_span key;
	size_t lo = 0, hi, e;

	*n = 0;
	if (ss == NULL || ss->n == 0 || strlen(symbol) > MDAS_SYMBOL_MAX)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.source = source;
	strcpy(key.symbol, symbol);
	/* The first span of the series: lower bound. */
	hi = ss->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_series(&ss->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (e = lo; e < ss->n && cmp_series(&ss->v[e], &key) == 0; e++)
		;
	*n = e - lo;
	return *n > 0 ? &ss->v[lo] : NULL;
}

void
mdas_spans_counts(const struct mdas_spans *ss, unsigned long *lines, size_t *kept,
    size_t *over, unsigned long *bad)
{
	*lines = ss->lines;
	*kept = ss->n;
	*over = ss->over;
	*bad = ss->bad;
}
