#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "timeutil.h"

static const struct {
	const char *field;
	enum mdas_bound bound;
} table[] = {
	{ "ts_ms", MDAS_BOUND_TS_MS },
	{ "trades", MDAS_BOUND_COUNT },
	{ "open", MDAS_BOUND_PRICE },
	{ "high", MDAS_BOUND_PRICE },
	{ "low", MDAS_BOUND_PRICE },
	{ "close", MDAS_BOUND_PRICE },
	{ "adj_close", MDAS_BOUND_PRICE },
	{ "bid", MDAS_BOUND_PRICE },
	{ "ask", MDAS_BOUND_PRICE },
	{ "prev_close", MDAS_BOUND_PRICE },
	{ "mid", MDAS_BOUND_PRICE },
	{ "volume", MDAS_BOUND_NONNEG },
	{ "quote_volume", MDAS_BOUND_NONNEG },
	{ "bid_size", MDAS_BOUND_NONNEG },
	{ "ask_size", MDAS_BOUND_NONNEG },
	{ "amount", MDAS_BOUND_NONNEG },
	{ "range_vol", MDAS_BOUND_NONNEG },
	{ "rolling_vol", MDAS_BOUND_NONNEG },
	{ "numerator", MDAS_BOUND_POSITIVE },
	{ "denominator", MDAS_BOUND_POSITIVE },
	{ "spread", MDAS_BOUND_SIGNED },
	{ "spread_bps", MDAS_BOUND_SIGNED },
	{ "change", MDAS_BOUND_SIGNED },
	{ "change_pct", MDAS_BOUND_SIGNED },
	{ "log_return", MDAS_BOUND_SIGNED },
};

enum mdas_bound
mdas_bound_of(const char *field)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].field, field) == 0)
			return table[i].bound;
	return MDAS_BOUND_NONE;
}

int
mdas_bounds_future(const char *asset_class)
{
	return asset_class != NULL && strcmp(asset_class, "future") == 0;
}

int
mdas_bounds_ts_ms_ok(int64_t ms)
{
	return ms >= MDAS_TS_MS_MIN && ms <= MDAS_TS_MS_MAX;
}

const char *
mdas_bounds_check(enum mdas_bound b, double v, int future)
{
	if (!isfinite(v))
		return "not a finite number";
	switch (b) {
	case MDAS_BOUND_COUNT:
		/* In range first, so that floor() sees a representable whole. */
		if (!(v >= 0 && v <= (double)MDAS_COUNT_MAX))
			return MDAS_BOUNDS_WHY_COUNT;
		return v == floor(v) ? NULL : "not an integer";
	case MDAS_BOUND_TS_MS:
		if (!(v >= (double)MDAS_TS_MS_MIN && v <= (double)MDAS_TS_MS_MAX))
			return MDAS_BOUNDS_WHY_TIME;
		return v == floor(v) ? NULL : "not an integer";
	default:
		break;
	}
	if (b != MDAS_BOUND_SIGNED && b != MDAS_BOUND_NONE && fabs(v) >= MDAS_VALUE_LIMIT)
		return MDAS_BOUNDS_WHY_LIMIT;
	switch (b) {
	case MDAS_BOUND_PRICE:
		return v < 0 && !future ? "negative (only a future's price may be)" : NULL;
	case MDAS_BOUND_NONNEG:
		return v < 0 ? "negative" : NULL;
	case MDAS_BOUND_POSITIVE:
		return v > 0 ? NULL : "not positive";
	default:
		return NULL;
	}
}

void
mdas_bounds_record_init(struct mdas_bounds_record *b, const char *type)
{
	b->type = type;
	b->high = b->low = b->close = NAN;
	b->bid = b->ask = b->bid_size = b->ask_size = NAN;
	b->amount = b->numerator = b->denominator = NAN;
}

double *
mdas_bounds_record_slot(struct mdas_bounds_record *b, const char *field)
{
	static const char *const names[] = {
		"high", "low", "close", "bid", "ask", "bid_size", "ask_size",
		"amount", "numerator", "denominator",
	};
	double *slots[] = {
		&b->high, &b->low, &b->close, &b->bid, &b->ask, &b->bid_size,
		&b->ask_size, &b->amount, &b->numerator, &b->denominator,
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], field) == 0)
			return slots[i];
	return NULL;
}

/* In a quote, a price of 0 means no order on that side: mdas-normalize
 * writes that side null (price and size), so neither may appear. */
static const char *
book_side(double px, double qty, const char *pxname, const char *qtyname,
    const char **field)
{
	if (px == 0) {
		*field = pxname;
		return "not a price: a book side without an order is null";
	}
	if (isnan(px) && !isnan(qty)) {
		*field = qtyname;
		return "given without its price";
	}
	return NULL;
}

/* The rule that fails: the field it concerns and why; NULL when none. */
static const char *
cross_rule(const struct mdas_bounds_record *b, const char **field)
{
	const char *why;
	double tol;

	if (strcmp(b->type, "split") == 0) {
		*field = isnan(b->numerator) ? "numerator" : "denominator";
		return isnan(b->numerator) || isnan(b->denominator) ? "missing" : NULL;
	}
	if (strcmp(b->type, "dividend") == 0) {
		*field = "amount";
		return isnan(b->amount) ? "missing" : NULL;
	}
	if (strcmp(b->type, "quote") == 0) {
		if ((why = book_side(b->bid, b->bid_size, "bid", "bid_size", field)) != NULL ||
		    (why = book_side(b->ask, b->ask_size, "ask", "ask_size", field)) != NULL)
			return why;
	}
	if (!isnan(b->high) && !isnan(b->low) && b->high < b->low) {
		*field = "high";
		return "below low";
	}
	/* "Beyond rounding" (MDAS_HLC_TOLERANCE). */
	tol = MDAS_HLC_TOLERANCE * (isnan(b->high) ? fabs(b->close) : fabs(b->high));
	if (!isnan(b->close) && ((!isnan(b->low) && b->close < b->low - tol) ||
	    (!isnan(b->high) && b->close > b->high + tol))) {
		*field = "close";
		return "outside low..high";
	}
	return NULL;
}

static const char *
text_of(mdas_bounds_text_fn *text, void *ctx, const char *field, char *tmp)
{
	const char *t = text(ctx, field, tmp);

	return t != NULL ? t : "null";
}

const char *
mdas_bounds_check_record(const struct mdas_bounds_record *b, char *buf, size_t size,
    mdas_bounds_text_fn *text, void *ctx)
{
	char t1[MDAS_BOUNDS_TEXT_MAX], t2[MDAS_BOUNDS_TEXT_MAX], t3[MDAS_BOUNDS_TEXT_MAX];
	const char *field, *why;

	if ((why = cross_rule(b, &field)) == NULL)
		return NULL;
	if (strcmp(field, "high") == 0)
		snprintf(buf, size, "high %s is below low %s", text_of(text, ctx, "high", t1),
		    text_of(text, ctx, "low", t2));
	else if (strcmp(field, "close") == 0)
		snprintf(buf, size, "close %s is outside low %s .. high %s",
		    text_of(text, ctx, "close", t1), text_of(text, ctx, "low", t2),
		    text_of(text, ctx, "high", t3));
	else
		mdas_bounds_why(buf, size, field, text(ctx, field, t1), why);
	return buf;
}

void
mdas_bounds_why(char *buf, size_t size, const char *field, const char *text,
    const char *reason)
{
	if (text != NULL)
		snprintf(buf, size, "%s %s is %s", field, text, reason);
	else
		snprintf(buf, size, "%s is %s", field, reason);
}

const char *
mdas_bounds_time_text(const char *s, int date, int64_t *ms)
{
	const char *want = date ? "expected a date YYYY-MM-DD" :
	    "expected an ISO 8601 UTC time";
	int64_t slack = date ? 86400000 : 0;

	if (date ? strlen(s) != 10 : strchr(s, 'T') == NULL)
		return want;
	if (mdas_parse_iso(s, ms, NULL) < 0)
		return want;
	if (*ms < MDAS_TS_MS_MIN - slack || *ms > MDAS_TS_MS_MAX + slack)
		return MDAS_BOUNDS_WHY_TIME;
	return NULL;
}
