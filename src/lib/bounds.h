/* bounds.h: the range of every number in a unified record, in one place.
 *
 * mdas-schema(7) says what each field means; this says which values it
 * may hold, for the two places where numbers enter: mdas-normalize (from
 * upstream data) and the exporters' record reader (from any NDJSON).
 * Outside these ranges a value is not data but damage, and arithmetic on
 * it (local times, Excel serial dates) would overflow.
 *
 *   ts_ms                 integer, MDAS_TS_MS_MIN..MDAS_TS_MS_MAX
 *                         (1970-01-01T00:00:00.000Z..9999-12-31T23:59:59.999Z)
 *   trades                integer, 0..MDAS_INT_EXACT_MAX
 *   volume, quote_volume, bid_size, ask_size, amount, range_vol,
 *   rolling_vol           finite and >= 0 (-0 counts as 0)
 *   numerator, denominator finite and > 0
 *   open, high, low, close, adj_close, bid, ask, prev_close, mid, spread,
 *   spread_bps, change, change_pct, log_return
 *                         finite (a price may be negative: oil futures
 *                         in April 2020)
 * and every integer in a record, whatever its field, lies within
 * +-MDAS_INT_EXACT_MAX (2^53: exact as a double, the number type of
 * Excel and of most JSON readers; json-c also saturates integers past
 * 64 bits to the limit silently, and those land out there too).
 */
#ifndef MDAS_BOUNDS_H
#define MDAS_BOUNDS_H

#include <stdint.h>

#define MDAS_TS_MS_MIN      INT64_C(0)                 /* 1970-01-01T00:00:00.000Z */
#define MDAS_TS_MS_MAX      INT64_C(253402300799999)   /* 9999-12-31T23:59:59.999Z */
#define MDAS_INT_EXACT_MAX  INT64_C(9007199254740992)  /* 2^53 */

enum mdas_bound {
	MDAS_BOUND_NONE = 0,  /* not a bounded number (strings, unknown names) */
	MDAS_BOUND_FINITE,    /* any finite number */
	MDAS_BOUND_NONNEG,    /* finite, >= 0 */
	MDAS_BOUND_POSITIVE,  /* finite, > 0 */
	MDAS_BOUND_COUNT,     /* integer 0..MDAS_INT_EXACT_MAX */
	MDAS_BOUND_TS_MS,     /* integer MDAS_TS_MS_MIN..MDAS_TS_MS_MAX */
};

/* The bound of a schema field by name (the table above). */
enum mdas_bound mdas_bound_of(const char *field);

/* NULL when v may be the value of field, else why not: "not a finite
 * number", "negative", "not positive", "not an integer" (a count or a
 * time given as a fraction), "outside 0..2^53", "outside years
 * 1970..9999".  A field without a bound only has to be finite. */
const char *mdas_bounds_check_double(const char *field, double v);

/* The same for a value that is a JSON integer; also "outside +-2^53"
 * for any field. */
const char *mdas_bounds_check_int(const char *field, int64_t v);

/* True when ms lies in MDAS_TS_MS_MIN..MDAS_TS_MS_MAX. */
int mdas_bounds_ts_ms_ok(int64_t ms);

#endif
