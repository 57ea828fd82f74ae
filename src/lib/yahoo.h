/* yahoo.h: Yahoo Finance requests and responses (see API-NOTES.md).
 *
 * Quotes need a cookie (any response from cookie_url) and a crumb
 * (GET {base}/v1/test/getcrumb) sent with /v7/finance/quote; charts
 * (/v8/finance/chart/SYM) need neither.  URL builders return malloc'd
 * strings (NULL when out of memory) with every symbol percent-encoded.
 */
#ifndef MDAS_YAHOO_H
#define MDAS_YAHOO_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define MDAS_YAHOO_CRUMB_MAX 64
#define MDAS_YAHOO_QUOTE_BATCH 50    /* symbols per quote request */

/* Checks a getcrumb answer.  Copies an acceptable crumb into crumb
 * (MDAS_YAHOO_CRUMB_MAX + 1 bytes) and returns 0; otherwise returns -1
 * and *why says what was wrong (HTML, "Too Many Requests", empty, too
 * long, bad characters, HTTP status). */
int mdas_yahoo_crumb_check(long status, const char *body, size_t len,
    char *crumb, const char **why);

char *mdas_yahoo_getcrumb_url(const char *base);
/* /v7/finance/quote?symbols=A,B&crumb=C */
char *mdas_yahoo_quote_url(const char *base, const char *const *syms, size_t n,
    const char *crumb);
/* /v8/finance/chart/SYM?interval=I&range=R, or period1/period2 (epoch
 * seconds) when range is NULL; events adds events=div,splits. */
char *mdas_yahoo_chart_url(const char *base, const char *sym, const char *interval,
    const char *range, int64_t period1, int64_t period2, int events);

/* True when interval is one Yahoo's chart endpoint accepts. */
int mdas_yahoo_interval_ok(const char *interval);

/* Finds Yahoo's error envelope {"<top>":{"result":null,"error":{...}}}
 * (top is "chart" or "finance").  Returns 1 and points *code and *desc
 * into body (either may be NULL) when error is an object; else 0. */
int mdas_yahoo_error(struct json_object *body, const char *top,
    const char **code, const char **desc);

/* quoteResponse.result as an array, or NULL when the body lacks it. */
struct json_object *mdas_yahoo_quote_results(struct json_object *body);
/* The element of results whose "symbol" equals sym (ignoring case), or
 * NULL (also when results is not an array).  Borrowed from results. */
struct json_object *mdas_yahoo_find_quote(struct json_object *results, const char *sym);

/* chart.result as a non-empty array, or NULL. */
struct json_object *mdas_yahoo_chart_result(struct json_object *body);

#endif
