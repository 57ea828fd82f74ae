/* marks.h: the high-water marks mdas-fetch --since-last reads.
 *
 * One JSON object per line, as mdas-export-sqlite --last and
 * mdas-export-pg --last print them:
 *   {"source":"binance","symbol":"BTCUSDT","interval":"1m",
 *    "first_ts_ms":N,"last_ts_ms":N,"bars":N}
 * Other members are ignored (a newer store may add some).  Only the marks
 * of one interval are kept (the others cannot match a request), in a
 * sorted array: constant memory per mark, at most MDAS_MARKS_MAX marks.
 * Two marks of one series keep the earlier last_ts_ms, so nothing stored
 * only once is skipped.
 */
#ifndef MDAS_MARKS_H
#define MDAS_MARKS_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "error.h"
#include "symbol.h"

#define MDAS_MARKS_MAX 1000000

struct mdas_mark {
	enum mdas_source source;     /* MDAS_SOURCE_AUTO: a source mdas-fetch does not know */
	char symbol[MDAS_SYMBOL_MAX + 1];
	char interval[16];
	int64_t first_ts_ms, last_ts_ms, bars;
};

/* Checks one parsed line.  Returns 0 and fills m, or -1 with why (n
 * bytes): not an object, a member missing or of the wrong type, a symbol
 * or interval too long, a time outside 0..9999-12-31, first after last,
 * bars negative.  A source other than yahoo and binance is not an error
 * (m->source is then MDAS_SOURCE_AUTO: nothing requests it). */
int mdas_mark_check(struct json_object *v, struct mdas_mark *m, char *why, size_t n);

struct mdas_marks;

/* Reads fp (named name in messages) to its end, keeping the marks of
 * interval.  A bad line is reported through bad(ctx, "name:line: why")
 * and skipped.  Returns the set (never NULL on success), or NULL with err
 * set when reading fails, memory runs out, or there are more than
 * MDAS_MARKS_MAX marks of the interval. */
struct mdas_marks *mdas_marks_read(FILE *fp, const char *name, const char *interval,
    void (*bad)(void *ctx, const char *msg), void *ctx, struct mdas_error *err);
void mdas_marks_free(struct mdas_marks *ms);

/* The mark of (source, symbol) in the set's interval, or NULL. */
const struct mdas_mark *mdas_marks_find(const struct mdas_marks *ms,
    enum mdas_source source, const char *symbol);
/* Lines read, marks kept, bad lines. */
void mdas_marks_counts(const struct mdas_marks *ms, unsigned long *lines,
    size_t *kept, unsigned long *bad);

#endif
