/* series.h: per-series state of mdas-normalize.
 *
 * A series is one (source, symbol, interval) stream of bars.  Its state
 * is all the normalizer remembers between input lines, so memory grows
 * with the number of series, never with the number of rows: the last
 * close written (for log returns, change and forward fill), a ring of the
 * last N log returns (rolling volatility), the newest bar held back
 * (so a later duplicate of it can replace it), the time of the last bar
 * and event written (ordering, duplicates).
 */
#ifndef MDAS_SERIES_H
#define MDAS_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "decimal.h"
#include "error.h"
#include "record.h"

struct mdas_prev {
	int set;
	double v;
	uint8_t len;            /* text length, 0: formatted from v */
	char text[MDAS_DECIMAL_MAX];
};

struct mdas_series {
	char *source, *symbol, *interval;

	struct mdas_prev close, adj_close;

	double *window;         /* ring of the last `window` log returns */
	size_t wpos, wcount;

	int has_written;
	int64_t last_written_ts;

	struct mdas_record *held;   /* buffer of the bar held back, or NULL */
	int held_set;               /* held holds a bar not yet written */

	int has_dividend, has_split;
	int64_t last_dividend_ts, last_split_ts;
};

struct mdas_series_table;

/* A table whose series compute rolling volatility over `window` (>= 2)
 * log returns.  Returns NULL when out of memory. */
struct mdas_series_table *mdas_series_table_new(size_t window);
/* Frees t and its series; NULL is accepted. */
void mdas_series_table_free(struct mdas_series_table *t);

/* The series for (source, symbol, interval), created on first use
 * (interval may be NULL for event-only series).  Returns NULL when out of
 * memory (err set). */
struct mdas_series *mdas_series_get(struct mdas_series_table *t,
    const char *source, const char *symbol, const char *interval,
    struct mdas_error *err);

/* Series in creation order: i from 0 while the result is not NULL. */
struct mdas_series *mdas_series_nth(struct mdas_series_table *t, size_t i);
size_t mdas_series_count(const struct mdas_series_table *t);

/* Forward-fills a null bar from the last close written: open, high, low
 * and close (and adj_close when the series has one) take that close,
 * volume 0, and r->imputed lists them.  Returns -1 (r unchanged) when the
 * series has no close yet. */
int mdas_series_ffill(const struct mdas_series *s, struct mdas_record *r);

/* Completes bar r as it is written: prev_close (the close of the bar
 * written before it in this series), the metrics of mdas_record_derive(),
 * log_return = ln(close / prev_close) and rolling_vol (sample standard
 * deviation of the last `window` log returns, once there are that many),
 * then remembers r's close and time.  Imputed bars get no log return (no
 * trade happened) and do not enter the window. */
void mdas_series_complete(struct mdas_series_table *t, struct mdas_series *s,
    struct mdas_record *r);

#endif
