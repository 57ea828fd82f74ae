/* Unit tests of store.c: records to rows (the exact number text, imputed,
 * what cannot be stored, series rows only when the series changes, error
 * rows per run), and the shared SQL (every statement built from the
 * tables, no value ever in it). */
#include "config.h"

#include <string.h>

#include "store.h"
#include "tap.h"

static struct json_object *
parse(const char *text)
{
	return json_tokener_parse(text);
}

/* Column index of name in table t, or -1. */
static int
col(enum mdas_store_table t, const char *name)
{
	size_t i;

	for (i = 0; i < mdas_store_tables[t].ncols; i++)
		if (strcmp(mdas_store_tables[t].cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const char *
val(const struct mdas_store_row *row, const char *name)
{
	int i = col(row->table, name);

	return i < 0 ? "(no column)" : row->val[i] != NULL ? row->val[i] : "(null)";
}

#define BAR(extra) "{\"type\":\"bar\",\"source\":\"binance\",\"symbol\":\"BTCUSDT\"," \
	"\"asset_class\":\"crypto\",\"currency\":\"USDT\",\"exchange\":\"BINANCE\"," \
	"\"exchange_tz\":\"UTC\",\"interval\":\"1m\",\"ts\":\"2024-01-01T00:00:00.000Z\"," \
	"\"ts_ms\":1704067200000,\"open\":42283.58000000,\"high\":42300.1,\"low\":42280," \
	"\"close\":42290.5,\"volume\":1.5e-7,\"trades\":12,\"imputed\":[]" extra "}"

static void
test_bar(void)
{
	struct mdas_store_map *m = mdas_store_map_new("R1");
	const struct mdas_store_row *rows[2];
	struct json_object *rec = parse(BAR(",\"run_id\":null"));
	struct mdas_error err;
	int n;

	n = mdas_store_map_record(m, MDAS_EXPORT_RECORD, rec, 7, rows, &err);
	tap_is_int(n, 2, "the first bar of a series gives its row and the series row");
	tap_is_int(rows[0]->table, MDAS_ST_BARS, "a bar goes to bars");
	tap_is_str(val(rows[0], "open"), "42283.58000000", "a number keeps the text it was sent as");
	tap_is_str(val(rows[0], "volume"), "1.5e-7", "an exponent is kept as written");
	tap_is_str(val(rows[0], "trades"), "12", "an integer in decimal");
	tap_is_str(val(rows[0], "imputed"), "(null)", "imputed [] is null: a real bar");
	tap_is_str(val(rows[0], "run_id"), "R1", "a record without run_id gets the load's");
	tap_is_str(val(rows[0], "adj_close"), "(null)", "a missing field is null");
	tap_is_int(rows[0]->line, 7, "the row knows its input line");
	tap_is_int(rows[1]->table, MDAS_ST_SERIES, "the series row");
	tap_is_str(val(rows[1], "exchange_tz"), "UTC", "series metadata");
	json_object_put(rec);

	rec = parse(BAR(",\"run_id\":\"R0\",\"fetched_at\":\"2024-01-01T00:01:00.000Z\""));
	n = mdas_store_map_record(m, MDAS_EXPORT_RECORD, rec, 8, rows, &err);
	tap_is_int(n, 1, "the same series again: no series row (run_id and fetched_at do not count)");
	tap_is_str(val(rows[0], "run_id"), "R0", "a record's own run_id is kept");
	json_object_put(rec);

	rec = parse("{\"type\":\"bar\",\"source\":\"binance\",\"symbol\":\"BTCUSDT\","
	    "\"interval\":\"1m\",\"ts\":\"2024-01-01T00:00:00.000Z\",\"ts_ms\":1704067200000,"
	    "\"close\":1,\"imputed\":[\"open\",\"close\"]}");
	n = mdas_store_map_record(m, MDAS_EXPORT_RECORD, rec, 9, rows, &err);
	tap_is_int(n, 2, "other metadata (none) is another series row");
	tap_is_str(val(rows[0], "imputed"), "open;close", "imputed names joined with ';'");
	json_object_put(rec);
	mdas_store_map_free(m);
}

static void
test_rejected(void)
{
	static const struct {
		const char *json;
		const char *why;
	} cases[] = {
		{ "{\"type\":\"bar\",\"source\":\"yahoo\",\"symbol\":\"AAPL\",\"ts\":\"2024-01-01T00:00:00.000Z\",\"ts_ms\":1}",
		  "a bar needs an interval to be stored" },
		{ "{\"type\":\"quote\",\"source\":\"yahoo\",\"ts\":\"2024-01-01T00:00:00.000Z\",\"ts_ms\":1}",
		  "a quote needs a symbol to be stored" },
		{ "{\"type\":\"quote\",\"source\":\"yahoo\",\"symbol\":\"AAPL\",\"ts\":\"2024-01-01T00:00:00.000Z\"}",
		  "a quote needs a ts_ms to be stored" },
		{ "{\"type\":\"bar\",\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1d\",\"ts\":\"x\",\"ts_ms\":1,\"high\":1,\"low\":2}",
		  "high 1 is below low 2" },
		{ "{\"type\":\"bar\",\"source\":\"yahoo\",\"symbol\":\"A\\u0000B\",\"interval\":\"1d\",\"ts\":\"x\",\"ts_ms\":1}",
		  "symbol: a text with a NUL character cannot be stored" },
		{ "{\"type\":\"bar\",\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1d\",\"ts\":\"x\",\"ts_ms\":1,\"volume\":-1}",
		  "volume -1 is negative" },
		{ "{\"type\":\"bar\",\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1d\",\"ts\":\"x\",\"ts_ms\":1.5}",
		  "ts_ms: expected an integer" },
	};
	struct mdas_store_map *m = mdas_store_map_new("R1");
	const struct mdas_store_row *rows[2];
	struct mdas_error err;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct json_object *rec = parse(cases[i].json);
		int n = mdas_store_map_record(m, MDAS_EXPORT_RECORD, rec, 1, rows, &err);

		tap_is_int(n, -1, "rejected: %s", cases[i].why);
		tap_is_str(n < 0 ? err.msg : "", cases[i].why, "why: %s", cases[i].why);
		json_object_put(rec);
	}
	mdas_store_map_free(m);
}

static void
test_events_errors(void)
{
	struct mdas_store_map *m = mdas_store_map_new("R9");
	const struct mdas_store_row *rows[2];
	struct json_object *rec;
	struct mdas_error err;
	int n;

	rec = parse("{\"type\":\"split\",\"source\":\"yahoo\",\"symbol\":\"AAPL\","
	    "\"ts\":\"2020-08-31T13:30:00.000Z\",\"ts_ms\":1598880600000,\"numerator\":4,\"denominator\":1}");
	n = mdas_store_map_record(m, MDAS_EXPORT_EVENT, rec, 3, rows, &err);
	tap_is_int(n, 1, "an event: its row only");
	tap_is_str(val(rows[0], "kind"), "split", "events.kind is the record's type");
	tap_is_str(val(rows[0], "numerator"), "4", "split ratio");
	json_object_put(rec);

	rec = parse("{\"type\":\"split\",\"source\":\"yahoo\",\"symbol\":\"AAPL\","
	    "\"ts\":\"2020-08-31T13:30:00.000Z\",\"ts_ms\":1,\"numerator\":0,\"denominator\":1}");
	tap_is_int(mdas_store_map_record(m, MDAS_EXPORT_EVENT, rec, 4, rows, &err), -1,
	    "a split of 0 for 1 is not stored");
	json_object_put(rec);

	rec = parse("{\"type\":\"error\",\"stage\":\"fetch\",\"source\":\"binance\",\"symbol\":\"FOO\","
	    "\"http_status\":\"400\",\"code\":-1121,\"message\":\"Invalid symbol.\",\"retryable\":false,"
	    "\"attempts\":1,\"fetched_at\":\"whenever\"}");
	n = mdas_store_map_record(m, MDAS_EXPORT_ERROR, rec, 12, rows, &err);
	tap_is_int(n, 1, "an error record: one row");
	tap_is_str(val(rows[0], "run_id"), "R9", "errors are kept per run");
	tap_is_str(val(rows[0], "seq"), "12", "keyed by the input line");
	tap_is_str(val(rows[0], "http_status"), "(null)", "a typed column takes only its type");
	tap_is_str(val(rows[0], "code"), "-1121", "a text column takes any value, as JSON");
	tap_is_str(val(rows[0], "retryable"), "false", "booleans as text");
	tap_is_str(val(rows[0], "fetched_at"), "whenever", "errors are not validated: kept as text");
	json_object_put(rec);
	mdas_store_map_free(m);

	m = mdas_store_map_new(NULL);
	rec = parse("{\"type\":\"error\",\"stage\":\"fetch\"}");
	tap_is_int(mdas_store_map_record(m, MDAS_EXPORT_ERROR, rec, 1, rows, &err), -1,
	    "an error record without a run cannot be kept per run");
	json_object_put(rec);
	mdas_store_map_free(m);
}

static void
test_sql(void)
{
	char buf[8192];
	int t;

	for (t = 0; t < MDAS_ST_COUNT; t++) {
		buf[0] = '\0';
		tap_ok(mdas_store_sql_create(MDAS_DIALECT_PG, t, "mdas.", buf, sizeof buf) == 0 &&
		    strncmp(buf, "CREATE TABLE IF NOT EXISTS mdas.", 32) == 0,
		    "CREATE TABLE for %s", mdas_store_tables[t].name);
	}
	buf[0] = '\0';
	mdas_store_sql_create(MDAS_DIALECT_SQLITE, MDAS_ST_BARS, "", buf, sizeof buf);
	tap_ok(strstr(buf, "PRIMARY KEY (source, symbol, interval, ts_ms)") != NULL &&
	    strstr(buf, "CHECK (high >= low)") != NULL && strstr(buf, ") STRICT") != NULL,
	    "bars: key, checks, STRICT in SQLite");
	buf[0] = '\0';
	mdas_store_sql_conflict(MDAS_ST_BARS, buf, sizeof buf);
	tap_ok(strstr(buf, "NOT (excluded.imputed IS NOT NULL AND bars.imputed IS NULL)") != NULL,
	    "an imputed bar never replaces a real one");
	tap_ok(strstr(buf, "bars.close IS DISTINCT FROM excluded.close") != NULL &&
	    strstr(buf, "bars.run_id IS DISTINCT") == NULL,
	    "a row is updated only when its data differ (run_id does not count)");
	buf[0] = '\0';
	mdas_store_sql_conflict(MDAS_ST_QUOTES, buf, sizeof buf);
	tap_ok(strstr(buf, "ON CONFLICT (source, symbol, ts_ms)") != NULL &&
	    strstr(buf, "imputed") == NULL, "quotes: keyed by time, no imputed term");
	tap_is_int(mdas_store_sql_create(MDAS_DIALECT_PG, MDAS_ST_BARS, "", buf, 64), -1,
	    "a buffer too small is an error, not a cut statement");

	tap_ok(mdas_store_identifier_ok("mdas") && mdas_store_identifier_ok("_x9"),
	    "plain identifiers are schema names");
	tap_ok(!mdas_store_identifier_ok("Mdas") && !mdas_store_identifier_ok("a-b") &&
	    !mdas_store_identifier_ok("a;drop") && !mdas_store_identifier_ok("") &&
	    !mdas_store_identifier_ok("9a") && !mdas_store_identifier_ok(NULL),
	    "anything else is refused");
	memset(buf, 'a', 64);
	buf[64] = '\0';
	tap_ok(!mdas_store_identifier_ok(buf), "64 characters is too long for PostgreSQL");
	buf[63] = '\0';
	tap_ok(mdas_store_identifier_ok(buf), "63 characters is fine");
}

static void
test_version(void)
{
	struct mdas_error err;

	tap_is_int(mdas_store_check_version(0, "db", &err), 0, "no schema yet: create it");
	tap_is_int(mdas_store_check_version(MDAS_STORE_SCHEMA_VERSION, "db", &err), 0,
	    "this version: use it");
	tap_is_int(mdas_store_check_version(MDAS_STORE_SCHEMA_VERSION + 1, "db", &err),
	    MDAS_SINK_REFUSED, "a newer version is refused");
	tap_ok(strstr(err.msg, "newer") != NULL && strstr(err.msg, "not changed") != NULL,
	    "and says so: %s", err.msg);
}

int
main(void)
{
	test_bar();
	test_rejected();
	test_events_errors();
	test_sql();
	test_version();
	tap_plan(tap_n);
	return tap_done();
}
