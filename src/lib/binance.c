#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binance.h"
#include "jsonget.h"
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
	struct json_object *c = mdas_json_get(body, "code");
	const char *m = mdas_json_any_str(body, "msg");

	if (!json_object_is_type(c, json_type_int) || m == NULL)
		return 0;
	*code = json_object_get_int64(c);
	*msg = m;
	return 1;
}

struct json_object *
mdas_binance_find_symbol(struct json_object *arr, const char *sym)
{
	size_t i, n = mdas_json_len(arr);
	const char *s;

	for (i = 0; i < n; i++) {
		s = mdas_json_any_str(mdas_json_at(arr, i), "symbol");
		if (s != NULL && strcmp(s, sym) == 0)
			return mdas_json_at(arr, i);
	}
	return NULL;
}
