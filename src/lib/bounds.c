#include "config.h"

#include <math.h>
#include <string.h>

#include "bounds.h"

static const struct {
	const char *field;
	enum mdas_bound bound;
} table[] = {
	{ "ts_ms", MDAS_BOUND_TS_MS },
	{ "trades", MDAS_BOUND_COUNT },
	{ "volume", MDAS_BOUND_NONNEG },
	{ "quote_volume", MDAS_BOUND_NONNEG },
	{ "bid_size", MDAS_BOUND_NONNEG },
	{ "ask_size", MDAS_BOUND_NONNEG },
	{ "amount", MDAS_BOUND_NONNEG },
	{ "range_vol", MDAS_BOUND_NONNEG },
	{ "rolling_vol", MDAS_BOUND_NONNEG },
	{ "numerator", MDAS_BOUND_POSITIVE },
	{ "denominator", MDAS_BOUND_POSITIVE },
	{ "open", MDAS_BOUND_FINITE },
	{ "high", MDAS_BOUND_FINITE },
	{ "low", MDAS_BOUND_FINITE },
	{ "close", MDAS_BOUND_FINITE },
	{ "adj_close", MDAS_BOUND_FINITE },
	{ "bid", MDAS_BOUND_FINITE },
	{ "ask", MDAS_BOUND_FINITE },
	{ "prev_close", MDAS_BOUND_FINITE },
	{ "mid", MDAS_BOUND_FINITE },
	{ "spread", MDAS_BOUND_FINITE },
	{ "spread_bps", MDAS_BOUND_FINITE },
	{ "change", MDAS_BOUND_FINITE },
	{ "change_pct", MDAS_BOUND_FINITE },
	{ "log_return", MDAS_BOUND_FINITE },
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
mdas_bounds_ts_ms_ok(int64_t ms)
{
	return ms >= MDAS_TS_MS_MIN && ms <= MDAS_TS_MS_MAX;
}

const char *
mdas_bounds_check_double(const char *field, double v)
{
	enum mdas_bound b = mdas_bound_of(field);

	if (!isfinite(v))
		return "not a finite number";
	switch (b) {
	case MDAS_BOUND_NONE:
	case MDAS_BOUND_FINITE:
		return NULL;
	case MDAS_BOUND_NONNEG:
		return v < 0 ? "negative" : NULL;
	case MDAS_BOUND_POSITIVE:
		return v > 0 ? NULL : "not positive";
	case MDAS_BOUND_COUNT:
	case MDAS_BOUND_TS_MS:
		/* In range first, so the conversion below is defined. */
		if (b == MDAS_BOUND_COUNT && !(v >= 0 && v <= (double)MDAS_INT_EXACT_MAX))
			return "outside 0..2^53";
		if (b == MDAS_BOUND_TS_MS && !(v >= (double)MDAS_TS_MS_MIN &&
		    v <= (double)MDAS_TS_MS_MAX))
			return "outside years 1970..9999";
		return v == floor(v) ? NULL : "not an integer";
	}
	return NULL;
}

const char *
mdas_bounds_check_int(const char *field, int64_t v)
{
	if (v > MDAS_INT_EXACT_MAX || v < -MDAS_INT_EXACT_MAX) {
		if (mdas_bound_of(field) == MDAS_BOUND_TS_MS)
			return "outside years 1970..9999";
		return mdas_bound_of(field) == MDAS_BOUND_COUNT ? "outside 0..2^53" :
		    "outside +-2^53";
	}
	/* Within +-2^53 the conversion is exact. */
	return mdas_bounds_check_double(field, (double)v);
}
