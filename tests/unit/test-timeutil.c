/* Unit tests for time formatting, parsing and IANA zone conversion. */
#include "config.h"

#include "tap.h"
#include "timeutil.h"

int
main(void)
{
	char buf[MDAS_ISO_MAX];
	struct mdas_error err;
	struct tm tm;
	long off;
	int64_t ms;

	tap_plan(20);
	mdas_format_iso_ms(1727875800000LL, buf);
	tap_is_str(buf, "2024-10-02T13:30:00.000Z", "epoch ms to ISO");
	mdas_format_iso_ms(-1, buf);
	tap_is_str(buf, "1969-12-31T23:59:59.999Z", "negative ms floor to the previous second");
	mdas_format_iso_ms(951782400123LL, buf);
	tap_is_str(buf, "2000-02-29T00:00:00.123Z", "leap day with milliseconds");

	tap_is_int(mdas_parse_iso("2024-10-02T13:30:00.000Z", &ms, &err), 0, "parse full");
	tap_is_int(ms, 1727875800000LL, "full value");
	tap_is_int(mdas_parse_iso("2024-10-02", &ms, &err), 0, "parse date");
	tap_is_int(ms, 1727827200000LL, "date is midnight UTC");
	tap_is_int(mdas_parse_iso("2024-10-02T15:30:00+02:00", &ms, &err), 0, "parse offset");
	tap_is_int(ms, 1727875800000LL, "offset applied");
	tap_is_int(mdas_parse_iso("2023-02-29", &ms, &err), -1, "no Feb 29 in 2023");
	tap_is_str(err.msg, "'2023-02-29': no such date", "message");
	tap_is_int(mdas_parse_iso("2024-10-02T13:30:00Zjunk", &ms, &err), -1, "trailing text rejected");

	/* 2024-03-10 is the US DST switch day: 06:59Z is EST, 07:00Z is EDT. */
	tap_is_int(mdas_tz_localtime("America/New_York", 1710053940000LL, &tm, &off, &err), 0, "NY before switch");
	tap_is_int(off, -5 * 3600, "EST offset");
	mdas_tz_localtime("America/New_York", 1710054000000LL, &tm, &off, &err);
	tap_is_int(off, -4 * 3600, "EDT offset right after the switch");
	tap_is_int(tm.tm_hour, 3, "local hour 03:00 after the switch");
	tap_is_int(mdas_tz_date("Asia/Tokyo", 1727875800000LL, buf, &err), 0, "Tokyo date");
	tap_is_str(buf, "2024-10-02", "22:30 in Tokyo is still Oct 2");
	tap_is_int(mdas_tz_date("Mars/Olympus", 0, buf, &err), -1, "unknown zone fails");
	tap_is_str(err.msg, "'Mars/Olympus': unknown time zone", "unknown zone message");
	return tap_done();
}
