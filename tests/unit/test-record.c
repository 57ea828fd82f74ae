/* Unit tests of the record layer (record.c) and of jsonget.c: the string
 * arena at and past its size, the schema's bounds (bounds.c, checked
 * against the exporters' record reader too), the book rule and the
 * type-checked JSON reads. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "bounds.h"
#include "export.h"
#include "jsonget.h"
#include "jsonw.h"
#include "record.h"
#include "schema.h"
#include "tap.h"

/* A record with guard bytes after it: the arena is its last member, so a
 * write past the arena lands in the guard. */
struct guarded {
	struct mdas_record r;
	unsigned char guard[4096];
};

static int
guard_intact(const struct guarded *g)
{
	size_t i;

	for (i = 0; i < sizeof(g->guard); i++)
		if (g->guard[i] != 0xA5)
			return 0;
	return 1;
}

static struct guarded *
new_guarded(enum mdas_record_type type)
{
	struct guarded *g = malloc(sizeof(*g));

	if (g == NULL)
		abort();
	memset(g->guard, 0xA5, sizeof(g->guard));
	mdas_record_init(&g->r, type);
	return g;
}

static char *
filled(size_t len, char c)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memset(s, c, len);
	s[len] = '\0';
	return s;
}

static struct json_object *
parse(const char *text)
{
	struct json_object *v = json_tokener_parse(text);

	if (v == NULL)
		abort();
	return v;
}

/* The record as written, into buf. */
static const char *
written(const struct mdas_record *r, char *buf, size_t size)
{
	struct mdas_jsonw *w = mdas_jsonw_new();
	FILE *fp = fmemopen(buf, size, "w");

	if (w == NULL || fp == NULL)
		abort();
	mdas_record_write(w, r);
	mdas_jsonw_write_line(w, fp);
	fclose(fp);
	mdas_jsonw_free(w);
	return buf;
}

static void
test_arena(void)
{
	struct guarded *g = new_guarded(MDAS_REC_QUOTE);
	char *a, *b, why[256];
	size_t len;
	int bad = 0;

	/* Exactly full: the first string takes all but the last byte's NUL. */
	a = filled(MDAS_RECORD_ARENA - 1, 'a');
	mdas_record_set_str(&g->r, MDAS_S_EXCHANGE, a);
	tap_ok(!g->r.overflow && g->r.arena_len == MDAS_RECORD_ARENA,
	    "a string of arena size - 1 fills the arena exactly");
	/* The check that used to wrap: no room is left, even for "". */
	b = filled(100, 'b');
	mdas_record_set_str(&g->r, MDAS_S_CURRENCY, b);
	tap_ok(g->r.overflow, "a string after a full arena overflows");
	tap_ok(mdas_record_str(&g->r, MDAS_S_CURRENCY) == NULL, "and is not stored");
	tap_ok(guard_intact(g), "nothing written past the arena");
	mdas_record_set_str(&g->r, MDAS_S_SYMBOL, "");
	tap_ok(guard_intact(g) && g->r.arena_len == MDAS_RECORD_ARENA,
	    "not even an empty string once full");
	tap_is_str(mdas_record_str(&g->r, MDAS_S_EXCHANGE), a, "the first string is whole");
	tap_ok(mdas_record_validate(&g->r, why, sizeof(why)) < 0 &&
	    strcmp(why, "record too large (its strings exceed 2048 bytes)") == 0,
	    "validate rejects an overflowed record");

	/* Numbers have their own room: a full arena does not touch them. */
	mdas_record_set_num_text(&g->r, MDAS_N_CLOSE, 60755.18, "60755.18", 8);
	tap_ok(g->r.num[MDAS_N_CLOSE].len == 8 &&
	    memcmp(g->r.num[MDAS_N_CLOSE].text, "60755.18", 8) == 0 && guard_intact(g),
	    "a number's text is kept with a full arena");
	free(g);

	/* Every length around the size, alone and after another string. */
	for (len = 0; len <= MDAS_RECORD_ARENA + 8; len++) {
		char *s = filled(len, 'x');

		g = new_guarded(MDAS_REC_QUOTE);
		mdas_record_set_str(&g->r, MDAS_S_SOURCE, "yahoo");
		mdas_record_set_str(&g->r, MDAS_S_EXCHANGE, s);
		mdas_record_set_str(&g->r, MDAS_S_EXCHANGE_TZ, "UTC");
		if (!guard_intact(g) || g->r.arena_len > MDAS_RECORD_ARENA ||
		    (g->r.overflow != (len + 1 + 6 + 4 > MDAS_RECORD_ARENA)) ||
		    (!g->r.overflow && strcmp(mdas_record_str(&g->r, MDAS_S_EXCHANGE), s) != 0))
			bad++;
		free(s);
		free(g);
	}
	tap_is_int(bad, 0, "lengths 0..%d: stored whole or overflow, never past the arena",
	    MDAS_RECORD_ARENA + 8);
	free(a);
	free(b);
}

static void
test_numbers(void)
{
	struct mdas_record *r = malloc(sizeof(*r));
	struct json_object *v;
	char buf[4096];

	mdas_record_init(r, MDAS_REC_BAR);
	v = parse("12345678901234567890");
	tap_is_int(mdas_record_set_json(r, MDAS_N_VOLUME, v, 0, 0), MDAS_NUM_RANGE,
	    "an integer beyond int64 is out of range (json-c clamps it)");
	json_object_put(v);
	v = parse("-99999999999999999999");
	tap_is_int(mdas_record_set_json(r, MDAS_N_VOLUME, v, 0, 0), MDAS_NUM_RANGE,
	    "an integer below int64 is out of range");
	json_object_put(v);
	v = parse("1e-400");
	tap_is_int(mdas_record_set_json(r, MDAS_N_CLOSE, v, 0, 0), MDAS_NUM_RANGE,
	    "1e-400 (parsed to 0) is out of range");
	json_object_put(v);
	v = parse("1e400");
	tap_is_int(mdas_record_set_json(r, MDAS_N_CLOSE, v, 0, 0), MDAS_NUM_NOT_FINITE,
	    "1e400 is not finite");
	json_object_put(v);
	v = parse("0e-5");
	tap_is_int(mdas_record_set_json(r, MDAS_N_CLOSE, v, 0, 0), MDAS_NUM_OK, "0e-5 is 0");
	json_object_put(v);
	v = parse("-0.0");
	mdas_record_set_json(r, MDAS_N_CLOSE, v, 0, 0);
	tap_ok(r->num[MDAS_N_CLOSE].len == 1 && r->num[MDAS_N_CLOSE].text[0] == '0',
	    "-0.0 is written 0");
	json_object_put(v);
	v = parse("[1]");
	tap_is_int(mdas_record_set_json(r, MDAS_N_CLOSE, v, 1, 0), MDAS_NUM_WRONG_TYPE,
	    "an array is not a number");
	json_object_put(v);
	tap_is_int(mdas_record_set_json(r, MDAS_N_CLOSE, NULL, 1, 0), MDAS_NUM_NULL,
	    "absent is null");

	/* Times: bounds checked before multiplying. */
	v = parse("9223372036854775807");
	tap_is_int(mdas_record_set_ts_json(r, v, 1000), MDAS_NUM_RANGE, "ts INT64_MAX s");
	json_object_put(v);
	v = parse("253402300799");
	tap_ok(mdas_record_set_ts_json(r, v, 1000) == MDAS_NUM_OK &&
	    r->ts_ms == INT64_C(253402300799000), "ts 9999-12-31T23:59:59Z");
	json_object_put(v);
	v = parse("253402300800");
	tap_is_int(mdas_record_set_ts_json(r, v, 1000), MDAS_NUM_RANGE, "ts 10000-01-01 s");
	json_object_put(v);
	v = parse("1e300");
	tap_ok(mdas_record_set_ts_json(r, v, 1) == MDAS_NUM_RANGE && !r->has_ts,
	    "ts 1e300 ms (a double too big for int64)");
	json_object_put(v);
	v = parse("-1");
	tap_is_int(mdas_record_set_ts_json(r, v, 1), MDAS_NUM_RANGE, "ts before 1970");
	json_object_put(v);
	v = parse("1.5");
	tap_is_int(mdas_record_set_ts_json(r, v, 1), MDAS_NUM_WRONG_TYPE, "ts with a fraction");
	json_object_put(v);

	/* Counts. */
	v = parse("9007199254740991");
	tap_ok(mdas_record_set_count_json(r, v) == MDAS_NUM_OK &&
	    r->trades == INT64_C(9007199254740991), "trades 2^53 - 1");
	json_object_put(v);
	v = parse("9007199254740992");
	tap_ok(mdas_record_set_count_json(r, v) == MDAS_NUM_RANGE && r->trades == -1,
	    "trades 2^53 is out of range");
	json_object_put(v);
	v = parse("\"5\"");
	tap_is_int(mdas_record_set_count_json(r, v), MDAS_NUM_WRONG_TYPE, "trades as a string");
	json_object_put(v);

	/* A metric that would overflow is null, not inf. */
	mdas_record_init(r, MDAS_REC_QUOTE);
	mdas_record_set_num(r, MDAS_N_CLOSE, 1e17);
	mdas_record_set_num(r, MDAS_N_PREV_CLOSE, 1e-300);
	mdas_record_derive(r);
	tap_ok(isnan(r->num[MDAS_N_CHANGE_PCT].v), "change_pct that overflows is null");
	written(r, buf, sizeof(buf));
	tap_ok(strstr(buf, "\"change_pct\":null") != NULL, "and written as null");
	free(r);
}

static void
test_validate(void)
{
	struct mdas_record *r = malloc(sizeof(*r));
	char why[256];

	mdas_record_init(r, MDAS_REC_BAR);
	mdas_record_set_str(r, MDAS_S_ASSET_CLASS, "equity");
	mdas_record_set_num(r, MDAS_N_CLOSE, -37.63);
	tap_ok(mdas_record_validate(r, why, sizeof(why)) < 0 &&
	    strcmp(why, "close -37.63 is negative (only a future's price may be)") == 0, "equity: a negative close is rejected");
	mdas_record_init(r, MDAS_REC_BAR);
	mdas_record_set_str(r, MDAS_S_ASSET_CLASS, "future");
	mdas_record_set_num(r, MDAS_N_CLOSE, -37.63);
	mdas_record_set_num(r, MDAS_N_LOW, -40.32);
	mdas_record_set_num(r, MDAS_N_HIGH, 1);
	tap_ok(mdas_record_validate(r, why, sizeof(why)) == 0, "future: negative prices pass");
	mdas_record_set_num(r, MDAS_N_VOLUME, -1);
	tap_ok(mdas_record_validate(r, why, sizeof(why)) < 0 &&
	    strcmp(why, "volume -1 is negative") == 0, "future: a negative volume does not");
	mdas_record_init(r, MDAS_REC_BAR);
	mdas_record_set_num(r, MDAS_N_HIGH, 1e18);
	tap_ok(mdas_record_validate(r, why, sizeof(why)) < 0 &&
	    strcmp(why, "high 1e+18 is beyond 1e18 in magnitude") == 0,
	    "a price of 1e18 is out of range");
	mdas_record_init(r, MDAS_REC_BAR);
	mdas_record_set_num(r, MDAS_N_HIGH, 9.99e17);
	tap_ok(mdas_record_validate(r, why, sizeof(why)) == 0, "9.99e17 is not");
	mdas_record_init(r, MDAS_REC_SPLIT);
	mdas_record_set_num(r, MDAS_N_NUMERATOR, 4);
	mdas_record_set_num(r, MDAS_N_DENOMINATOR, 0);
	tap_ok(mdas_record_validate(r, why, sizeof(why)) < 0, "a split 4:0 is rejected");
	mdas_record_init(r, MDAS_REC_DIVIDEND);
	tap_ok(mdas_record_validate(r, why, sizeof(why)) < 0 &&
	    strcmp(why, "amount is missing") == 0, "a dividend without an amount is rejected");
	mdas_record_init(r, MDAS_REC_QUOTE);
	r->has_ts = 1;
	r->ts_ms = MDAS_TS_MS_MAX + 1;
	tap_ok(mdas_record_validate(r, why, sizeof(why)) < 0, "a ts past 9999 is rejected");

	/* The book rule, for any source. */
	mdas_record_init(r, MDAS_REC_QUOTE);
	mdas_record_set_num(r, MDAS_N_BID, 0);
	mdas_record_set_num(r, MDAS_N_BID_SIZE, 0);
	mdas_record_set_num(r, MDAS_N_ASK, 10.5);
	mdas_record_set_num(r, MDAS_N_ASK_SIZE, 3);
	tap_ok(mdas_record_validate(r, why, sizeof(why)) == 0, "bid 0: the quote passes");
	mdas_record_derive(r);
	tap_ok(isnan(r->num[MDAS_N_BID].v) && isnan(r->num[MDAS_N_BID_SIZE].v) &&
	    r->num[MDAS_N_ASK].v == 10.5 && r->num[MDAS_N_ASK_SIZE].v == 3 &&
	    isnan(r->num[MDAS_N_MID].v) && isnan(r->num[MDAS_N_SPREAD].v) &&
	    isnan(r->num[MDAS_N_SPREAD_BPS].v), "bid 0: bid, bid_size, mid, spread null; ask kept");
	mdas_record_init(r, MDAS_REC_QUOTE);
	mdas_record_set_num(r, MDAS_N_BID, 10);
	mdas_record_set_num(r, MDAS_N_ASK_SIZE, 7);
	mdas_record_validate(r, why, sizeof(why));
	tap_ok(r->num[MDAS_N_BID].v == 10 && isnan(r->num[MDAS_N_ASK_SIZE].v),
	    "no ask: its size is null too");
	free(r);
}

static void
test_jsonget(void)
{
	struct json_object *o = parse("{\"a\":[1,2],\"s\":\"x\",\"e\":\"\",\"n\":5,\"z\":null}");
	struct json_object *arr = mdas_json_get(o, "a");
	const char *s;

	tap_ok(mdas_json_get(arr, "a") == NULL, "get on an array: NULL");
	tap_ok(mdas_json_at(o, 0) == NULL && mdas_json_len(o) == 0,
	    "at/len on an object: NULL/0 (json-c would assert)");
	tap_ok(mdas_json_at(arr, 2) == NULL && mdas_json_len(arr) == 2, "at past the end: NULL");
	tap_ok(mdas_json_at(NULL, 0) == NULL && mdas_json_len(NULL) == 0 &&
	    mdas_json_get(NULL, "a") == NULL, "NULL everywhere: NULL/0");
	tap_ok(mdas_json_get_string(o, "s", &s) == MDAS_JSON_FOUND && strcmp(s, "x") == 0,
	    "a string member");
	tap_ok(mdas_json_get_string(o, "n", &s) == MDAS_JSON_WRONG && s == NULL,
	    "a number where a string is expected: WRONG");
	tap_ok(mdas_json_get_string(o, "e", &s) == MDAS_JSON_ABSENT &&
	    mdas_json_get_string(o, "z", &s) == MDAS_JSON_ABSENT &&
	    mdas_json_get_string(o, "nope", &s) == MDAS_JSON_ABSENT, "\"\", null, absent: ABSENT");
	tap_ok(mdas_json_str(arr, "s") == NULL, "str on an array: NULL");
	json_object_put(o);
}


/* ---- one table for both sides ------------------------------------------
 * mdas_record_validate() (mdas-normalize) and the exporters' record
 * reader apply bounds.h: whatever record validate accepts (then derived,
 * as normalize writes it) the reader accepts, and whatever it rejects the
 * reader rejects with the same message. */

/* The reader's verdict on one NDJSON line: 1 accepted, 0 rejected with
 * its message (after "t:1: ") in msg. */
static int
reader_verdict(const char *line, char *msg, size_t size)
{
	FILE *in = fmemopen((void *)line, strlen(line), "r"), *cap = tmpfile();
	struct mdas_export_reader *rd;
	struct json_object *rec;
	struct mdas_error err;
	char buf[1024], *p;
	int saved, k;

	if (in == NULL || cap == NULL || (rd = mdas_export_reader_new(in, "t")) == NULL)
		abort();
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(cap), 2);
	k = mdas_export_next(rd, &rec, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	mdas_export_reader_free(rd);
	fclose(in);
	rewind(cap);
	buf[0] = '\0';
	if (fgets(buf, sizeof(buf), cap) == NULL)
		buf[0] = '\0';
	fclose(cap);
	buf[strcspn(buf, "\n")] = '\0';
	p = strstr(buf, "t:1: ");
	snprintf(msg, size, "%s", p != NULL ? p + 5 : buf);
	return k > 0;
}

static unsigned long rng = 12345;

static unsigned
pick(unsigned n)
{
	rng = rng * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)((rng >> 33) % n);
}

static double
pick_num(int nonzero)
{
	static const double pool[] = {
		NAN, NAN, NAN, 0, -0.0, 1, -1, 2.5, -37.63, 75.0875015258789, 74,
		1e17, 9.99e17, 1e18, -1e18, 5e-324, 1e300, -1e300,
	};
	double v;

	do
		v = pool[pick(sizeof(pool) / sizeof(pool[0]))];
	while (nonzero && v == 0);
	return v;
}

static void
test_both_sides(void)
{
	static const enum mdas_record_type types[] = {
		MDAS_REC_QUOTE, MDAS_REC_BAR, MDAS_REC_DIVIDEND, MDAS_REC_SPLIT,
	};
	static const int64_t trades[] = { -1, -1, 0, 5, INT64_C(9007199254740991),
		INT64_C(9007199254740992) };
	static const enum mdas_rec_num prices[] = { MDAS_N_OPEN, MDAS_N_HIGH, MDAS_N_LOW,
		MDAS_N_CLOSE, MDAS_N_ADJ_CLOSE, MDAS_N_VOLUME, MDAS_N_QUOTE_VOLUME,
		MDAS_N_PREV_CLOSE };
	struct mdas_record *r = malloc(sizeof(*r)), *orig = malloc(sizeof(*r));
	char why[512], msg[1024], line[8192];
	int i, accepted = 0, rejected = 0, disagree = 0, wrong_msg = 0;
	size_t j;

	for (i = 0; i < 20000; i++) {
		enum mdas_record_type t = types[pick(4)];

		mdas_record_init(r, t);
		mdas_record_set_str(r, MDAS_S_SOURCE, "yahoo");
		mdas_record_set_str(r, MDAS_S_SYMBOL, "X");
		mdas_record_set_str(r, MDAS_S_ASSET_CLASS, pick(3) == 0 ? "future" : "equity");
		r->has_ts = 1;
		r->ts_ms = INT64_C(1577975400000);
		if (t == MDAS_REC_DIVIDEND)
			mdas_record_set_num(r, MDAS_N_AMOUNT, pick_num(0));
		else if (t == MDAS_REC_SPLIT) {
			mdas_record_set_num(r, MDAS_N_NUMERATOR, pick_num(0));
			mdas_record_set_num(r, MDAS_N_DENOMINATOR, pick_num(0));
		} else {
			for (j = 0; j < sizeof(prices) / sizeof(prices[0]); j++)
				mdas_record_set_num(r, prices[j], pick_num(0));
			r->trades = trades[pick(6)];
			if (t == MDAS_REC_QUOTE) {
				/* No zero book price and no size without its price:
				 * validate would null those (the book rule), and the
				 * reader rejects them as normalize never writes them. */
				mdas_record_set_num(r, MDAS_N_BID, pick_num(1));
				mdas_record_set_num(r, MDAS_N_ASK, pick_num(1));
				if (!isnan(r->num[MDAS_N_BID].v))
					mdas_record_set_num(r, MDAS_N_BID_SIZE, pick_num(0));
				if (!isnan(r->num[MDAS_N_ASK].v))
					mdas_record_set_num(r, MDAS_N_ASK_SIZE, pick_num(0));
			}
		}
		memcpy(orig, r, sizeof(*r));
		if (mdas_record_validate(r, why, sizeof(why)) == 0) {
			mdas_record_derive(r);
			written(r, line, sizeof(line));
			accepted++;
			if (!reader_verdict(line, msg, sizeof(msg))) {
				if (disagree++ < 3)
					printf("# validate accepts, the reader rejects (%s): %s", msg, line);
			}
		} else {
			written(orig, line, sizeof(line));
			rejected++;
			if (reader_verdict(line, msg, sizeof(msg))) {
				if (disagree++ < 3)
					printf("# validate rejects (%s), the reader accepts: %s", why, line);
			} else if (strcmp(msg, why) != 0 && wrong_msg++ < 3)
				printf("# validate: '%s', reader: '%s'\n", why, msg);
		}
	}
	tap_ok(accepted > 1000 && rejected > 1000, "both sides: %d records accepted, %d rejected",
	    accepted, rejected);
	tap_is_int(disagree, 0, "both sides: the reader accepts exactly what validate accepts");
	tap_is_int(wrong_msg, 0, "both sides: and rejects the rest with the same message");
	free(r);
	free(orig);
}

static void
test_bounds_table(void)
{
	struct mdas_record *r = malloc(sizeof(*r));
	size_t i;
	int unbounded = 0;

	/* Every number of the schema has its bound in the one table. */
	for (i = 0; i < mdas_export_nfields; i++)
		if ((mdas_export_fields[i].type == MDAS_FIELD_NUMBER ||
		    mdas_export_fields[i].type == MDAS_FIELD_INT) &&
		    strcmp(mdas_export_fields[i].name, "schema_version") != 0 &&
		    mdas_bound_of(mdas_export_fields[i].name) == MDAS_BOUND_NONE) {
			printf("# no bound: %s\n", mdas_export_fields[i].name);
			unbounded++;
		}
	tap_is_int(unbounded, 0, "bounds: every number field of the schema is in the table");
	tap_ok(mdas_bounds_check(MDAS_BOUND_PRICE, -1, 1) == NULL &&
	    mdas_bounds_check(MDAS_BOUND_PRICE, -1, 0) != NULL &&
	    mdas_bounds_check(MDAS_BOUND_NONNEG, -1, 1) != NULL &&
	    mdas_bounds_check(MDAS_BOUND_NONNEG, -0.0, 0) == NULL,
	    "bounds: a negative price for a future only; a negative volume never; -0 is 0");
	tap_ok(mdas_bounds_check(MDAS_BOUND_PRICE, 9.99e17, 0) == NULL &&
	    mdas_bounds_check(MDAS_BOUND_PRICE, 1e18, 0) != NULL &&
	    mdas_bounds_check(MDAS_BOUND_SIGNED, -1e300, 0) == NULL &&
	    mdas_bounds_check(MDAS_BOUND_SIGNED, INFINITY, 0) != NULL,
	    "bounds: prices below 1e18; metrics any finite number");
	tap_ok(mdas_bounds_check(MDAS_BOUND_COUNT, 9007199254740991.0, 0) == NULL &&
	    mdas_bounds_check(MDAS_BOUND_COUNT, 9007199254740992.0, 0) != NULL &&
	    mdas_bounds_check(MDAS_BOUND_COUNT, 1.5, 0) != NULL &&
	    mdas_bounds_check(MDAS_BOUND_TS_MS, (double)MDAS_TS_MS_MAX, 0) == NULL &&
	    mdas_bounds_check(MDAS_BOUND_TS_MS, (double)MDAS_TS_MS_MAX + 1, 0) != NULL &&
	    mdas_bounds_check(MDAS_BOUND_TS_MS, -1, 0) != NULL,
	    "bounds: trades 0..2^53-1 whole, ts_ms within years 1970..9999");
	/* A metric is checked as written (its 12-digit text read back). */
	mdas_record_init(r, MDAS_REC_QUOTE);
	tap_ok(mdas_record_set_metric(r, MDAS_N_MID, 1e18) < 0 && isnan(r->num[MDAS_N_MID].v) &&
	    mdas_record_set_metric(r, MDAS_N_MID, 9.99e17) == 0 &&
	    r->num[MDAS_N_MID].v == 9.99e17, "a mid of 1e18 is null, 9.99e17 is kept");
	tap_ok(mdas_record_set_metric(r, MDAS_N_SPREAD, -1e300) == 0 &&
	    r->num[MDAS_N_SPREAD].v == -1e300 &&
	    mdas_record_set_metric(r, MDAS_N_RANGE_VOL, -0.5) < 0,
	    "a huge spread is kept; a negative volatility is null");
	free(r);
}

int
main(void)
{
	tap_plan(56);
	test_arena();
	test_numbers();
	test_validate();
	test_jsonget();
	test_bounds_table();
	test_both_sides();
	return tap_done();
}
