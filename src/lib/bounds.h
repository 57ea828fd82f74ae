/* bounds.h: the range of every number in a unified record, in one place.
 *
 * mdas-schema(7) ("Bounds") says what each field means; this says which
 * values it may hold.  The one table and the one set of rules serve both
 * places where numbers enter the schema: mdas-normalize, from upstream
 * data (mdas_record_validate() in record.c, before a record is written),
 * and the exporters' record reader (export.c), for NDJSON from any
 * producer.  The reader accepts every record mdas-normalize can write and
 * rejects every one it would never write.  Outside these ranges a value
 * is not data but damage, and the arithmetic done on it later (local
 * times, Excel serial dates, sums and ratios of prices) would overflow.
 *
 * Every number, whatever its field, is finite, and not a non-zero number
 * too small to represent (1e-400 reads as 0) nor an integer past 64 bits
 * (json-c clamps it to +-2^63 silently).  The numbers taken from upstream
 * and those derived from them alone (mid, range_vol, rolling_vol) are of
 * magnitude below MDAS_VALUE_LIMIT; the other metrics are ratios and
 * differences that may be larger (a price from 1e-8 to 1e8 is a change
 * of 1e18 percent) and only have to be finite.  By field:
 *
 *   open, high, low, close, adj_close, bid, ask, prev_close, mid
 *                         prices: >= 0, any sign for asset_class "future"
 *                         (WTI crude traded below zero on 2020-04-20);
 *                         below 1e18 in magnitude
 *   volume, quote_volume, bid_size, ask_size, amount, range_vol,
 *   rolling_vol           0 <= v < 1e18 (-0 counts as 0)
 *   numerator, denominator 0 < v < 1e18
 *   spread, spread_bps, change, change_pct, log_return
 *                         any finite number (a crossed book has a
 *                         negative spread)
 *   trades                integer, 0..MDAS_COUNT_MAX
 *   ts_ms                 integer, MDAS_TS_MS_MIN..MDAS_TS_MS_MAX
 *                         (1970-01-01T00:00:00.000Z..9999-12-31T23:59:59.999Z)
 *
 * and across fields (mdas_bounds_check_record): high >= low; close within
 * [low, high] to MDAS_HLC_TOLERANCE; a dividend has an amount and a split
 * both numerator and denominator; in a quote, a book price is never 0
 * (a side without an order is null) and a size is null when its price is.
 */
#ifndef MDAS_BOUNDS_H
#define MDAS_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

#define MDAS_TS_MS_MIN    INT64_C(0)                 /* 1970-01-01T00:00:00.000Z */
#define MDAS_TS_MS_MAX    INT64_C(253402300799999)   /* 9999-12-31T23:59:59.999Z */
/* Prices, quantities and ratios: |v| < this. */
#define MDAS_VALUE_LIMIT  1e18
/* trades: 0 .. 2^53 - 1, the largest integer every JSON reader and Excel
 * hold exactly and unambiguously (2^53 + 1 would read as 2^53). */
#define MDAS_COUNT_MAX    ((INT64_C(1) << 53) - 1)
/* close may lie outside [low, high] by this fraction of high: Yahoo's
 * prices are float32 values printed as doubles, good to about 7 digits. */
#define MDAS_HLC_TOLERANCE 1e-6

/* The reasons below, for messages built from other checks (mdas-normalize
 * reads times and counts in upstream units before they are records). */
#define MDAS_BOUNDS_WHY_TIME   "outside years 1970..9999"
#define MDAS_BOUNDS_WHY_COUNT  "outside 0..2^53-1"
#define MDAS_BOUNDS_WHY_LIMIT  "beyond 1e18 in magnitude"
#define MDAS_BOUNDS_WHY_TINY   "too small to represent (it would read as 0)"
#define MDAS_BOUNDS_WHY_CLAMPED "an integer past 64 bits (it would read clamped)"

enum mdas_bound {
	MDAS_BOUND_NONE = 0,  /* not a number of the schema (strings, unknown names) */
	MDAS_BOUND_PRICE,     /* |v| < 1e18, >= 0 unless a future's */
	MDAS_BOUND_NONNEG,    /* 0 <= v < 1e18 */
	MDAS_BOUND_POSITIVE,  /* 0 < v < 1e18 */
	MDAS_BOUND_SIGNED,    /* any finite number */
	MDAS_BOUND_COUNT,     /* integer 0..MDAS_COUNT_MAX */
	MDAS_BOUND_TS_MS,     /* integer MDAS_TS_MS_MIN..MDAS_TS_MS_MAX */
};

/* The bound of a schema field by name (the table above). */
enum mdas_bound mdas_bound_of(const char *field);

/* True when asset_class (may be NULL) lets prices be negative. */
int mdas_bounds_future(const char *asset_class);

/* NULL when v may be the value of a field with bound b, else why not:
 * "not a finite number", MDAS_BOUNDS_WHY_LIMIT, "negative", "negative
 * (only a future's price may be)", "not positive", "not an integer",
 * MDAS_BOUNDS_WHY_COUNT, MDAS_BOUNDS_WHY_TIME.  future: the record's
 * asset_class is "future".  MDAS_BOUND_NONE only has to be finite. */
const char *mdas_bounds_check(enum mdas_bound b, double v, int future);

/* True when ms lies in MDAS_TS_MS_MIN..MDAS_TS_MS_MAX. */
int mdas_bounds_ts_ms_ok(int64_t ms);

/* NULL when s is a time as records write it (ISO 8601 UTC with a 'T':
 * ts, fetched_at) or, with date, a date YYYY-MM-DD (session_date), parsed
 * strictly and within the years above (a session date may lie a day
 * beyond them, in the exchange's zone); else why not.  *ms gets the
 * instant. */
const char *mdas_bounds_time_text(const char *s, int date, int64_t *ms);

/* What the rules across fields look at; NaN is null. */
struct mdas_bounds_record {
	const char *type;     /* "quote", "bar", "dividend" or "split" */
	double high, low, close;
	double bid, ask, bid_size, ask_size;
	double amount, numerator, denominator;
};

/* Sets every number of b to null (NaN) and its type to type. */
void mdas_bounds_record_init(struct mdas_bounds_record *b, const char *type);

/* The member of b that holds field (by its schema name), or NULL when
 * the rules across fields do not look at it. */
double *mdas_bounds_record_slot(struct mdas_bounds_record *b, const char *field);

/* Room for one value's text in a message. */
#define MDAS_BOUNDS_TEXT_MAX 128

/* The text of field's value for a message, written into tmp
 * (MDAS_BOUNDS_TEXT_MAX bytes) or pointing elsewhere; NULL when null. */
typedef const char *mdas_bounds_text_fn(void *ctx, const char *field, char *tmp);

/* NULL when the rules across fields hold, else the message, in buf
 * (size bytes), with the values as text(ctx, ...) gives them: "high 1 is
 * below low 2", "close 5 is outside low 1 .. high 2", "amount is
 * missing", "bid 0 is not a price: a book side without an order is
 * null", "bid_size 10 is given without its price". */
const char *mdas_bounds_check_record(const struct mdas_bounds_record *b,
    char *buf, size_t size, mdas_bounds_text_fn *text, void *ctx);

/* The message for field (value as text, or NULL) and reason, the same on
 * both sides: "volume -1 is negative", "amount is missing". */
void mdas_bounds_why(char *buf, size_t size, const char *field, const char *text,
    const char *reason);

#endif
