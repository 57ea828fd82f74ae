/* tradinggaps.c: bars missing inside Yahoo's trading periods (tradinggaps.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonget.h"
#include "store.h"
#include "tradinggaps.h"

/* Intraday intervals Yahoo serves, in seconds. */
static int64_t
step_s(const char *iv)
{
	static const struct { const char *n; int64_t s; } t[] = {
		{ "1m", 60 }, { "2m", 120 }, { "5m", 300 }, { "15m", 900 }, { "30m", 1800 },
		{ "60m", 3600 }, { "90m", 5400 }, { "1h", 3600 },
	};
	size_t i;

	for (i = 0; iv != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(iv, t[i].n) == 0)
			return t[i].s;
	return 0;
}

/* The integer value of query parameter name in url, or def. */
static int64_t
url_param(const char *url, const char *name, int64_t def)
{
	const char *p = strchr(url, '?');
	size_t nl = strlen(name);
	char *e;
	long long v;

	while (p != NULL) {
		p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			errno = 0;
			v = strtoll(p + nl + 1, &e, 10);
			return errno == 0 && e != p + nl + 1 && (*e == '&' || *e == '\0') ? v : def;
		}
		p = strchr(p, '&');
	}
	return def;
}

static int
num(struct json_object *v, int64_t *out)
{
	if (v == NULL || !(json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)))
		return -1;
	errno = 0;
	*out = json_object_get_int64(v);
	return errno == 0 ? 0 : -1;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
put_gap(FILE *out, const char *sym, const char *iv, int64_t from, int64_t to, int64_t n)
{
	/* The store's gap line, so --spans reads both alike. */
	return mdas_store_print_line(out, "yahoo", sym, iv, "from_ts_ms", from * 1000,
	    "to_ts_ms", to * 1000, "missing", n);
}

/* The sessions of tp, flattened: [{start,end}] or [[{start,end}], ...]. */
static size_t
sessions(struct json_object *tp, int64_t (*se)[2], size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < mdas_json_len(tp) && n < max; i++) {
		struct json_object *d = mdas_json_at(tp, i);
		size_t k = mdas_json_is_array(d) ? mdas_json_len(d) : 1;

		for (j = 0; j < k && n < max; j++) {
			struct json_object *s = mdas_json_is_array(d) ? mdas_json_at(d, j) : d;

			if (num(mdas_json_get(s, "start"), &se[n][0]) == 0 &&
			    num(mdas_json_get(s, "end"), &se[n][1]) == 0 && se[n][0] < se[n][1])
				n++;
		}
	}
	return n;
}

#define MAX_SESSIONS 4096

int
mdas_trading_gaps(struct json_object *v, FILE *out, unsigned long *gaps)
{
	const char *type, *src, *ep, *kind, *sym, *iv, *url = "";
	struct json_object *r, *tp, *ts, *close;
	int64_t step, lo, hi, *have = NULL, t, run_from = 0, run_n = 0;
	int64_t (*se)[2] = NULL;
	size_t i, n, nh = 0, ns, p;
	int rc = -1;

	if (mdas_json_get_string(v, "type", &type) != MDAS_JSON_FOUND || strcmp(type, "raw") != 0 ||
	    mdas_json_get_string(v, "source", &src) != MDAS_JSON_FOUND ||
	    strcmp(src, "yahoo") != 0 ||
	    mdas_json_get_string(v, "endpoint", &ep) != MDAS_JSON_FOUND ||
	    strcmp(ep, "chart") != 0 ||
	    mdas_json_get_string(v, "kind", &kind) != MDAS_JSON_FOUND ||
	    strcmp(kind, "history") != 0 ||
	    mdas_json_get_string(v, "symbol", &sym) != MDAS_JSON_FOUND ||
	    mdas_json_get_string(v, "interval", &iv) != MDAS_JSON_FOUND ||
	    (step = step_s(iv)) == 0)
		return 0;
	mdas_json_get_string(v, "url", &url);
	r = mdas_json_at(mdas_json_get(mdas_json_get(mdas_json_get(v, "payload"), "chart"),
	    "result"), 0);
	/* Crypto trades around the clock: the store's own check covers it
	 * (mdas-store(7), GAPS), and one gap is not reported twice. */
	if (mdas_json_get_string(mdas_json_get(r, "meta"), "instrumentType", &type) ==
	    MDAS_JSON_FOUND && strcmp(type, "CRYPTOCURRENCY") == 0)
		return 0;
	tp = mdas_json_get(mdas_json_get(r, "meta"), "tradingPeriods");
	/* includePrePost bodies: {"pre":..,"regular":..,"post":..}. */
	if (mdas_json_is_object(tp))
		tp = mdas_json_get(tp, "regular");
	ts = mdas_json_get(r, "timestamp");
	close = mdas_json_get(mdas_json_at(mdas_json_get(mdas_json_get(r, "indicators"),
	    "quote"), 0), "close");
	if (!mdas_json_is_array(tp) || (n = mdas_json_len(ts)) == 0)
		return 0;
	if ((have = malloc(n * sizeof(*have))) == NULL ||
	    (se = malloc(MAX_SESSIONS * sizeof(*se))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		struct json_object *c = mdas_json_at(close, i);

		if (num(mdas_json_at(ts, i), &t) == 0 && c != NULL &&
		    !json_object_is_type(c, json_type_null))
			have[nh++] = t;
	}
	rc = 0;
	if (nh == 0)
		goto out;
	qsort(have, nh, sizeof(*have), cmp64);
	ns = sessions(tp, se, MAX_SESSIONS);
	/* Judged: between the first and the last bar on a session slot (Yahoo
	 * may add one at the session's end or at the last trade time), inside
	 * the request's period. */
	lo = INT64_MAX;
	hi = INT64_MIN;
	for (i = 0; i < nh; i++)
		for (p = 0; p < ns; p++)
			if (have[i] >= se[p][0] && have[i] < se[p][1] &&
			    (have[i] - se[p][0]) % step == 0) {
				if (have[i] < lo)
					lo = have[i];
				if (have[i] > hi)
					hi = have[i];
				break;
			}
	if (lo > hi)
		goto out;
	if (url_param(url, "period1", lo) > lo)
		lo = url_param(url, "period1", lo);
	if (url_param(url, "period2", hi + 1) - 1 < hi)
		hi = url_param(url, "period2", hi + 1) - 1;
	p = 0;
	for (i = 0; i < ns; i++) {
		for (t = se[i][0]; t < se[i][1]; t += step) {
			int found;

			if (t < lo || t > hi)
				continue;
			while (p < nh && have[p] < t)
				p++;
			found = p < nh && have[p] == t;
			if (!found && run_n == 0)
				run_from = t;
			if (!found) {
				run_n++;
				continue;
			}
			if (run_n > 0) {
				if (put_gap(out, sym, iv, run_from, run_from + (run_n - 1) * step,
				    run_n) < 0)
					rc = -1;
				(*gaps)++;
				run_n = 0;
			}
		}
		/* A session's end closes its run: the next session is another day. */
		if (run_n > 0) {
			if (put_gap(out, sym, iv, run_from, run_from + (run_n - 1) * step, run_n) < 0)
				rc = -1;
			(*gaps)++;
			run_n = 0;
		}
		p = 0;
	}
out:
	free(have);
	free(se);
	return rc;
}
