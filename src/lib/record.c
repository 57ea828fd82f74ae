#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "jsonget.h"
#include "record.h"
#include "schema.h"
#include "timeutil.h"

static const char *const str_names[MDAS_S_COUNT] = {
	"source", "symbol", "asset_class", "currency", "exchange",
	"exchange_tz", "interval", "session_date", "run_id", "fetched_at",
};

static const char *const num_names[MDAS_N_COUNT] = {
	"open", "high", "low", "close", "adj_close", "volume", "quote_volume",
	"bid", "ask", "bid_size", "ask_size", "prev_close", "mid", "spread",
	"spread_bps", "change", "change_pct", "log_return", "range_vol",
	"rolling_vol", "amount", "numerator", "denominator",
};

static const char *const imputed_names[] = {
	"open", "high", "low", "close", "adj_close", "volume",
};

void
mdas_record_init(struct mdas_record *r, enum mdas_record_type type)
{
	int i;

	/* Only the header is cleared: the arena is written before it is read. */
	r->type = type;
	r->has_ts = 0;
	r->ts_ms = 0;
	r->trades = -1;
	r->imputed = 0;
	r->arena_len = 0;
	r->overflow = 0;
	memset(r->str, 0, sizeof(r->str));
	for (i = 0; i < MDAS_N_COUNT; i++) {
		r->num[i].v = NAN;
		r->num[i].len = 0;
	}
}

/* Stores s[0..len) and its NUL.  The room left is computed without
 * subtracting from arena_len (which may equal the arena's size), so it
 * cannot wrap around. */
static int
arena_put(struct mdas_record *r, const char *s, size_t len, uint16_t *off)
{
	size_t room = r->arena_len < MDAS_RECORD_ARENA ?
	    MDAS_RECORD_ARENA - r->arena_len : 0;

	if (len >= room || len > UINT16_MAX) {
		r->overflow = 1;
		return -1;
	}
	if (len > 0)
		memcpy(r->arena + r->arena_len, s, len);
	*off = (uint16_t)r->arena_len;
	r->arena_len += len;
	r->arena[r->arena_len++] = '\0';
	return 0;
}

void
mdas_record_set_str_n(struct mdas_record *r, enum mdas_rec_str which,
    const char *s, size_t len)
{
	struct mdas_str *st = &r->str[which];

	st->set = 0;
	if (s == NULL || arena_put(r, s, len, &st->off) < 0)
		return;
	st->len = (uint16_t)len;
	st->set = 1;
}

void
mdas_record_set_str(struct mdas_record *r, enum mdas_rec_str which, const char *s)
{
	mdas_record_set_str_n(r, which, s, s != NULL ? strlen(s) : 0);
}

const char *
mdas_record_str(const struct mdas_record *r, enum mdas_rec_str which)
{
	return r->str[which].set ? r->arena + r->str[which].off : NULL;
}

void
mdas_record_set_num(struct mdas_record *r, enum mdas_rec_num which, double v)
{
	r->num[which].v = v;
	r->num[which].len = 0;
}

void
mdas_record_set_null(struct mdas_record *r, enum mdas_rec_num which)
{
	mdas_record_set_num(r, which, NAN);
}

void
mdas_record_set_num_text(struct mdas_record *r, enum mdas_rec_num which,
    double v, const char *text, size_t len)
{
	struct mdas_num *n = &r->num[which];

	n->v = v;
	n->len = 0;
	if (text == NULL || len == 0 || len > MDAS_NUM_TEXT_MAX)
		return;         /* formatted from v instead: same value */
	memcpy(n->text, text, len);
	n->len = (uint8_t)len;
}

void
mdas_record_copy_num(struct mdas_record *r, enum mdas_rec_num which,
    const struct mdas_record *src, enum mdas_rec_num from)
{
	const struct mdas_num *s = &src->num[from];

	if (s->len > 0)
		mdas_record_set_num_text(r, which, s->v, s->text, s->len);
	else
		mdas_record_set_num(r, which, s->v);
}

/* An integer json-c holds as sent: not clamped to INT64_MIN/INT64_MAX
 * and not a uint64 beyond INT64_MAX. */
static int
int_exact(struct json_object *v)
{
	int64_t i = json_object_get_int64(v);

	return i != INT64_MAX && i != INT64_MIN;
}

enum mdas_numparse
mdas_record_set_json(struct mdas_record *r, enum mdas_rec_num which,
    struct json_object *v, int decimal_strings, int shift)
{
	char canon[MDAS_DECIMAL_MAX], ibuf[32];
	const char *text = NULL;
	size_t len = 0;
	double d;
	int n;

	mdas_record_set_null(r, which);
	switch (json_object_get_type(v)) {
	case json_type_null:
		return MDAS_NUM_NULL;
	case json_type_int:
		/* json-c clamps integers beyond int64 to its ends (or keeps
		 * them as uint64): the value is not what was sent. */
		if (!int_exact(v))
			return MDAS_NUM_RANGE;
		/* json-c keeps no text for integers; print the exact value. */
		n = snprintf(ibuf, sizeof(ibuf), "%" PRId64, json_object_get_int64(v));
		d = (double)json_object_get_int64(v);
		text = ibuf;
		len = (size_t)n;
		break;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d))
			return MDAS_NUM_NOT_FINITE;
		/* The tokener keeps the text it parsed as the object's userdata:
		 * that is the number "as given". */
		text = json_object_get_userdata(v);
		len = text != NULL ? strlen(text) : 0;
		if (mdas_json_underflowed(v))
			return MDAS_NUM_RANGE;
		break;
	case json_type_string:
		if (!decimal_strings)
			return MDAS_NUM_WRONG_TYPE;
		n = mdas_decimal_canon(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), canon);
		if (n < 0)
			return MDAS_NUM_WRONG_TYPE;
		d = strtod(canon, NULL);
		if (!isfinite(d))
			return MDAS_NUM_NOT_FINITE;
		text = canon;
		len = (size_t)n;
		break;
	default:
		return MDAS_NUM_WRONG_TYPE;
	}
	if (text != NULL && len > 0) {
		char out[MDAS_DECIMAL_MAX];

		n = mdas_decimal_shift(text, len, shift, out);
		if (n > 0) {
			if (shift > 0)
				d = strtod(out, NULL);
			mdas_record_set_num_text(r, which, d, out, (size_t)n);
			return MDAS_NUM_OK;
		}
	}
	/* No usable text: the value is formatted from the double. */
	if (shift > 0)
		d /= pow(10, shift);
	mdas_record_set_num(r, which, d);
	return MDAS_NUM_OK;
}

enum mdas_numparse
mdas_record_set_ts_json(struct mdas_record *r, struct json_object *v, int64_t unit_ms)
{
	int64_t t;
	double d;

	r->has_ts = 0;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return MDAS_NUM_NULL;
	case json_type_int:
		if (!int_exact(v))
			return MDAS_NUM_RANGE;
		t = json_object_get_int64(v);
		break;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d))
			return MDAS_NUM_NOT_FINITE;
		if (d != floor(d))
			return MDAS_NUM_WRONG_TYPE;
		/* Compared as a double first: the cast is only defined in range. */
		if (d < (double)MDAS_TS_MS_MIN || d > (double)MDAS_TS_MS_MAX)
			return MDAS_NUM_RANGE;
		t = (int64_t)d;
		break;
	default:
		return MDAS_NUM_WRONG_TYPE;
	}
	if (unit_ms < 1 || t < MDAS_TS_MS_MIN / unit_ms || t > MDAS_TS_MS_MAX / unit_ms)
		return MDAS_NUM_RANGE;
	r->ts_ms = t * unit_ms;
	r->has_ts = 1;
	return MDAS_NUM_OK;
}

enum mdas_numparse
mdas_record_set_count_json(struct mdas_record *r, struct json_object *v)
{
	int64_t c;

	r->trades = -1;
	if (v == NULL || json_object_is_type(v, json_type_null))
		return MDAS_NUM_NULL;
	if (!json_object_is_type(v, json_type_int))
		return MDAS_NUM_WRONG_TYPE;
	c = json_object_get_int64(v);
	if (!int_exact(v) || c < 0 || c > MDAS_COUNT_MAX)
		return MDAS_NUM_RANGE;
	r->trades = c;
	return MDAS_NUM_OK;
}

/* ---- validation -------------------------------------------------------- */

/* What each schema key is, resolved once from the names in schema.c so
 * the writer follows that table even if it is reordered. */
enum slot_kind {
	K_NULL, K_TYPE, K_STR, K_NUM, K_TS, K_TS_MS, K_TRADES, K_IMPUTED,
	K_SCHEMA,
};

struct slot {
	unsigned char kind, idx;
};

static struct slot rec_slots[64], ev_slots[64];
static int slots_ready;

static struct slot
resolve(const char *name)
{
	struct slot s = { K_NULL, 0 };
	int i;

	if (strcmp(name, "type") == 0)
		s.kind = K_TYPE;
	else if (strcmp(name, "ts") == 0)
		s.kind = K_TS;
	else if (strcmp(name, "ts_ms") == 0)
		s.kind = K_TS_MS;
	else if (strcmp(name, "trades") == 0)
		s.kind = K_TRADES;
	else if (strcmp(name, "imputed") == 0)
		s.kind = K_IMPUTED;
	else if (strcmp(name, "schema_version") == 0)
		s.kind = K_SCHEMA;
	else {
		for (i = 0; i < MDAS_S_COUNT; i++)
			if (strcmp(name, str_names[i]) == 0) {
				s.kind = K_STR;
				s.idx = (unsigned char)i;
				return s;
			}
		for (i = 0; i < MDAS_N_COUNT; i++)
			if (strcmp(name, num_names[i]) == 0) {
				s.kind = K_NUM;
				s.idx = (unsigned char)i;
				return s;
			}
	}
	return s;
}

static void
prepare_slots(void)
{
	size_t i;

	for (i = 0; i < mdas_record_nfields && i < 64; i++)
		rec_slots[i] = resolve(mdas_record_fields[i].name);
	for (i = 0; i < mdas_event_nfields && i < 64; i++)
		ev_slots[i] = resolve(mdas_event_fields[i].name);
	slots_ready = 1;
}

/* The schema's keys for a record of type t, resolved. */
static void
record_slots(enum mdas_record_type t, const struct slot **slots, size_t *n)
{
	if (t == MDAS_REC_QUOTE || t == MDAS_REC_BAR) {
		*slots = rec_slots;
		*n = mdas_record_nfields;
	} else {
		*slots = ev_slots;
		*n = mdas_event_nfields;
	}
	if (*n > 64)
		*n = 64;
}

/* Each number member's bound, looked up once by name in bounds.c's
 * table, so that table alone says what a member may hold; and where in a
 * struct mdas_bounds_record the rules across fields read it (-1: they do
 * not), so that no record pays for a lookup by name. */
static enum mdas_bound num_bound[MDAS_N_COUNT];
static ptrdiff_t num_cross[MDAS_N_COUNT];
static int bounds_ready;

static void
prepare_bounds(void)
{
	struct mdas_bounds_record b;
	double *slot;
	int i;

	for (i = 0; i < MDAS_N_COUNT; i++) {
		num_bound[i] = mdas_bound_of(num_names[i]);
		slot = mdas_bounds_record_slot(&b, num_names[i]);
		num_cross[i] = slot != NULL ? (char *)slot - (char *)&b : -1;
	}
	bounds_ready = 1;
}

/* The number as written: its text, or formatted from its value. */
static void
num_text(const struct mdas_record *r, enum mdas_rec_num i, char *buf)
{
	if (r->num[i].len > 0) {
		memcpy(buf, r->num[i].text, r->num[i].len);
		buf[r->num[i].len] = '\0';
	} else
		mdas_format_double(r->num[i].v, buf);
}

#define NUM_TEXT_BUF (MDAS_NUMBER_MAX + MDAS_DECIMAL_MAX)

/* A book side whose price is 0 or unknown has no order: its price and
 * size are null (and with them mid, spread and spread_bps).  One rule
 * for every source. */
static void
book_side(struct mdas_record *r, enum mdas_rec_num px, enum mdas_rec_num qty)
{
	if (isnan(r->num[px].v) || r->num[px].v == 0) {
		mdas_record_set_null(r, px);
		mdas_record_set_null(r, qty);
	}
}

static const char *const type_names[] = { "quote", "bar", "dividend", "split" };

/* The member called name, or -1. */
static int
num_index(const char *name)
{
	int i;

	for (i = 0; i < MDAS_N_COUNT; i++)
		if (strcmp(num_names[i], name) == 0)
			return i;
	return -1;
}

/* mdas_bounds_text_fn for a record: a member's text as written. */
static const char *
member_text(void *ctx, const char *field, char *tmp)
{
	const struct mdas_record *r = ctx;
	char buf[NUM_TEXT_BUF];
	int i = num_index(field);

	if (i < 0 || isnan(r->num[i].v))
		return NULL;
	num_text(r, (enum mdas_rec_num)i, buf);
	snprintf(tmp, MDAS_BOUNDS_TEXT_MAX, "%s", buf);
	return tmp;
}

int
mdas_record_validate(struct mdas_record *r, char *why, size_t whysize)
{
	char a[NUM_TEXT_BUF];
	const char *reason, *field;
	const struct slot *slots;
	struct mdas_bounds_record b;
	double v;
	size_t j, n;
	int future, i;

	if (r->overflow) {
		snprintf(why, whysize, "record too large (its strings exceed %d bytes)",
		    MDAS_RECORD_ARENA);
		return -1;
	}
	if (!bounds_ready)
		prepare_bounds();
	future = mdas_bounds_future(mdas_record_str(r, MDAS_S_ASSET_CLASS));
	if (r->type == MDAS_REC_QUOTE) {
		book_side(r, MDAS_N_BID, MDAS_N_BID_SIZE);
		book_side(r, MDAS_N_ASK, MDAS_N_ASK_SIZE);
	}
	/* In the order of the schema, as the exporters' reader checks a
	 * record, so both name the same first fault. */
	if (!slots_ready)
		prepare_slots();
	record_slots(r->type, &slots, &n);
	for (j = 0; j < n; j++) {
		if (slots[j].kind == K_TS_MS && r->has_ts)
			v = (double)r->ts_ms;
		else if (slots[j].kind == K_TRADES && r->trades >= 0)
			v = (double)r->trades;
		else if (slots[j].kind == K_NUM && !isnan(r->num[slots[j].idx].v))
			v = r->num[slots[j].idx].v;
		else
			continue;
		/* Integers convert exactly within the bounds, and one outside
		 * only has to compare as such. */
		field = slots[j].kind == K_NUM ? num_names[slots[j].idx] :
		    slots[j].kind == K_TS_MS ? "ts_ms" : "trades";
		if ((reason = mdas_bounds_check(slots[j].kind == K_NUM ? num_bound[slots[j].idx] :
		    slots[j].kind == K_TS_MS ? MDAS_BOUND_TS_MS : MDAS_BOUND_COUNT,
		    v, future)) == NULL)
			continue;
		if (slots[j].kind == K_NUM)
			num_text(r, (enum mdas_rec_num)slots[j].idx, a);
		else
			snprintf(a, sizeof(a), "%" PRId64,
			    slots[j].kind == K_TS_MS ? r->ts_ms : r->trades);
		mdas_bounds_why(why, whysize, field, a, reason);
		return -1;
	}
	mdas_bounds_record_init(&b, type_names[r->type]);
	for (i = 0; i < MDAS_N_COUNT; i++)
		if (num_cross[i] >= 0)
			*(double *)((char *)&b + num_cross[i]) = r->num[i].v;
	if (mdas_bounds_check_record(&b, why, whysize, member_text, r) != NULL)
		return -1;
	return 0;
}

static void
write_num(struct mdas_jsonw *w, const struct mdas_record *r, int i)
{
	const struct mdas_num *n = &r->num[i];
	char buf[MDAS_NUMBER_MAX];
	int len;

	if (n->len > 0)
		mdas_jsonw_raw(w, n->text, n->len);
	else if (isnan(n->v))
		mdas_jsonw_null(w);
	else if (i >= MDAS_N_FIRST_DERIVED && i <= MDAS_N_ROLLING_VOL) {
		len = mdas_format_sig(n->v, MDAS_DERIVED_DIGITS, buf);
		mdas_jsonw_raw(w, buf, (size_t)len);
	} else
		mdas_jsonw_number(w, n->v);
}

void
mdas_record_write(struct mdas_jsonw *w, const struct mdas_record *r)
{
	const struct mdas_field *fields;
	const struct slot *slots;
	char iso[MDAS_ISO_MAX];
	size_t i, n;
	int b;

	if (!slots_ready)
		prepare_slots();
	if (r->type == MDAS_REC_QUOTE || r->type == MDAS_REC_BAR) {
		fields = mdas_record_fields;
		n = mdas_record_nfields;
		slots = rec_slots;
	} else {
		fields = mdas_event_fields;
		n = mdas_event_nfields;
		slots = ev_slots;
	}
	if (n > 64)
		n = 64;
	mdas_jsonw_begin_object(w);
	for (i = 0; i < n; i++) {
		mdas_jsonw_key(w, fields[i].name);
		switch (slots[i].kind) {
		case K_TYPE:
			mdas_jsonw_string(w, type_names[r->type]);
			break;
		case K_STR:
			if (r->str[slots[i].idx].set)
				mdas_jsonw_string_n(w, r->arena + r->str[slots[i].idx].off,
				    r->str[slots[i].idx].len);
			else
				mdas_jsonw_null(w);
			break;
		case K_NUM:
			write_num(w, r, slots[i].idx);
			break;
		case K_TS:
			if (r->has_ts && mdas_format_iso_ms(r->ts_ms, iso) > 0)
				mdas_jsonw_string(w, iso);
			else
				mdas_jsonw_null(w);
			break;
		case K_TS_MS:
			if (r->has_ts)
				mdas_jsonw_int(w, r->ts_ms);
			else
				mdas_jsonw_null(w);
			break;
		case K_TRADES:
			if (r->trades >= 0)
				mdas_jsonw_int(w, r->trades);
			else
				mdas_jsonw_null(w);
			break;
		case K_IMPUTED:
			mdas_jsonw_begin_array(w);
			for (b = 0; b < 6; b++)
				if (r->imputed & (1u << b))
					mdas_jsonw_string(w, imputed_names[b]);
			mdas_jsonw_end_array(w);
			break;
		case K_SCHEMA:
			mdas_jsonw_int(w, MDAS_SCHEMA_VERSION);
			break;
		default:
			mdas_jsonw_null(w);
		}
	}
	mdas_jsonw_end_object(w);
}

/* Digits after the point in number i's text; -1 when it has no text. */
static int
frac_digits(const struct mdas_record *r, int i)
{
	const char *t = r->num[i].text, *dot;

	if (r->num[i].len == 0)
		return -1;
	dot = memchr(t, '.', r->num[i].len);
	return dot == NULL ? 0 : (int)(r->num[i].len - (size_t)(dot + 1 - t));
}

/* The sum or difference of two decimals has no more fractional digits
 * than they have: rounding to that many removes the binary noise of the
 * double arithmetic (60755.19 - 60755.18 is 0.01, not 0.0100000000020).
 * extra allows for a halving (mid). */
static double
round_like(double x, const struct mdas_record *r, int a, int b, int extra)
{
	int da = frac_digits(r, a), db = frac_digits(r, b), dp;

	if (da < 0 || db < 0)
		return x;
	dp = (da > db ? da : db) + extra;
	if (dp > 15 || fabs(x) * pow(10, dp) > 9e15)
		return x;
	return nearbyint(x * pow(10, dp)) / pow(10, dp);
}

int
mdas_record_set_metric(struct mdas_record *r, enum mdas_rec_num which, double v)
{
	char buf[MDAS_NUMBER_MAX];
	int len;

	if (!bounds_ready)
		prepare_bounds();
	/* Checked as written: 12 digits can round 9.999999999999e17 up to
	 * 1e18.  A tiny prev_close can make a ratio overflow even when every
	 * input is within the bounds. */
	if (isfinite(v)) {
		len = mdas_format_sig(v, MDAS_DERIVED_DIGITS, buf);
		/* The text differs from v in the 13th digit at most: only next
		 * to the limit can it fall on the other side (a strtod for
		 * every metric of every record was a fifth of normalize). */
		if (fabs(v) >= MDAS_VALUE_LIMIT * (1 - 1e-11) &&
		    mdas_bounds_check(num_bound[which], strtod(buf, NULL), 1) != NULL)
			len = 0;
		if (len > 0 && mdas_bounds_check(num_bound[which], v, 1) == NULL) {
			mdas_record_set_num_text(r, which, v, buf, (size_t)len);
			return 0;
		}
	}
	mdas_record_set_null(r, which);
	return -1;
}

void
mdas_record_derive(struct mdas_record *r)
{
	double bid = r->num[MDAS_N_BID].v, ask = r->num[MDAS_N_ASK].v;
	double close = r->num[MDAS_N_CLOSE].v, prev = r->num[MDAS_N_PREV_CLOSE].v;
	double hi = r->num[MDAS_N_HIGH].v, lo = r->num[MDAS_N_LOW].v;
	double mid, spread;

	if (!isnan(bid) && !isnan(ask)) {
		mid = round_like((bid + ask) / 2, r, MDAS_N_BID, MDAS_N_ASK, 1);
		spread = round_like(ask - bid, r, MDAS_N_BID, MDAS_N_ASK, 0);
		mdas_record_set_metric(r, MDAS_N_MID, mid);
		mdas_record_set_metric(r, MDAS_N_SPREAD, spread);
		if (mid > 0)
			mdas_record_set_metric(r, MDAS_N_SPREAD_BPS, spread / mid * 10000);
	}
	if (!isnan(close) && !isnan(prev) && prev != 0) {
		mdas_record_set_metric(r, MDAS_N_CHANGE,
		    round_like(close - prev, r, MDAS_N_CLOSE, MDAS_N_PREV_CLOSE, 0));
		mdas_record_set_metric(r, MDAS_N_CHANGE_PCT, (close - prev) / prev * 100);
	}
	if (!isnan(hi) && !isnan(lo) && hi > 0 && lo > 0)
		mdas_record_set_metric(r, MDAS_N_RANGE_VOL, fabs(log(hi / lo)) / sqrt(4 * log(2.0)));
}
