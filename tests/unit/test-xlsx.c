/* Unit test for the workbook writer fed directly, past the record reader
 * that normally guards it: times near +-2^63 (signed overflow in the
 * local-time arithmetic, caught by UBSan in check-all), bytes that are
 * not UTF-8, NUL, C0 controls, U+FFFF, records of the wrong shape.  The
 * workbook must still be finished.  With an argument the file is kept
 * there (tests/export-input.test opens it with openpyxl). */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "xlsx.h"

static struct json_object *
parse(const char *s)
{
	return json_tokener_parse(s);
}

int
main(int argc, char **argv)
{
	static const char *const recs[] = {
		"{\"type\":\"bar\",\"symbol\":\"MAX\",\"source\":\"yahoo\",\"interval\":\"1d\","
		    "\"ts_ms\":9223372036854775807,\"exchange_tz\":\"Pacific/Kiritimati\",\"close\":1}",
		"{\"type\":\"bar\",\"symbol\":\"MIN\",\"source\":\"yahoo\",\"interval\":\"1d\","
		    "\"ts_ms\":-9223372036854775808,\"exchange_tz\":\"America/Adak\",\"close\":1}",
		"{\"type\":\"quote\",\"symbol\":\"DBL\",\"ts_ms\":1e300,\"ts\":\"9999-12-31T23:59:59.999Z\"}",
		"{\"type\":\"quote\",\"symbol\":\"NEG\",\"ts_ms\":-1,\"exchange_tz\":\"Asia/Tokyo\"}",
		"[1,2,3]",
		"{\"type\":{\"a\":1}}",
		"{\"type\":\"error\",\"symbol\":[1],\"message\":{\"m\":[]},\"code\":-1121}",
	};
	/* Strings json-c would never produce from a checked line: built by
	 * hand so the writer itself is what is tested. */
	static const char bad_utf8[] = "N\xed\xa0\x80S\xc0\xaf\xff\xf4\x90\x80\x80";
	static const char controls[] = "A\x01" "B\x1f" "C\xef\xbf\xbf" "D\xef\xbf\xbe" "E";
	static const char with_nul[] = "before\0after";
	struct mdas_xlsx_options xo = { .run_id = "T", .generated_at = "2026-01-01T00:00:00.000Z" };
	char tmpl[] = "/tmp/mdas-test-xlsx.XXXXXX";
	const char *path = argc > 1 ? argv[1] : tmpl;
	struct json_object *o;
	struct mdas_error err;
	struct mdas_xlsx *x;
	size_t i;
	int fd, rc;

	tap_plan(13);
	if (argc <= 1) {
		if ((fd = mkstemp(tmpl)) < 0)
			return 99;
		close(fd);
	}
	x = mdas_xlsx_new(path, &xo, &err);
	tap_ok(x != NULL, "workbook started");
	if (x == NULL) {
		if (argc <= 1)
			unlink(tmpl);
		return tap_done();
	}
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		o = parse(recs[i]);
		rc = mdas_xlsx_add(x, o, &err);
		tap_ok(rc == 0 || i >= 4, "record %zu: %s (rc %d)", i, recs[i], rc);
		json_object_put(o);
	}
	o = parse("{\"type\":\"bar\",\"source\":\"yahoo\",\"interval\":\"1d\",\"ts_ms\":0,\"close\":1}");
	json_object_object_add(o, "symbol", json_object_new_string(bad_utf8));
	json_object_object_add(o, "currency", json_object_new_string(controls));
	tap_is_int(mdas_xlsx_add(x, o, &err), 0, "a bar with invalid UTF-8 and controls in names");
	json_object_put(o);
	o = parse("{\"type\":\"error\",\"stage\":\"fetch\",\"source\":\"yahoo\",\"code\":\"x\"}");
	json_object_object_add(o, "symbol", json_object_new_string(controls));
	json_object_object_add(o, "message", json_object_new_string_len(with_nul, sizeof(with_nul) - 1));
	tap_is_int(mdas_xlsx_add(x, o, &err), 0, "an error with controls and a NUL");
	json_object_put(o);
	o = parse("{\"type\":\"quote\",\"ts_ms\":1}");
	json_object_object_add(o, "exchange", json_object_new_string_len(with_nul, sizeof(with_nul) - 1));
	json_object_object_add(o, "exchange_tz", json_object_new_string(bad_utf8));
	tap_is_int(mdas_xlsx_add(x, o, &err), 0, "a quote with a NUL and an invalid zone name");
	json_object_put(o);
	rc = mdas_xlsx_finish(x, &err);
	tap_is_int(rc, 0, "finished: %s", rc == 0 ? "ok" : err.msg);
	tap_ok(access(path, F_OK) == 0, "the file exists");
	if (argc <= 1)
		unlink(tmpl);
	mdas_xlsx_free(NULL);
	return tap_done();
}
