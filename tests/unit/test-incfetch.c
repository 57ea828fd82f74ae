/* Unit tests of incremental fetching's library parts: the source limits
 * table and the window arithmetic (sourcelimits.c), the marks reader
 * (marks.c) and the shard of a symbol (shard.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "marks.h"
#include "shard.h"
#include "sourcelimits.h"
#include "tap.h"

#define NOW INT64_C(1795996800000)       /* 2026-11-30T00:00:00Z */

static void
test_limits(void)
{
	const struct mdas_limit *l = mdas_limit_find(MDAS_SOURCE_YAHOO, "1m");
	struct mdas_plan p;
	int64_t k, ws, we, prev_end, covered = 0, longest = 0;

	tap_is_int(l->lookback_ms, 30 * MDAS_DAY_MS, "yahoo 1m: 30 days back");
	tap_is_int(l->span_ms, 7 * MDAS_DAY_MS, "yahoo 1m: 7 days per request");
	tap_is_int(mdas_limit_find(MDAS_SOURCE_YAHOO, "5m")->lookback_ms, 60 * MDAS_DAY_MS,
	    "yahoo 5m: 60 days");
	tap_is_int(mdas_limit_find(MDAS_SOURCE_YAHOO, "90m")->lookback_ms, 60 * MDAS_DAY_MS,
	    "yahoo 90m: 60 days");
	tap_is_int(mdas_limit_find(MDAS_SOURCE_YAHOO, "60m")->lookback_ms, 730 * MDAS_DAY_MS,
	    "yahoo 60m: 730 days");
	tap_is_int(mdas_limit_find(MDAS_SOURCE_YAHOO, "1h")->lookback_ms, 730 * MDAS_DAY_MS,
	    "yahoo 1h: 730 days");
	tap_ok(mdas_limit_find(MDAS_SOURCE_YAHOO, "1d")->lookback_ms == 0 &&
	    mdas_limit_find(MDAS_SOURCE_YAHOO, "1wk")->span_ms == 0, "yahoo daily and longer: no limit");
	tap_ok(mdas_limit_find(MDAS_SOURCE_YAHOO, "1")->lookback_ms == 0,
	    "yahoo: '1' is not '1m' (whole names only)");
	tap_ok(mdas_limit_find(MDAS_SOURCE_BINANCE, "1m")->page_rows == 1000 &&
	    mdas_limit_find(MDAS_SOURCE_BINANCE, "1m")->weight == 2 &&
	    mdas_limit_find(MDAS_SOURCE_BINANCE, "1m")->lookback_ms == 0,
	    "binance klines: 1000 rows, weight 2, any age");
	tap_ok(mdas_binance_ticker_weight(1) == 2 && mdas_binance_ticker_weight(20) == 2 &&
	    mdas_binance_ticker_weight(21) == 40 && mdas_binance_ticker_weight(100) == 40 &&
	    mdas_binance_ticker_weight(101) == 80, "binance ticker weights 2 / 40 / 80");

	/* 40 days of 1m: 10 days beyond, 30 served in 5 windows. */
	mdas_limit_plan(l, NOW - 40 * MDAS_DAY_MS, NOW, NOW, &p);
	tap_ok(p.beyond && p.served_start == NOW - 30 * MDAS_DAY_MS, "40 days: beyond from 30 days back");
	tap_is_int(p.windows, 5, "30 days in windows of 7: 5");
	prev_end = p.served_start;
	for (k = 0; k < p.windows; k++) {
		mdas_limit_window(&p, k, &ws, &we);
		if (ws != prev_end)
			break;
		covered += we - ws;
		if (we - ws > longest)
			longest = we - ws;
		prev_end = we;
	}
	tap_ok(k == p.windows && prev_end == NOW && covered == 30 * MDAS_DAY_MS,
	    "the windows tile the served part, oldest first, without gap or overlap");
	tap_is_int(longest, 7 * MDAS_DAY_MS, "no window over 7 days");
	mdas_limit_window(&p, 0, &ws, &we);
	tap_is_int(we - ws, 2 * MDAS_DAY_MS, "the oldest window is the short one");

	mdas_limit_plan(l, NOW - 50 * MDAS_DAY_MS, NOW - 35 * MDAS_DAY_MS, NOW, &p);
	tap_ok(p.beyond && p.windows == 0 && p.served_start == p.end,
	    "a period wholly beyond the limit: nothing to ask for");
	mdas_limit_plan(l, NOW - 3600000, NOW, NOW, &p);
	tap_ok(!p.beyond && p.windows == 1, "an hour: one request");
	mdas_limit_plan(mdas_limit_find(MDAS_SOURCE_YAHOO, "1d"), 0, NOW, NOW, &p);
	tap_ok(!p.beyond && p.windows == 1, "daily since 1970: one request");
	tap_ok(mdas_interval_ms("1m") == 60000 && mdas_interval_ms("1wk") == 7 * MDAS_DAY_MS &&
	    mdas_interval_ms("1mo") == 0, "interval lengths");
}

/* Reads text as a marks file of interval 1m; returns the set, counts the
 * bad lines into *bad and keeps the last message. */
static char last_msg[512];

static void
on_bad(void *ctx, const char *msg)
{
	(*(int *)ctx)++;
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static struct mdas_marks *
read_marks(const char *text, int *bad)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct mdas_marks *ms;
	struct mdas_error err;

	*bad = 0;
	last_msg[0] = '\0';
	ms = mdas_marks_read(fp, "marks.ndjson", "1m", on_bad, bad, &err);
	fclose(fp);
	return ms;
}

static void
test_marks(void)
{
	static const struct { const char *line, *why; } bad[] = {
		{ "[1]", "marks.ndjson:1: not a mark (expected a JSON object)" },
		{ "{\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1m\",\"first_ts_ms\":1,\"bars\":1}",
		    "marks.ndjson:1: no last_ts_ms" },
		{ "{\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":\"2\",\"bars\":1}",
		    "marks.ndjson:1: last_ts_ms is not an integer" },
		{ "{\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":2.5,\"bars\":1}",
		    "marks.ndjson:1: last_ts_ms is not an integer" },
		{ "{\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":99999999999999999999,\"bars\":1}",
		    "marks.ndjson:1: last_ts_ms is out of range (expected 0 to 253402300799999)" },
		{ "{\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1m\",\"first_ts_ms\":-1,\"last_ts_ms\":2,\"bars\":1}",
		    "marks.ndjson:1: first_ts_ms is out of range (expected 0 to 253402300799999)" },
		{ "{\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1m\",\"first_ts_ms\":3,\"last_ts_ms\":2,\"bars\":1}",
		    "marks.ndjson:1: first_ts_ms is after last_ts_ms" },
		{ "{\"source\":\"yahoo\",\"symbol\":\"A\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":2,\"bars\":-1}",
		    "marks.ndjson:1: bars is out of range (expected 0 or more)" },
		{ "{\"source\":7,\"symbol\":\"A\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":2,\"bars\":1}",
		    "marks.ndjson:1: source is not a string" },
		{ "{\"source\":\"yahoo\",\"symbol\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":2,\"bars\":1}",
		    "marks.ndjson:1: symbol is longer than 32 bytes" },
		{ "{\"source\":\"yahoo\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":2,\"bars\":1}",
		    "marks.ndjson:1: no symbol" },
	};
	const struct mdas_mark *m;
	struct mdas_marks *ms;
	unsigned long lines, nbad;
	size_t i, kept;
	int nb;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = read_marks(bad[i].line, &nb);
		tap_ok(ms != NULL && nb == 1 && strcmp(last_msg, bad[i].why) == 0,
		    "bad mark %zu: %s", i, bad[i].why);
		if (strcmp(last_msg, bad[i].why) != 0)
			printf("#   got: %s\n", last_msg);
		mdas_marks_free(ms);
	}
	ms = read_marks(
	    "{\"source\":\"binance\",\"symbol\":\"BTCUSDT\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":500,\"bars\":3,\"extra\":true}\r\n"
	    "\n"
	    "{\"source\":\"binance\",\"symbol\":\"BTCUSDT\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":400,\"bars\":3}\n"
	    "{\"source\":\"binance\",\"symbol\":\"BTCUSDT\",\"interval\":\"1d\",\"first_ts_ms\":1,\"last_ts_ms\":100,\"bars\":3}\n"
	    "not json\n"
	    "{\"source\":\"yahoo\",\"symbol\":\"BTCUSDT\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":900,\"bars\":3}\n"
	    "{\"source\":\"kraken\",\"symbol\":\"XBT\",\"interval\":\"1m\",\"first_ts_ms\":1,\"last_ts_ms\":900,\"bars\":3}",
	    &nb);
	tap_ok(ms != NULL, "a marks file with a bad line is read");
	mdas_marks_counts(ms, &lines, &kept, &nbad);
	tap_ok(lines == 7 && kept == 2 && nbad == 1 && nb == 1,
	    "7 lines, 2 series of 1m kept (other interval and unknown source ignored), 1 bad");
	tap_ok(strncmp(last_msg, "marks.ndjson:5: ", 16) == 0, "the bad line is named: %s", last_msg);
	m = mdas_marks_find(ms, MDAS_SOURCE_BINANCE, "BTCUSDT");
	tap_ok(m != NULL && m->last_ts_ms == 400, "two marks of one series: the earlier last_ts_ms");
	m = mdas_marks_find(ms, MDAS_SOURCE_YAHOO, "BTCUSDT");
	tap_ok(m != NULL && m->last_ts_ms == 900, "the source is part of the key");
	tap_ok(mdas_marks_find(ms, MDAS_SOURCE_BINANCE, "ETHUSDT") == NULL, "no mark: NULL");
	mdas_marks_free(ms);
}

static void
test_shard(void)
{
	static const struct { const char *s, *why; } bad[] = {
		{ "0/4", "K must be from 1 to N (4)" }, { "5/4", "K must be from 1 to N (4)" },
		{ "x/y", "expected K/N (shard K of N, e.g. 2/4)" },
		{ "1/0", "N must be from 1 to 65536" }, { "1/4 ", "expected K/N (shard K of N, e.g. 2/4)" },
		{ "+1/4", "expected K/N (shard K of N, e.g. 2/4)" }, { "1/", "expected K/N (shard K of N, e.g. 2/4)" },
		{ "4", "expected K/N (shard K of N, e.g. 2/4)" },
		{ "1/99999999999", "expected K/N (shard K of N, e.g. 2/4)" },
	};
	char why[128], sym[32];
	int k, n, i, count4[4] = { 0 }, moved = 0, ok = 1, s4, s5;
	size_t j;

	tap_ok(mdas_shard_parse("2/4", &k, &n, why, sizeof(why)) == 0 && k == 2 && n == 4, "2/4");
	tap_ok(mdas_shard_parse("1/1", &k, &n, why, sizeof(why)) == 0 && k == 1 && n == 1, "1/1");
	for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		why[0] = '\0';
		tap_ok(mdas_shard_parse(bad[j].s, &k, &n, why, sizeof(why)) < 0 &&
		    strcmp(why, bad[j].why) == 0, "'%s' refused: %s", bad[j].s, why);
	}
	/* The published test vectors of FNV-1a 64. */
	tap_ok(mdas_fnv1a64("", 0) == UINT64_C(0xcbf29ce484222325) &&
	    mdas_fnv1a64("a", 1) == UINT64_C(0xaf63dc4c8601ec8c) &&
	    mdas_fnv1a64("foobar", 6) == UINT64_C(0x85944171f73967e8), "FNV-1a 64 test vectors");
	/* Against the paper's reference code (its C++ loop run in Python). */
	tap_ok(mdas_jump_hash(UINT64_C(1), 1000) == 549 &&
	    mdas_jump_hash(UINT64_C(0xdeadbeef), 65536) == 64244 &&
	    mdas_jump_hash(UINT64_C(123456789012345), 10) == 7, "jump hash reference values");
	tap_ok(mdas_jump_hash(0, 1) == 0 && mdas_jump_hash(UINT64_C(1), 100000) >= 0 &&
	    mdas_jump_hash(UINT64_C(1), 100000) < 100000 &&
	    mdas_jump_hash(UINT64_C(0xffffffffffffffff), 1) == 0, "jump hash in range");

	for (i = 0; i < 1000; i++) {
		snprintf(sym, sizeof(sym), "SYM%03dUSDT", i);
		s4 = mdas_shard_of("binance", sym, 4);
		s5 = mdas_shard_of("binance", sym, 5);
		if (s4 < 1 || s4 > 4 || s5 < 1 || s5 > 5)
			ok = 0;
		else
			count4[s4 - 1]++;
		if (s4 != s5) {
			moved++;
			if (s5 != 5)    /* consistent: only to the new shard */
				ok = 0;
		}
	}
	tap_ok(ok, "every symbol in one shard; 4 -> 5 moves symbols only to shard 5");
	tap_ok(count4[0] + count4[1] + count4[2] + count4[3] == 1000 &&
	    count4[0] > 180 && count4[1] > 180 && count4[2] > 180 && count4[3] > 180,
	    "1000 symbols over 4 shards: %d %d %d %d", count4[0], count4[1], count4[2], count4[3]);
	tap_ok(moved >= 150 && moved <= 250, "4 -> 5 shards moves %d of 1000 (15%% to 25%%)", moved);
	tap_ok(mdas_shard_of("binance", "BTCUSDT", 7) == mdas_shard_of("binance", "BTCUSDT", 7) &&
	    mdas_shard_of("yahoo", "AAPL", 1) == 1, "stable; one shard takes all");
}

int
main(void)
{
	test_limits();
	test_marks();
	test_shard();
	tap_plan(tap_n);
	return tap_done();
}
