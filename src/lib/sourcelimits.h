/* sourcelimits.h: what each source serves, in one table (sourcelimits.c), and the
 * arithmetic that keeps every request inside it.
 *
 * The numbers and where they come from: mdas-fetch(1), SOURCE LIMITS,
 * and API-NOTES.md.  Library code: nothing here prints or allocates.
 */
#ifndef MDAS_SOURCELIMITS_H
#define MDAS_SOURCELIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "symbol.h"

#define MDAS_DAY_MS INT64_C(86400000)

struct mdas_limit {
	enum mdas_source source;
	const char *intervals;       /* "|1m|" ...: the mdas intervals it covers */
	int64_t lookback_ms;         /* bars older than now - this are not served; 0: any age */
	int64_t span_ms;             /* longest period one request may ask for; 0: any */
	int page_rows;               /* rows one request returns at most (paged); 0: no paging */
	int weight;                  /* request weight of one request; 0: not counted */
	const char *what;            /* for messages: "1m bars for about 30 days" */
};

/* The limit of source for an mdas interval ("1m"); never NULL (a source
 * and interval the table does not name get its row "any age, any span"). */
const struct mdas_limit *mdas_limit_find(enum mdas_source source, const char *interval);

/* The length of an mdas interval in ms (1m = 60000, 1wk = 7 days); 0 for
 * calendar intervals (1mo, 3mo) and unknown ones. */
int64_t mdas_interval_ms(const char *interval);

/* Binance's request weight of /api/v3/ticker/24hr for n symbols (2 for
 * one, 2 for 1-20, 40 for 21-100, 80 above) and of /api/v3/klines (2). */
int mdas_binance_ticker_weight(size_t n);
int mdas_binance_klines_weight(void);

/* A request for [start, end) (ms) made at now, under limit l:
 *   served_start: where the part the source still serves begins (start,
 *     or now - lookback when start is older: then [start, served_start)
 *     is beyond the limit and *beyond is 1);
 *   windows: how many requests of at most span_ms cover
 *     [served_start, end) (0 when nothing is left to ask for).
 * Windows are cut from the end backwards, so the oldest one is the
 * shortest: window k (0 = oldest) of n is mdas_limit_window(). */
struct mdas_plan {
	int64_t start, end;          /* as asked */
	int64_t served_start;
	int beyond;                  /* [start, served_start) is not served */
	int64_t windows;
	int64_t span_ms;             /* 0: one window */
};

void mdas_limit_plan(const struct mdas_limit *l, int64_t start, int64_t end, int64_t now,
    struct mdas_plan *p);
/* Window k (0 = oldest) of p: [*ws, *we). */
void mdas_limit_window(const struct mdas_plan *p, int64_t k, int64_t *ws, int64_t *we);

#endif
