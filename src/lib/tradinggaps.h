/* tradinggaps.h: bars missing inside Yahoo's own trading periods.
 *
 * A Yahoo intraday chart body carries meta.tradingPeriods: the exchange's
 * sessions of the days it covers.  A session slot (session start + k
 * intervals, before its end) that has no bar with a close, between the
 * first and the last bar of the body and inside the request's
 * period1..period2, is missing: runs of them are printed as the store's
 * gap lines (mdas-store(7), GAPS), so the pipeline reports and re-asks
 * them like the gaps of a 24/7 series:
 *   {"source":"yahoo","symbol":..,"interval":..,"from_ts_ms":N,"to_ts_ms":N,"missing":N}
 * Only what the body shows is judged: nothing before its first bar or
 * after its last, nothing outside a listed session (nights, weekends,
 * holidays), and nothing of a body without tradingPeriods.  Crypto
 * (meta.instrumentType CRYPTOCURRENCY) is left to the store's check of
 * 24/7 series, so that no gap is reported twice.
 */
#ifndef MDAS_TRADINGGAPS_H
#define MDAS_TRADINGGAPS_H

#include <stdio.h>

#include <json-c/json.h>

/* Looks at one mdas-fetch line (v): a raw Yahoo chart history envelope
 * of an intraday interval; anything else is left (returns 0).  Prints
 * its gap lines to out; *gaps counts them.  Returns 0, or -1 when
 * writing or memory fails (errno set). */
int mdas_trading_gaps(struct json_object *v, FILE *out, unsigned long *gaps);

#endif
