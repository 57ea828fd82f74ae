/* sourcelimits.c: the sources' limits, in one table (see sourcelimits.h).
 *
 * Every number here is documented with its source in mdas-fetch(1),
 * SOURCE LIMITS; change both together.
 */
#include "config.h"

#include <string.h>

#include "sourcelimits.h"

static const struct mdas_limit table[] = {
	/* Yahoo's chart endpoint (API-NOTES.md, "Intraday depth limits").
	 * 1m: "Only 7 days worth of 1m granularity data are allowed to be
	 * fetched per request" (Yahoo's message, yfinance #165, #356, PR
	 * #959; later reports say 8: 7 is inside both) and about 30 days
	 * back in all (yfinance #356). */
	{ MDAS_SOURCE_YAHOO, "|1m|", 30 * MDAS_DAY_MS, 7 * MDAS_DAY_MS, 0, 0,
	    "1m bars for the last 30 days, 7 days per request" },
	/* "The requested range must be within the last 60 days" (yfinance
	 * #1389, #919). */
	{ MDAS_SOURCE_YAHOO, "|2m|5m|15m|30m|90m|", 60 * MDAS_DAY_MS, 0, 0, 0,
	    "2m to 90m bars for the last 60 days" },
	/* "... must be within the last 730 days" (yfinance #636, #919). */
	{ MDAS_SOURCE_YAHOO, "|60m|1h|", 730 * MDAS_DAY_MS, 0, 0, 0,
	    "60m and 1h bars for the last 730 days" },
	/* Daily and longer: back to the listing, any span. */
	{ MDAS_SOURCE_YAHOO, NULL, 0, 0, 0, 0, "any age, any span" },
	/* Binance klines: limit at most 1000 rows, weight 2 (API-NOTES.md,
	 * Binance spot REST docs); no age limit. */
	{ MDAS_SOURCE_BINANCE, NULL, 0, 0, 1000, 2, "1000 rows per request" },
};

const struct mdas_limit *
mdas_limit_find(enum mdas_source source, const char *interval)
{
	char key[16];
	size_t i;

	key[0] = '\0';
	if (interval != NULL && strlen(interval) < sizeof(key) - 2) {
		key[0] = '|';
		strcpy(key + 1, interval);
		strcat(key, "|");
	}
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].source != source)
			continue;
		if (table[i].intervals == NULL ||
		    (key[0] != '\0' && strstr(table[i].intervals, key) != NULL))
			return &table[i];
	}
	/* Not reached for the two sources (each ends with a catch-all). */
	return &table[sizeof(table) / sizeof(table[0]) - 1];
}

int64_t
mdas_interval_ms(const char *interval)
{
	static const struct { const char *name; int64_t ms; } lens[] = {
		{ "1m", 60000 }, { "2m", 120000 }, { "5m", 300000 }, { "15m", 900000 },
		{ "30m", 1800000 }, { "60m", 3600000 }, { "90m", 5400000 },
		{ "1h", 3600000 }, { "4h", 14400000 }, { "1d", MDAS_DAY_MS },
		{ "5d", 5 * MDAS_DAY_MS }, { "1wk", 7 * MDAS_DAY_MS },
	};
	size_t i;

	for (i = 0; interval != NULL && i < sizeof(lens) / sizeof(lens[0]); i++)
		if (strcmp(interval, lens[i].name) == 0)
			return lens[i].ms;
	return 0;
}

int
mdas_binance_ticker_weight(size_t n)
{
	if (n <= 20)
		return 2;
	return n <= 100 ? 40 : 80;
}

int
mdas_binance_klines_weight(void)
{
	return mdas_limit_find(MDAS_SOURCE_BINANCE, "1m")->weight;
}

void
mdas_limit_plan(const struct mdas_limit *l, int64_t start, int64_t end, int64_t now,
    struct mdas_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->start = start;
	p->end = end;
	p->served_start = start;
	if (l->lookback_ms > 0 && start < now - l->lookback_ms) {
		p->served_start = now - l->lookback_ms;
		p->beyond = 1;
	}
	if (p->served_start >= end) {
		/* All of it is too old: nothing to ask for. */
		p->served_start = end;
		p->windows = 0;
		return;
	}
	p->span_ms = l->span_ms;
	if (l->span_ms > 0)
		p->windows = (end - p->served_start + l->span_ms - 1) / l->span_ms;
	else
		p->windows = 1;
}

void
mdas_limit_window(const struct mdas_plan *p, int64_t k, int64_t *ws, int64_t *we)
{
	int64_t from_end = p->windows - 1 - k;    /* 0: the newest */

	if (p->span_ms <= 0) {
		*ws = p->served_start;
		*we = p->end;
		return;
	}
	*we = p->end - from_end * p->span_ms;
	*ws = *we - p->span_ms;
	if (*ws < p->served_start)
		*ws = p->served_start;
}
