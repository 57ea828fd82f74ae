#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonget.h"
#include "symbol.h"
#include "yahoo.h"

int
mdas_yahoo_crumb_check(long status, const char *body, size_t len,
    char *crumb, const char **why)
{
	size_t i, start = 0, end = len;

	if (status != 200) {
		*why = "getcrumb did not answer 200";
		return -1;
	}
	while (start < end && (body[start] == ' ' || body[start] == '\t' ||
	    body[start] == '\r' || body[start] == '\n'))
		start++;
	while (end > start && (body[end - 1] == ' ' || body[end - 1] == '\t' ||
	    body[end - 1] == '\r' || body[end - 1] == '\n'))
		end--;
	if (end == start) {
		*why = "empty crumb";
		return -1;
	}
	if (body[start] == '<') {
		*why = "HTML instead of a crumb";
		return -1;
	}
	if (memmem(body + start, end - start, "Too Many Requests", 17) != NULL) {
		*why = "\"Too Many Requests\" instead of a crumb";
		return -1;
	}
	if (end - start > MDAS_YAHOO_CRUMB_MAX) {
		*why = "crumb longer than 64 bytes";
		return -1;
	}
	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)body[i];

		/* Real crumbs are short runs of URL-ish characters; spaces,
		 * quotes, braces or controls mean some other page came back. */
		if (c <= ' ' || c >= 0x7f || strchr("\"'<>{}[]\\", c) != NULL) {
			*why = "crumb with unexpected characters";
			return -1;
		}
	}
	memcpy(crumb, body + start, end - start);
	crumb[end - start] = '\0';
	return 0;
}

char *
mdas_yahoo_getcrumb_url(const char *base)
{
	char *buf = NULL;
	size_t n;
	FILE *fp = open_memstream(&buf, &n);

	if (fp == NULL)
		return NULL;
	fprintf(fp, "%s/v1/test/getcrumb", base);
	return mdas_url_finish(fp, &buf, 0);
}

char *
mdas_yahoo_quote_url(const char *base, const char *const *syms, size_t n,
    const char *crumb)
{
	char *buf = NULL;
	size_t blen, i;
	int failed = 0;
	FILE *fp = open_memstream(&buf, &blen);

	if (fp == NULL)
		return NULL;
	fprintf(fp, "%s/v7/finance/quote?symbols=", base);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', fp);
		failed |= mdas_url_put_escaped(fp, syms[i]);
	}
	fputs("&crumb=", fp);
	failed |= mdas_url_put_escaped(fp, crumb);
	return mdas_url_finish(fp, &buf, failed);
}

char *
mdas_yahoo_chart_url(const char *base, const char *sym, const char *interval,
    const char *range, int64_t period1, int64_t period2, int events)
{
	char *buf = NULL;
	size_t n;
	int failed = 0;
	FILE *fp = open_memstream(&buf, &n);

	if (fp == NULL)
		return NULL;
	fprintf(fp, "%s/v8/finance/chart/", base);
	failed |= mdas_url_put_escaped(fp, sym);
	fputs("?interval=", fp);
	failed |= mdas_url_put_escaped(fp, interval);
	if (range != NULL) {
		fputs("&range=", fp);
		failed |= mdas_url_put_escaped(fp, range);
	} else
		fprintf(fp, "&period1=%lld&period2=%lld", (long long)period1, (long long)period2);
	if (events)
		fputs("&events=div%2Csplits", fp);
	return mdas_url_finish(fp, &buf, failed);
}

int
mdas_yahoo_interval_ok(const char *interval)
{
	static const char *const ok[] = {
		"1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h",
		"1d", "5d", "1wk", "1mo", "3mo",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(interval, ok[i]) == 0)
			return 1;
	return 0;
}

int
mdas_yahoo_error(struct json_object *body, const char *top,
    const char **code, const char **desc)
{
	struct json_object *e = mdas_json_get(mdas_json_get(body, top), "error");

	*code = *desc = NULL;
	if (!mdas_json_is_object(e))
		return 0;
	*code = mdas_json_any_str(e, "code");
	*desc = mdas_json_any_str(e, "description");
	return 1;
}

struct json_object *
mdas_yahoo_quote_results(struct json_object *body)
{
	struct json_object *res = mdas_json_get(mdas_json_get(body, "quoteResponse"), "result");

	return mdas_json_is_array(res) ? res : NULL;
}

struct json_object *
mdas_yahoo_find_quote(struct json_object *results, const char *sym)
{
	size_t i, n = mdas_json_len(results);
	const char *s;

	for (i = 0; i < n; i++) {
		s = mdas_json_any_str(mdas_json_at(results, i), "symbol");
		if (s != NULL && strcasecmp(s, sym) == 0)
			return mdas_json_at(results, i);
	}
	return NULL;
}

struct json_object *
mdas_yahoo_chart_result(struct json_object *body)
{
	struct json_object *res = mdas_json_get(mdas_json_get(body, "chart"), "result");

	return mdas_json_len(res) > 0 ? res : NULL;
}
