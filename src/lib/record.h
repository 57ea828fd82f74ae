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

#define MDAS_RECORD_ARENA 2048

/* A number: v is NaN when unknown (written as null).  When len > 0 the
 * number is written as the text at arena[off] (the digits the source
 * sent), otherwise v is formatted. */
struct mdas_num {
	double v;
	uint16_t off;
	uint8_t len;
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
	size_t arena_len;
	int overflow;           /* the arena filled up: the record is unusable */
	char arena[MDAS_RECORD_ARENA];
};

/* Empties r (every value null, type kept as given). */
void mdas_record_init(struct mdas_record *r, enum mdas_record_type type);

/* Sets a string member (NULL means null).  Long strings that do not fit
 * set r->overflow. */
void mdas_record_set_str(struct mdas_record *r, enum mdas_rec_str which,
    const char *s);
void mdas_record_set_str_n(struct mdas_record *r, enum mdas_rec_str which,
    const char *s, size_t len);
/* The string member, or NULL. */
const char *mdas_record_str(const struct mdas_record *r, enum mdas_rec_str which);

/* Sets a number from a double: formatted at write time. */
void mdas_record_set_num(struct mdas_record *r, enum mdas_rec_num which, double v);
/* Sets a number with its exact text (a valid JSON number). */
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
};

/* Sets number `which` from a JSON number, keeping the text it was
 * parsed from ("kept as given"), and dividing by 10^shift exactly when
 * shift > 0 (minor-unit prices).  With decimal_strings, a JSON string
 * holding a plain decimal ("60755.18000000") is accepted as well and
 * written in canonical form.  The member is left null unless MDAS_NUM_OK. */
enum mdas_numparse mdas_record_set_json(struct mdas_record *r,
    enum mdas_rec_num which, struct json_object *v, int decimal_strings, int shift);

/* Writes r as one compact JSON object (keys in schema order; quote and
 * bar records use mdas_record_fields, events mdas_event_fields) into w.
 * Does not end the line: call mdas_jsonw_write_line(). */
void mdas_record_write(struct mdas_jsonw *w, const struct mdas_record *r);

/* Fills the metrics that depend on this record alone: mid, spread and
 * spread_bps (when bid and ask are both known), change and change_pct
 * (when close and a non-zero prev_close are known; change_pct in
 * percent) and range_vol (Parkinson: |ln(high/low)| / sqrt(4 ln 2), when
 * both are known and > 0). */
void mdas_record_derive(struct mdas_record *r);

#endif
