/* spans.h: the gaps mdas-fetch --spans asks for once more.
 *
 * One JSON object per line, as mdas-export-sqlite --gaps and
 * mdas-export-pg --gaps print them (mdas-store(7)):
 *   {"source":"binance","symbol":"BTCUSDT","interval":"1m",
 *    "from_ts_ms":N,"to_ts_ms":N,"missing":N}
 * from/to: open times of the first and last missing bar, inclusive.  A
 * "more_gaps" line (a series with more gaps than the store printed) is
 * read and left: nothing in it can be asked for.  Other members are
 * ignored.  Only the spans of one interval are kept, and of each series
 * at most MDAS_SPANS_PER_SERIES, the newest (the bound of one run: a
 * series with more gets the rest on later runs, as they are reported);
 * two equal spans are one.
 */
#ifndef MDAS_SPANS_H
#define MDAS_SPANS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "symbol.h"

#define MDAS_SPANS_PER_SERIES 10
#define MDAS_SPANS_MAX 1000000

struct mdas_span {
	enum mdas_source source;
	char symbol[MDAS_SYMBOL_MAX + 1];
	int64_t from_ts_ms, to_ts_ms;   /* inclusive open times */
};

struct mdas_spans;

/* Reads fp (named name in messages) to its end, keeping the spans of
 * interval.  A bad line is reported through bad(ctx, "name:line: why")
 * and skipped.  Returns the set, or NULL with err when reading fails,
 * memory runs out or there are more than MDAS_SPANS_MAX lines. */
struct mdas_spans *mdas_spans_read(FILE *fp, const char *name, const char *interval,
    void (*bad)(void *ctx, const char *msg), void *ctx, struct mdas_error *err);
void mdas_spans_free(struct mdas_spans *ss);

/* The spans of (source, symbol), oldest first: *n of them (0: NULL). */
const struct mdas_span *mdas_spans_find(const struct mdas_spans *ss,
    enum mdas_source source, const char *symbol, size_t *n);

/* Lines read, spans kept, spans left for a later run (over the bound),
 * bad lines. */
void mdas_spans_counts(const struct mdas_spans *ss, unsigned long *lines, size_t *kept,
    size_t *over, unsigned long *bad);

#endif
