/* fetch.h: the mdas-fetch driver.  Turns symbol specs into requests on
 * the HTTP engine, follows Yahoo's cookie + crumb flow (with one refresh
 * and the chart fallback), has batched answers split and kline pages
 * merged by fetchbody.h, and writes NDJSON lines to out: "raw" envelopes
 * and "error" records (formats in mdas-fetch(1)).  Every symbol given
 * (of the shard, with shard_n) gets at least one line: one, unless its period is longer than one
 * request may ask for (sourcelimits.h), when each window gets its own line, in
 * time order, after a beyond_source_limit record for a part too old for
 * the source.  Nothing is printed on stderr: failures reach the caller
 * through the on_failure hook and the stats.
 */
#ifndef MDAS_FETCH_H
#define MDAS_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "http.h"
#include "marks.h"
#include "spans.h"
#include "symbol.h"

struct mdas_fetch_opts {
	int history;                 /* 0: quotes, 1: history */
	const char *interval;        /* history: mdas interval ("1d") */
	const char *range;           /* history: "1mo"..., or NULL with a period */
	int64_t start_ms, end_ms;    /* history without range: [start, end) */
	const char *yahoo_base;
	const char *yahoo_cookie;
	const char *binance_base;
	long batch;                  /* symbols per batched request; 0: the maximum */
	enum mdas_source force;      /* MDAS_SOURCE_AUTO to detect */
	int64_t now_ms;              /* "now" for ranges (tests pin it); 0: clock */
	/* History: a series with a mark is asked for from its last_ts_ms
	 * (inclusive) to now instead of the range or period (NULL: none). */
	const struct mdas_marks *marks;
	/* History: gaps (spans.h) asked for once more, those before where
	 * the series' normal request starts, each in a request of its own,
	 * one after another and oldest first, then the normal request: the
	 * series' lines stay in time order (NULL: none). */
	const struct mdas_spans *spans;
	/* Keep only the symbols of shard shard_k (1..shard_n) of shard_n
	 * (shard.h); shard_n 0: all. */
	int shard_k, shard_n;
};

struct mdas_fetch_stats {
	size_t total;                /* symbols */
	size_t done;                 /* symbols with their line written */
	size_t failed;               /* of which with an error record */
	size_t marked;               /* symbols asked for from their mark */
	size_t other_shards;         /* symbols left to the other shards */
	size_t beyond;               /* beyond_source_limit records */
	size_t spans_asked;          /* gap requests made (--spans) */
	size_t spans_beyond;         /* gaps not asked: the source no longer serves them */
	size_t spans_empty;          /* gaps asked whose answer held no bar (no line) */
	size_t spans_covered;        /* gaps inside the normal request's period: asked by it */
	long weight;                 /* Binance request weight sent (per attempt) */
	struct mdas_http_stats http;
};

struct mdas_fetch_hooks {
	/* A symbol failed, or part of its period is beyond what the source
	 * serves (code "beyond_source_limit"); the arguments are its error
	 * record's fields (source and code may be NULL, http_status 0 for
	 * none).  May be NULL. */
	void (*on_failure)(void *ctx, const char *source, const char *symbol,
	    long http_status, const char *code, const char *message);
	/* Counters changed (a symbol finished or a retry was scheduled). */
	void (*on_progress)(void *ctx, const struct mdas_fetch_stats *st);
	void *ctx;
};

/* True when interval ("1d") or range ("1mo") is one mdas-fetch knows
 * (whether a given source offers the interval is checked per symbol). */
int mdas_fetch_interval_known(const char *interval);
int mdas_fetch_range_known(const char *range);

/* Fetches specs[0..n) (duplicates are fetched once) over a new engine
 * with http_opts, writing lines to out.  Returns 0 when it ran to the end
 * (some symbols may have failed: see st->failed), -1 when it could not
 * go on (a write error on out, out of memory; err says which). */
int mdas_fetch_run(const struct mdas_fetch_opts *o, const struct mdas_http_opts *http_opts,
    const char *const *specs, size_t n, FILE *out,
    const struct mdas_fetch_hooks *hooks, struct mdas_fetch_stats *st,
    struct mdas_error *err);

#endif
