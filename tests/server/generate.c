/* generate.c: synthetic klines and charts (see generate.h). */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "scenario.h"

/* Most bars one generated answer holds (Yahoo answers are not paged:
 * 8 days of 1m bars are 11520). */
#define GEN_MAX_BARS 200000

enum replay_gen
replay_gen_parse(const char *name)
{
	if (strcmp(name, "klines") == 0)
		return GEN_KLINES;
	if (strcmp(name, "chart") == 0)
		return GEN_CHART;
	return GEN_NONE;
}

/* The decoded value of name in query (malloc'd), or NULL. */
static char *
param(const char *query, const char *name)
{
	size_t nl = strlen(name), vl;
	const char *p = query;

	while (p != NULL && *p != '\0') {
		vl = strcspn(p, "&");
		if (vl > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			return replay_percent_decode(p + nl + 1, vl - nl - 1);
		p = p[vl] == '&' ? p + vl + 1 : NULL;
	}
	return NULL;
}

static int
param_int(const char *query, const char *name, int64_t *v)
{
	char *s = param(query, name), *e;
	int rc = -1;

	if (s != NULL && *s != '\0') {
		*v = strtoll(s, &e, 10);
		rc = *e == '\0' ? 0 : -1;
	}
	free(s);
	return rc;
}

static int64_t
interval_ms(const char *iv)
{
	static const struct { const char *n; int64_t ms; } t[] = {
		{ "1m", 60000 }, { "2m", 120000 }, { "3m", 180000 }, { "5m", 300000 },
		{ "15m", 900000 }, { "30m", 1800000 }, { "60m", 3600000 }, { "90m", 5400000 },
		{ "1h", 3600000 }, { "2h", 7200000 }, { "4h", 14400000 }, { "6h", 21600000 },
		{ "8h", 28800000 }, { "12h", 43200000 }, { "1d", 86400000 },
		{ "3d", 259200000 }, { "1w", 604800000 }, { "1wk", 604800000 },
	};
	size_t i;

	for (i = 0; iv != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(iv, t[i].n) == 0)
			return t[i].ms;
	return 0;
}

/* Price in cents of the bar that opens at t (ms): a saw tooth. */
static int64_t
cents(int64_t t, int64_t iv)
{
	return 10000 + (t / iv) % 1000;
}

/* The close in cents of a bar still forming at the end of the period
 * asked for (elapsed of its iv gone): low + 0 or 1 cent, never the close
 * it gets once complete (cents + 1), so a client that asks again later
 * sees the bar change, as it would upstream. */
static int64_t
forming_close(int64_t c, int64_t elapsed, int64_t iv)
{
	return c - 1 + elapsed * 2 / iv;
}

static int
finish(FILE *fp, char **body, size_t *len)
{
	if (fclose(fp) != 0) {
		free(*body);
		*body = NULL;
		return -1;
	}
	return 0;
}

static int
klines(const char *query, long hole_from, long hole_to, int *status, char **body, size_t *len)
{
	char *sym = param(query, "symbol"), *iv = param(query, "interval");
	int64_t start, end = INT64_MAX, limit = 500, step, t, n = 0, c, f;
	FILE *fp = open_memstream(body, len);

	if (fp == NULL) {
		free(sym);
		free(iv);
		return -1;
	}
	step = interval_ms(iv);
	if (sym == NULL || *sym == '\0' || step == 0 || param_int(query, "startTime", &start) < 0 ||
	    (strstr(query, "endTime=") != NULL && param_int(query, "endTime", &end) < 0) ||
	    (strstr(query, "limit=") != NULL && param_int(query, "limit", &limit) < 0) ||
	    limit < 1 || limit > 1000 || start < 0) {
		*status = 400;
		fputs("{\"code\":-1100,\"msg\":\"synthetic klines: symbol, a known interval, "
		    "startTime and a limit of 1 to 1000 are needed\"}", fp);
		goto out;
	}
	*status = 200;
	fputc('[', fp);
	for (t = (start + step - 1) / step * step; t <= end && n < limit; t += step) {
		if (hole_from >= 0 && t >= hole_from && t <= hole_to)
			continue;
		c = cents(t, step);
		f = t + step - 1 > end ? forming_close(c, end - t, step) : c + 1;
		fprintf(fp, "%s[%" PRId64 ",\"%" PRId64 ".%02" PRId64 "000000\","
		    "\"%" PRId64 ".%02" PRId64 "000000\",\"%" PRId64 ".%02" PRId64 "000000\","
		    "\"%" PRId64 ".%02" PRId64 "000000\",\"1.50000000\",%" PRId64 ","
		    "\"150.00000000\",10,\"0.75000000\",\"75.00000000\",\"0\"]",
		    n > 0 ? "," : "", t, c / 100, c % 100, (c + 2) / 100, (c + 2) % 100,
		    (c - 1) / 100, (c - 1) % 100, f / 100, f % 100, t + step - 1);
		n++;
	}
	fputc(']', fp);
out:
	free(sym);
	free(iv);
	return finish(fp, body, len);
}

/* Prints the values of one indicator array (seconds; p2: the end of the
 * period, for the close of a bar still forming then). */
static void
series(FILE *fp, int64_t first, int64_t n, int64_t step, int64_t add, int64_t p2)
{
	int64_t k, c, t;

	fputc('[', fp);
	for (k = 0; k < n; k++) {
		t = first + k * step;
		c = cents(t * 1000, step * 1000) + add;
		if (add == 1 && t + step > p2)
			c = forming_close(c - 1, p2 - t, step);
		if (add == 1000000)     /* volume */
			fprintf(fp, "%s%d", k > 0 ? "," : "", 100);
		else
			fprintf(fp, "%s%" PRId64 ".%02" PRId64, k > 0 ? "," : "", c / 100, c % 100);
	}
	fputc(']', fp);
}

static int
chart(const char *path, const char *query, int *status, char **body, size_t *len)
{
	const char *slash = strrchr(path, '/');
	char *sym = slash != NULL ? replay_percent_decode(slash + 1, strlen(slash + 1)) : NULL;
	char *iv = param(query, "interval");
	int64_t p1, p2, step = interval_ms(iv) / 1000, first, n, k;
	FILE *fp = open_memstream(body, len);

	if (fp == NULL || sym == NULL) {
		if (fp != NULL)
			finish(fp, body, len);
		free(sym);
		free(iv);
		return -1;
	}
	/* Into a JSON string as it is: anything unusual becomes '_'. */
	for (k = 0; sym[k] != '\0'; k++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.^=-",
		    sym[k]) == NULL)
			sym[k] = '_';
	if (step == 0 || param_int(query, "period1", &p1) < 0 ||
	    param_int(query, "period2", &p2) < 0 || p1 < 0 || p2 <= p1) {
		*status = 400;
		fputs("{\"chart\":{\"result\":null,\"error\":{\"code\":\"Bad Request\","
		    "\"description\":\"synthetic chart: a known interval, period1 and a later "
		    "period2 are needed\"}}}", fp);
		goto out;
	}
	/* Yahoo's own refusal, so a client that asks for too much fails loudly. */
	if (strcmp(iv, "1m") == 0 && p2 - p1 > 8 * 86400) {
		*status = 422;
		fprintf(fp, "{\"chart\":{\"result\":null,\"error\":{\"code\":\"Unprocessable Entity\","
		    "\"description\":\"1m data not available for startTime=%" PRId64 " and endTime=%"
		    PRId64 ". Only 8 days worth of 1m granularity data are allowed to be fetched "
		    "per request.\"}}}", p1, p2);
		goto out;
	}
	first = (p1 + step - 1) / step * step;
	n = first < p2 ? (p2 - first + step - 1) / step : 0;
	if (n > GEN_MAX_BARS)
		n = GEN_MAX_BARS;
	*status = 200;
	fprintf(fp, "{\"chart\":{\"result\":[{\"meta\":{\"currency\":\"USD\",\"symbol\":\"%s\","
	    "\"exchangeName\":\"SYN\",\"fullExchangeName\":\"synthetic\","
	    "\"instrumentType\":\"CRYPTOCURRENCY\",\"firstTradeDate\":0,"
	    "\"regularMarketTime\":%" PRId64 ",\"hasPrePostMarketData\":false,\"gmtoffset\":0,"
	    "\"timezone\":\"UTC\",\"exchangeTimezoneName\":\"UTC\",\"regularMarketPrice\":100.0,"
	    "\"chartPreviousClose\":100.0,\"priceHint\":2,\"dataGranularity\":\"%s\","
	    "\"range\":\"\"},\"timestamp\":[", sym, p2, iv);
	for (k = 0; k < n; k++)
		fprintf(fp, "%s%" PRId64, k > 0 ? "," : "", first + k * step);
	fputs("],\"indicators\":{\"quote\":[{\"open\":", fp);
	series(fp, first, n, step, 0, p2);
	fputs(",\"high\":", fp);
	series(fp, first, n, step, 2, p2);
	fputs(",\"low\":", fp);
	series(fp, first, n, step, -1, p2);
	fputs(",\"close\":", fp);
	series(fp, first, n, step, 1, p2);
	fputs(",\"volume\":", fp);
	series(fp, first, n, step, 1000000, p2);
	fputs("}]}}],\"error\":null}}", fp);
out:
	free(sym);
	free(iv);
	return finish(fp, body, len);
}

int
replay_generate(enum replay_gen gen, const char *path, const char *query,
    long hole_from_ms, long hole_to_ms, int *status, char **body, size_t *len)
{
	*body = NULL;
	*len = 0;
	if (query == NULL)
		query = "";
	if (gen == GEN_KLINES)
		return klines(query, hole_from_ms, hole_to_ms, status, body, len);
	return chart(path, query, status, body, len);
}
