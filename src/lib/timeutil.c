#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timeutil.h"

int64_t
mdas_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mdas_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Howard Hinnant's civil-date algorithms: exact for any Gregorian date. */
int64_t
mdas_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
mdas_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void
put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

int
mdas_format_iso_ms(int64_t ms, char *buf)
{
	int64_t days, secs, y;
	unsigned m, d;
	int msec;

	days = floor_div(ms, 86400000);
	secs = floor_div(ms, 1000) - days * 86400;
	msec = (int)(ms - floor_div(ms, 1000) * 1000);
	mdas_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		buf[0] = '\0';
		return -1;
	}
	/* By hand: this runs for every record normalized or exported. */
	put_digits(buf, (unsigned)y, 4);
	buf[4] = '-';
	put_digits(buf + 5, m, 2);
	buf[7] = '-';
	put_digits(buf + 8, d, 2);
	buf[10] = 'T';
	put_digits(buf + 11, (unsigned)(secs / 3600), 2);
	buf[13] = ':';
	put_digits(buf + 14, (unsigned)(secs / 60 % 60), 2);
	buf[16] = ':';
	put_digits(buf + 17, (unsigned)(secs % 60), 2);
	buf[19] = '.';
	put_digits(buf + 20, (unsigned)msec, 3);
	buf[23] = 'Z';
	buf[24] = '\0';
	return 24;
}

/* Reads exactly n digits. */
static int
digits(const char **sp, int n, int *out)
{
	const char *s = *sp;
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

int
mdas_parse_iso(const char *s, int64_t *ms, struct mdas_error *err)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, oh = 0, om = 0, sign = 0;
	int nfrac = 0;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || digits(&p, 2, &d) < 0)
		goto bad;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return mdas_error_set(err, "'%s': no such date", s);
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
			goto bad;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) < 0)
				goto bad;
			if (*p == '.') {
				p++;
				while (isdigit((unsigned char)*p)) {
					if (nfrac < 3) {
						frac = frac * 10 + (*p - '0');
						nfrac++;
					}
					p++;
				}
				if (nfrac == 0)
					goto bad;
				while (nfrac < 3) {
					frac *= 10;
					nfrac++;
				}
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return mdas_error_set(err, "'%s': no such time of day", s);
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (digits(&p, 2, &oh) < 0)
				goto bad;
			if (*p == ':')
				p++;
			if (digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
				goto bad;
		} else
			goto bad;
	}
	if (*p != '\0')
		goto bad;
	*ms = ((mdas_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60)) * 1000) + frac;
	return 0;
bad:
	return mdas_error_set(err,
	    "'%s': expected an ISO 8601 date (YYYY-MM-DD) or UTC date-time (YYYY-MM-DDTHH:MM:SSZ)", s);
}

/* Offsets are cached per zone and UTC day; a day is cached only when its
 * first and last second share one offset, so DST switch days are always
 * computed exactly. */
#define ZONE_MAX 64
#define ZONE_NAME_MAX 64
#define DAY_CACHE 4096   /* eleven years of days per zone, 64 KiB */

struct zone_cache {
	char name[ZONE_NAME_MAX];
	int64_t day[DAY_CACHE];
	long offset[DAY_CACHE];
};

static struct zone_cache *zones[ZONE_MAX];
static int nzones;
static char loaded_tz[ZONE_NAME_MAX];

static int
zone_name_valid(const char *tz)
{
	const char *dir, *p;
	char path[512];

	if (*tz == '\0' || *tz == '/' || strlen(tz) >= ZONE_NAME_MAX ||
	    strstr(tz, "..") != NULL)
		return 0;
	for (p = tz; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("_+-/", *p) == NULL)
			return 0;
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", dir, tz);
	return access(path, R_OK) == 0;
}

static struct zone_cache *
zone_lookup(const char *tz, struct mdas_error *err)
{
	struct zone_cache *z;
	int i;

	for (i = 0; i < nzones; i++)
		if (strcmp(zones[i]->name, tz) == 0)
			return zones[i];
	if (!zone_name_valid(tz)) {
		mdas_error_set(err, "'%s': unknown time zone", tz);
		return NULL;
	}
	if ((z = malloc(sizeof(*z))) == NULL) {
		mdas_error_errno(err, errno, "time zone cache");
		return NULL;
	}
	snprintf(z->name, sizeof(z->name), "%s", tz);
	for (i = 0; i < DAY_CACHE; i++)
		z->day[i] = INT64_MIN;
	if (nzones == ZONE_MAX) {
		free(zones[0]);
		memmove(zones, zones + 1, sizeof(zones[0]) * (ZONE_MAX - 1));
		nzones--;
	}
	zones[nzones++] = z;
	return z;
}

static long
offset_at(const char *tz, time_t t)
{
	char value[ZONE_NAME_MAX + 1];
	struct tm tm;

	if (strcmp(loaded_tz, tz) != 0) {
		snprintf(value, sizeof(value), ":%s", tz);
		setenv("TZ", value, 1);
		tzset();
		snprintf(loaded_tz, sizeof(loaded_tz), "%s", tz);
	}
	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

/* The UTC offset of zone tz at ms, from the cache when the day has one. */
static int
zone_offset(const char *tz, int64_t ms, long *off, struct mdas_error *err)
{
	struct zone_cache *z;
	int64_t day;
	long off_end;
	size_t slot;

	if ((z = zone_lookup(tz, err)) == NULL)
		return -1;
	day = floor_div(ms, 86400000);
	slot = (size_t)(day & (DAY_CACHE - 1));
	if (z->day[slot] == day) {
		*off = z->offset[slot];
		return 0;
	}
	*off = offset_at(tz, (time_t)(day * 86400));
	off_end = offset_at(tz, (time_t)(day * 86400 + 86399));
	if (*off == off_end) {
		z->day[slot] = day;
		z->offset[slot] = *off;
	} else
		*off = offset_at(tz, (time_t)floor_div(ms, 1000));
	return 0;
}

int
mdas_tz_localtime(const char *tz, int64_t ms, struct tm *local,
    long *offset_s, struct mdas_error *err)
{
	time_t t;
	long off;

	if (zone_offset(tz, ms, &off, err) < 0)
		return -1;
	t = (time_t)(floor_div(ms, 1000) + off);
	if (gmtime_r(&t, local) == NULL)
		return mdas_error_set(err, "%" PRId64 ": time out of range", ms);
	local->tm_gmtoff = off;
	if (offset_s != NULL)
		*offset_s = off;
	return 0;
}

int
mdas_tz_date(const char *tz, int64_t ms, char *buf, struct mdas_error *err)
{
	int64_t y;
	unsigned m, d;
	long off;

	if (zone_offset(tz, ms, &off, err) < 0)
		return -1;
	mdas_civil_from_days(floor_div(ms + (int64_t)off * 1000, 86400000), &y, &m, &d);
	if (y < 0 || y > 9999)
		return mdas_error_set(err, "%" PRId64 ": time out of range", ms);
	put_digits(buf, (unsigned)y, 4);
	buf[4] = '-';
	put_digits(buf + 5, m, 2);
	buf[7] = '-';
	put_digits(buf + 8, d, 2);
	buf[10] = '\0';
	return 0;
}
