#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binance.h"
#include "symbol.h"

char *
mdas_binance_ticker_url(const char *base, const char *const *syms, size_t n)
{
	char *buf = NULL;
	size_t blen, i;
	int failed = 0;
	FILE *fp = open_memstream(&buf, &blen);

	if (fp == NULL)
		return NULL;
	if (n == 1) {
		fprintf(fp, "%s/api/v3/ticker/24hr?symbol=", base);
		failed |= mdas_url_put_escaped(fp, syms[0]);
	} else {
		/* ["A","B"] percent-encoded as a whole: %5B%22A%22%2C%22B%22%5D */
		fprintf(fp, "%s/api/v3/ticker/24hr?symbols=%%5B", base);
		for (i = 0; i < n; i++) {
			if (i > 0)
				fputs("%2C", fp);
			fputs("%22", fp);
			failed |= mdas_url_put_escaped(fp, syms[i]);
			fputs("%22", fp);
		}
		fputs("%5D", fp);
	}
	return mdas_url_finish(fp, &buf, failed);
}

char *
mdas_binance_klines_url(const char *base, const char *sym, const char *interval,
    int64_t start_ms, int64_t end_ms, int limit)
{
	char *buf = NULL;
	size_t n;
	int failed = 0;
	FILE *fp = open_memstream(&buf, &n);

	if (fp == NULL)
		return NULL;
	fprintf(fp, "%s/api/v3/klines?symbol=", base);
	failed |= mdas_url_put_escaped(fp, sym);
	fputs("&interval=", fp);
	failed |= mdas_url_put_escaped(fp, interval);
	fprintf(fp, "&startTime=%lld&endTime=%lld&limit=%d",
	    (long long)start_ms, (long long)end_ms, limit);
	return mdas_url_finish(fp, &buf, failed);
}

const char *
mdas_binance_interval(const char *interval)
{
	static const char *const map[][2] = {
		{ "1m", "1m" }, { "5m", "5m" }, { "15m", "15m" }, { "30m", "30m" },
		{ "60m", "1h" }, { "1h", "1h" }, { "4h", "4h" }, { "1d", "1d" },
		{ "1wk", "1w" }, { "1mo", "1M" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(interval, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

int
mdas_binance_error(struct json_object *body, int64_t *code, const char **msg)
{
	struct json_object *c, *m;

	if (!json_object_is_type(body, json_type_object) ||
	    !json_object_object_get_ex(body, "code", &c) ||
	    !json_object_is_type(c, json_type_int) ||
	    !json_object_object_get_ex(body, "msg", &m) ||
	    !json_object_is_type(m, json_type_string))
		return 0;
	*code = json_object_get_int64(c);
	*msg = json_object_get_string(m);
	return 1;
}

struct json_object *
mdas_binance_find_symbol(struct json_object *arr, const char *sym)
{
	size_t i, n;
	struct json_object *o, *s;

	if (!json_object_is_type(arr, json_type_array))
		return NULL;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(o, "symbol", &s) &&
		    json_object_is_type(s, json_type_string) &&
		    strcmp(json_object_get_string(s), sym) == 0)
			return o;
	}
	return NULL;
}
