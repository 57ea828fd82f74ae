/* timeutil.h: clocks, ISO 8601 UTC text and IANA time-zone conversion.
 * Times are int64 milliseconds since the Unix epoch unless named _s. */
#ifndef MDAS_TIMEUTIL_H
#define MDAS_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#include "error.h"

#define MDAS_ISO_MAX 32

/* Wall-clock time in epoch milliseconds. */
int64_t mdas_now_ms(void);
/* Monotonic time in milliseconds (for durations and timers). */
int64_t mdas_monotonic_ms(void);

/* Writes "2024-10-02T13:30:00.000Z" into buf (MDAS_ISO_MAX bytes).
 * Returns the length, or -1 when ms is outside years 0000-9999. */
int mdas_format_iso_ms(int64_t ms, char *buf);

/* Parses an ISO 8601 UTC date or date-time: "2024-10-02",
 * "2024-10-02T13:30:00Z", "2024-10-02T13:30:00.123Z",
 * "2024-10-02T13:30:00+02:00" (offsets are applied).  Strict: fields are
 * range-checked and trailing text is an error. */
int mdas_parse_iso(const char *s, int64_t *ms, struct mdas_error *err);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t mdas_days_from_civil(int64_t y, unsigned m, unsigned d);
void mdas_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Local time of ms in the IANA zone tz ("America/New_York", "UTC").
 * Fills *local (broken-down local time) and *offset_s (seconds east of
 * UTC, DST included).  Fails when tz is not a known zone name.  Results
 * are cached per zone, so alternating zones stays cheap. */
int mdas_tz_localtime(const char *tz, int64_t ms, struct tm *local,
    long *offset_s, struct mdas_error *err);

/* "YYYY-MM-DD" of ms in zone tz, into buf (at least 11 bytes). */
int mdas_tz_date(const char *tz, int64_t ms, char *buf, struct mdas_error *err);

#endif
