/* record.h: the unified record (schema_version 1) as a C value, and its
 * writer.
 *
 * A record is self-contained: its strings and the exact text of its
 * numbers live in the record's own arena, so a record can be copied with
 * memcpy and kept after the input it came from is freed (a series holds
 * its newest bar back this way).  Keys are written in the order of
 * mdas_record_fields / mdas_event_fields (schema.h), whatever the order
 * of the members here.
 */
#ifndef MDAS_RECORD_H
#define MDAS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "bounds.h"
#include "decimal.h"
#include "jsonw.h"

enum mdas_record_type {
	MDAS_REC_QUOTE,
	MDAS_REC_BAR,
	MDAS_REC_DIVIDEND,
	MDAS_REC_SPLIT,
};

/* String members. */
enum mdas_rec_str {
	MDAS_S_SOURCE, MDAS_S_SYMBOL, MDAS_S_ASSET_CLASS, MDAS_S_CURRENCY,
	MDAS_S_EXCHANGE, MDAS_S_EXCHANGE_TZ, MDAS_S_INTERVAL, MDAS_S_SESSION_DATE,
	MDAS_S_RUN_ID, MDAS_S_FETCHED_AT,
	MDAS_S_COUNT
};

/* Number members.  Events use AMOUNT, NUMERATOR, DENOMINATOR. */
enum mdas_rec_num {
	MDAS_N_OPEN, MDAS_N_HIGH, MDAS_N_LOW, MDAS_N_CLOSE, MDAS_N_ADJ_CLOSE,
	MDAS_N_VOLUME, MDAS_N_QUOTE_VOLUME, MDAS_N_BID, MDAS_N_ASK,
	MDAS_N_BID_SIZE, MDAS_N_ASK_SIZE, MDAS_N_PREV_CLOSE,
	MDAS_N_MID, MDAS_N_SPREAD, MDAS_N_SPREAD_BPS, MDAS_N_CHANGE,
	MDAS_N_CHANGE_PCT, MDAS_N_LOG_RETURN, MDAS_N_RANGE_VOL,
	MDAS_N_ROLLING_VOL,
	MDAS_N_AMOUNT, MDAS_N_NUMERATOR, MDAS_N_DENOMINATOR,
	MDAS_N_COUNT
};

/* The first derived member: these are written rounded (see below). */
#define MDAS_N_FIRST_DERIVED MDAS_N_MID
/* Significant digits kept for derived metrics. */
#define MDAS_DERIVED_DIGITS 12

/* Bits of mdas_record.imputed, in the order they are listed. */
#define MDAS_IMPUTED_OPEN      0x01
#define MDAS_IMPUTED_HIGH      0x02
#define MDAS_IMPUTED_LOW       0x04
#define MDAS_IMPUTED_CLOSE     0x08
#define MDAS_IMPUTED_ADJ_CLOSE 0x10
#define MDAS_IMPUTED_VOLUME    0x20

/* Bytes of string text a record holds (the strings and their NULs).
 * Number texts have their own room (struct mdas_num), so a number never
 * competes with the strings for space. */
#define MDAS_RECORD_ARENA 2048

/* Longest number text kept "as given" (longer ones are formatted from
 * the value): the longest decimal.h produces. */
#define MDAS_NUM_TEXT_MAX (MDAS_DECIMAL_MAX - 1)

/* The bounds every number is checked against (MDAS_TS_MS_MIN, ...,
 * mdas_bounds_check()) are in bounds.h: one table for mdas-normalize
 * and the exporters' reader. */

/* A number: v is NaN when unknown (written as null).  When len > 0 the
 * number is written as text[0..len) (the digits the source sent),
 * otherwise v is formatted. */
struct mdas_num {
	double v;
	uint8_t len;
	char text[MDAS_NUM_TEXT_MAX];
};

struct mdas_str {
	uint16_t off;
	uint16_t len;
	uint8_t set;            /* 0: null */
};

struct mdas_record {
	enum mdas_record_type type;
	int has_ts;
	int64_t ts_ms;
	int64_t trades;         /* < 0: null */
	unsigned imputed;       /* MDAS_IMPUTED_* */
	struct mdas_str str[MDAS_S_COUNT];
	struct mdas_num num[MDAS_N_COUNT];
	size_t arena_len;       /* bytes of arena used, <= MDAS_RECORD_ARENA */
	int overflow;           /* a string did not fit: the record is unusable
	                         * and mdas_record_validate() rejects it */
	char arena[MDAS_RECORD_ARENA];
};

/* Empties r (every value null, type kept as given). */
void mdas_record_init(struct mdas_record *r, enum mdas_record_type type);

/* Sets a string member (NULL means null).  A string that does not fit in
 * what is left of the arena is not stored (the member stays null) and
 * sets r->overflow: the record is then rejected, never written cut short. */
void mdas_record_set_str(struct mdas_record *r, enum mdas_rec_str which,
    const char *s);
void mdas_record_set_str_n(struct mdas_record *r, enum mdas_rec_str which,
    const char *s, size_t len);
/* The string member, or NULL. */
const char *mdas_record_str(const struct mdas_record *r, enum mdas_rec_str which);

/* Sets a number from a double: formatted at write time. */
void mdas_record_set_num(struct mdas_record *r, enum mdas_rec_num which, double v);
/* Sets a number with its exact text (a valid JSON number); a text longer
 * than MDAS_NUM_TEXT_MAX is dropped and v is formatted instead. */
void mdas_record_set_num_text(struct mdas_record *r, enum mdas_rec_num which,
    double v, const char *text, size_t len);
/* Copies number `from` of record src (value and text) into `which`. */
void mdas_record_copy_num(struct mdas_record *r, enum mdas_rec_num which,
    const struct mdas_record *src, enum mdas_rec_num from);
void mdas_record_set_null(struct mdas_record *r, enum mdas_rec_num which);

static inline double
mdas_record_num(const struct mdas_record *r, enum mdas_rec_num which)
{
	return r->num[which].v;
}

/* Result of reading a JSON value as a number. */
enum mdas_numparse {
	MDAS_NUM_OK = 0,
	MDAS_NUM_NULL,          /* JSON null or absent: set to null */
	MDAS_NUM_WRONG_TYPE,    /* not a number (or, with decimal strings, not one) */
	MDAS_NUM_NOT_FINITE,    /* parsed to an infinity */
	MDAS_NUM_RANGE,         /* outside what the JSON parser can hold: an
	                         * integer beyond int64, a non-zero number that
	                         * parsed to 0, a time outside the bounds, a
	                         * count outside 0..MDAS_COUNT_MAX (bounds.h) */
};

/* Sets number `which` from a JSON number, keeping the text it was
 * parsed from ("kept as given"), and dividing by 10^shift exactly when
 * shift > 0 (minor-unit prices).  With decimal_strings, a JSON string
 * holding a plain decimal ("60755.18000000") is accepted as well and
 * written in canonical form.  The member is left null unless MDAS_NUM_OK. */
enum mdas_numparse mdas_record_set_json(struct mdas_record *r,
    enum mdas_rec_num which, struct json_object *v, int decimal_strings, int shift);

/* Sets r's time from epoch units of unit_ms milliseconds (1000 for
 * seconds, 1 for ms): a JSON integer, or a double with no fraction.
 * MDAS_NUM_RANGE when outside MDAS_TS_MS_MIN..MDAS_TS_MS_MAX (checked
 * before multiplying); has_ts stays 0 unless MDAS_NUM_OK. */
enum mdas_numparse mdas_record_set_ts_json(struct mdas_record *r,
    struct json_object *v, int64_t unit_ms);

/* Sets r->trades from a JSON integer 0..MDAS_COUNT_MAX (null: -1). */
enum mdas_numparse mdas_record_set_count_json(struct mdas_record *r,
    struct json_object *v);

/* The one gate before a record is written.  Applies the book rule (a bid
 * or ask that is 0 or null means no order on that side: price and size
 * become null, and so does everything derived from them), then checks r
 * against the schema's bounds (bounds.h: the same table and rules the
 * exporters' reader applies): no overflow, ts_ms, trades and every number
 * within its bound, then the rules across fields.  Returns 0, or -1 with
 * the reason in why, as mdas_bounds_why() words it ("volume -1 is
 * negative"). */
int mdas_record_validate(struct mdas_record *r, char *why, size_t whysize);

/* Writes r as one compact JSON object (keys in schema order; quote and
 * bar records use mdas_record_fields, events mdas_event_fields) into w.
 * Does not end the line: call mdas_jsonw_write_line(). */
void mdas_record_write(struct mdas_jsonw *w, const struct mdas_record *r);

/* Fills the metrics that depend on this record alone: mid, spread and
 * spread_bps (when bid and ask are both known), change and change_pct
 * (when close and a non-zero prev_close are known; change_pct in
 * percent) and range_vol (Parkinson: |ln(high/low)| / sqrt(4 ln 2), when
 * both are known and > 0), each with mdas_record_set_metric(). */
void mdas_record_derive(struct mdas_record *r);

/* Sets derived metric `which` (mid .. rolling_vol) to v rounded to
 * MDAS_DERIVED_DIGITS, as it will be written.  A metric whose rounded
 * value is outside its bound (bounds.h: not finite, beyond 1e18, a
 * negative volatility) is null instead, so a record that passed
 * mdas_record_validate() stays within the bounds after derivation.
 * Returns 0, or -1 when the metric became null. */
int mdas_record_set_metric(struct mdas_record *r, enum mdas_rec_num which, double v);

#endif
