/* normalize.h: mdas-fetch envelopes in, unified records out.
 *
 * One normalizer handles one stream: each input value is given to
 * mdas_normalizer_line() in order, then mdas_normalizer_finish() writes
 * the bars still held back.  Records are written to `out` as NDJSON;
 * fetch error records are copied through unchanged.  An envelope that
 * is not used in whole (a payload of the wrong shape, an answer with no
 * bars, a rejected quote, rejected bars or events) also produces one
 * {"type":"error","stage":"normalize","code":...} record for its symbol,
 * so no symbol is lost silently; every rejected input (a bad line, a bad
 * payload, a bad record) is reported through the reject callback, which
 * prints it (library code never prints).  Memory grows with the number
 * of series, not of rows.
 */
#ifndef MDAS_NORMALIZE_H
#define MDAS_NORMALIZE_H

#include <stdio.h>

#include <json-c/json.h>

#include "error.h"

enum mdas_missing {
	MDAS_MISSING_FFILL,     /* fill from the previous close, list in imputed */
	MDAS_MISSING_DROP,      /* drop null bars (counted) */
	MDAS_MISSING_KEEP,      /* write them with null prices */
};

/* Parses "ffill", "drop", "keep"; -1 otherwise. */
int mdas_missing_parse(const char *s);

struct mdas_normalize_opts {
	enum mdas_missing missing;
	size_t window;          /* log returns per rolling_vol, >= 2 */
	const char *run_id;     /* NULL: run_id is null */
};

/* One rejected input, as the callback sees it. */
struct mdas_reject {
	const char *input;      /* "<stdin>" or a file name */
	unsigned long line;     /* 1-based input line */
	const char *symbol;     /* NULL when unknown */
	const char *reason;     /* "high 1 is below low 2" */
	const char *text;       /* the input line */
	size_t text_len;
};

/* Returns 0 to go on, nonzero to stop the stream (--strict). */
typedef int (*mdas_reject_fn)(void *arg, const struct mdas_reject *rj);

struct mdas_normalize_stats {
	unsigned long long records;     /* quote and bar records written */
	unsigned long long events;      /* dividend and split records written */
	unsigned long long passed;      /* fetch error records copied through */
	unsigned long long rejected;    /* rejections reported */
	unsigned long long duplicates;  /* bars/events replaced by a later copy */
	unsigned long long stale;       /* bars at or before one already written */
	unsigned long long filled;      /* null bars forward-filled */
	unsigned long long dropped;     /* null bars dropped (--missing=drop) */
	unsigned long long unfilled;    /* null bars with no close to fill from */
};

struct mdas_normalizer;

/* Returns NULL when out of memory. */
struct mdas_normalizer *mdas_normalizer_new(const struct mdas_normalize_opts *o,
    FILE *out, mdas_reject_fn reject, void *arg);
/* Frees n (without writing held bars); NULL is accepted. */
void mdas_normalizer_free(struct mdas_normalizer *n);

enum {
	MDAS_NORM_OK = 0,
	MDAS_NORM_STOP = 1,     /* the reject callback asked to stop */
	MDAS_NORM_FAIL = -1,    /* writing failed or out of memory (err set) */
};

/* Handles one parsed input line (v, owned by the caller) whose text is
 * line[0..len), from input:lineno. */
int mdas_normalizer_line(struct mdas_normalizer *n, struct json_object *v,
    const char *line, size_t len, const char *input, unsigned long lineno,
    struct mdas_error *err);

/* Reads every NDJSON line of fp (not closed), called input in messages,
 * through mdas_normalizer_line() and, for a line the reader refuses,
 * mdas_normalizer_bad_line().  Returns MDAS_NORM_OK, _STOP or _FAIL (err
 * set); when reading fp itself fails, *read_failed is set, err says why
 * and the return is MDAS_NORM_OK unless something else failed first. */
int mdas_normalizer_run(struct mdas_normalizer *n, FILE *fp, const char *input,
    int *read_failed, struct mdas_error *err);

/* Reports a line that could not be parsed (reason from the reader). */
int mdas_normalizer_bad_line(struct mdas_normalizer *n, const char *line,
    size_t len, const char *input, unsigned long lineno, const char *reason);

/* Writes the held bars of every series.  Returns MDAS_NORM_OK or _FAIL. */
int mdas_normalizer_finish(struct mdas_normalizer *n, struct mdas_error *err);

const struct mdas_normalize_stats *mdas_normalizer_stats(const struct mdas_normalizer *n);

#endif
