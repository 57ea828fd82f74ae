/* Unit tests of mdas-fetch's library parts: source detection, symbol
 * validation, URL building and escaping, the crumb check, backoff and
 * Retry-After, and the body functions of fetchbody.c (no network). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "binance.h"
#include "fetchbody.h"
#include "http.h"
#include "symbol.h"
#include "tap.h"
#include "utf8.h"
#include "yahoo.h"

static size_t
arr_len_of(struct json_object *a)
{
	return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static void
resolve(const char *spec, enum mdas_source force, const char *want_src,
    const char *want_sym)
{
	enum mdas_source src;
	char sym[MDAS_SYMBOL_MAX + 1];
	struct mdas_error err;

	if (mdas_symbol_resolve(spec, force, &src, sym, &err) < 0) {
		tap_ok(want_src == NULL, "%s rejected: %s", spec, err.msg);
		return;
	}
	if (want_src == NULL) {
		tap_ok(0, "%s should be rejected", spec);
		return;
	}
	tap_ok(strcmp(mdas_source_name(src), want_src) == 0 && strcmp(sym, want_sym) == 0,
	    "%s -> %s:%s (got %s:%s)", spec, want_src, want_sym, mdas_source_name(src), sym);
}

static void
crumb(long status, const char *body, const char *want)
{
	char c[MDAS_YAHOO_CRUMB_MAX + 1];
	const char *why = "";
	int rc = mdas_yahoo_crumb_check(status, body, strlen(body), c, &why);

	if (want == NULL)
		tap_ok(rc < 0, "crumb '%.20s' (HTTP %ld) rejected: %s", body, status, why);
	else
		tap_ok(rc == 0 && strcmp(c, want) == 0, "crumb '%s' accepted", want);
}

/* A sink that writes what it gets as "k:data:SYM;" or "k:CODE:MESSAGE;". */
struct rec {
	char buf[4096];
};

static void
rec_data(void *ctx, size_t k, struct json_object *payload)
{
	struct rec *r = ctx;
	struct json_object *s;
	size_t l = strlen(r->buf);

	snprintf(r->buf + l, sizeof(r->buf) - l, "%zu:data:%s;", k,
	    json_object_object_get_ex(payload, "symbol", &s) ? json_object_get_string(s) : "-");
}

static void
rec_error(void *ctx, size_t k, const char *code, const char *msg)
{
	struct rec *r = ctx;
	size_t l = strlen(r->buf);

	snprintf(r->buf + l, sizeof(r->buf) - l, "%zu:%s:%s;", k, code ? code : "null", msg);
}

#define SINK(r) (&(struct mdas_body_sink){ rec_data, rec_error, (r) })

static const char *
quotes(long status, const char *body, const char *const *syms, size_t n)
{
	static struct rec r;

	r.buf[0] = '\0';
	mdas_body_yahoo_quotes(status, body, strlen(body), syms, n, SINK(&r));
	return r.buf;
}

static const char *
chart(long status, const char *body)
{
	static struct rec r;

	r.buf[0] = '\0';
	mdas_body_yahoo_chart(status, body, strlen(body), SINK(&r));
	return r.buf;
}

static const char *
tickers(long status, const char *body, const char *const *syms, size_t n)
{
	static struct rec r;

	r.buf[0] = '\0';
	mdas_body_binance_tickers(status, body, strlen(body), "http://h.example:8/api/v3/x?y",
	    syms, n, SINK(&r));
	return r.buf;
}

static int
utf8_bad_at(const char *s, size_t len)
{
	size_t bad = mdas_utf8_invalid_at(s, len);

	return bad == len ? -1 : (int)bad;
}

static const char *
parse_why(const char *body, size_t len)
{
	static char why[MDAS_BODY_MSG_MAX];
	struct json_object *o = mdas_body_parse(body, len, why, sizeof(why));

	if (o != NULL) {
		json_object_put(o);
		return "ok";
	}
	return why;
}

/* One klines page: "MORE <next>", "DONE" or "FAILED <code>: <msg>". */
static const char *
kpage(struct mdas_klines *m, long status, const char *body)
{
	static char out[MDAS_BODY_MSG_MAX + 64];
	char msg[MDAS_BODY_MSG_MAX];
	const char *code = NULL;
	int64_t next = -1;

	switch (mdas_klines_add(m, status, body, strlen(body), "http://h/api", &next, &code,
	    msg, sizeof(msg))) {
	case MDAS_KLINES_MORE: snprintf(out, sizeof(out), "MORE %lld", (long long)next); break;
	case MDAS_KLINES_DONE: snprintf(out, sizeof(out), "DONE"); break;
	case MDAS_KLINES_FAILED:
		snprintf(out, sizeof(out), "FAILED %s: %s", code ? code : "null", msg);
		break;
	default: snprintf(out, sizeof(out), "NOMEM"); break;
	}
	return out;
}

#define ROW(t) "[" #t ",\"1\",\"2\",\"0.5\",\"1.5\",\"10\"," #t "999,\"15\",3,\"5\",\"7\",\"0\"]"

static void
test_body(void)
{
	const char *ab[] = { "AAPL", "BABA" }, *one[] = { "BTCUSDT" }, *two[] = { "A", "B" };
	char txt[64], msg[MDAS_BODY_MSG_MAX];
	struct mdas_klines *m;
	int64_t code;
	int i;
	const char *r = "";

	/* Strict UTF-8. */
	tap_is_int(utf8_bad_at("plain", 5), -1, "ASCII is valid UTF-8");
	tap_is_int(utf8_bad_at("caf\xc3\xa9 \xf0\x9f\x92\xb6", 10), -1, "two- and four-byte forms are valid");
	tap_is_int(utf8_bad_at("ab\xed\xa0\x80", 5), 2, "a surrogate (ed a0 80) is not");
	tap_is_int(utf8_bad_at("\xc0\xaf", 2), 0, "an overlong two-byte form is not");
	tap_is_int(utf8_bad_at("x\xe0\x80\xaf", 4), 1, "an overlong three-byte form is not");
	tap_is_int(utf8_bad_at("\xf4\x90\x80\x80", 4), 0, "past U+10FFFF is not");
	tap_is_int(utf8_bad_at("ab\xe2\x82", 4), 2, "a sequence cut short is not");
	tap_is_int(utf8_bad_at("\xff", 1), 0, "0xff is not");

	/* Parsing. */
	tap_is_str(parse_why("{\"a\":[1]}\n", 10), "ok", "a JSON object parses");
	tap_is_str(parse_why(" \r\n", 3), "empty body instead of JSON", "blank body");
	tap_is_str(parse_why("<html>", 6), "HTML instead of JSON", "HTML");
	tap_is_str(parse_why("Too Many Requests\r\nmore", 23), "text instead of JSON: \"Too Many Requests\"",
	    "text: its first line");
	tap_is_str(parse_why("Edge\x1b[31m", 9), "text instead of JSON: \"Edge?[31m\"",
	    "text: control characters are not quoted");
	tap_is_str(parse_why("[1,2", 4), "truncated JSON", "truncated");
	tap_is_str(parse_why("[1] x", 5), "malformed JSON (unexpected character)", "text after the value");
	tap_is_str(parse_why("[1]\0[2]", 7), "malformed JSON (text after the value)", "a NUL after the value");
	tap_is_str(parse_why("[\"\xed\xa0\x80\"]", 6), "invalid UTF-8 (at byte 2)", "a surrogate in a string");

	/* Text for messages. */
	mdas_body_clean_text("a\nb\tc\x7f\xc2\x85\xff\xc3\xa9", 11, 100, txt, sizeof(txt));
	tap_is_str(txt, "a?b?c???\xc3\xa9", "controls (C0, DEL, C1) and bad bytes become '?', UTF-8 stays");
	mdas_body_clean_text("abcdefgh", 8, 4, txt, sizeof(txt));
	tap_is_str(txt, "abcd...", "cut at max with ...");
	mdas_body_clean_text("\xc3\xa9\xc3\xa9\xc3\xa9", 6, 3, txt, sizeof(txt));
	tap_is_str(txt, "\xc3\xa9...", "cut at a character boundary");
	mdas_utf8_replace("A\xff" "B\n", 4, txt, sizeof(txt), NULL);
	tap_is_str(txt, "A\xef\xbf\xbd" "B\n", "utf8_copy: bad bytes become U+FFFD, controls stay");

	/* Yahoo quote answers. */
	tap_is_str(quotes(200, "{\"quoteResponse\":{\"result\":[{\"symbol\":\"aapl\",\"p\":1}],\"error\":null}}", ab, 2),
	    "0:data:aapl;1:Not Found:no such symbol (missing from the quote response);",
	    "quotes: matched ignoring case; a missing symbol is Not Found");
	tap_is_str(quotes(200, "{\"quoteResponse\":{\"result\":[1],\"error\":null}}", ab, 2),
	    "0:bad_response:unexpected JSON: quoteResponse.result[0] is not an object with a \"symbol\" string;"
	    "1:bad_response:unexpected JSON: quoteResponse.result[0] is not an object with a \"symbol\" string;",
	    "quotes: result [1] fails every symbol, no assertion");
	tap_is_str(quotes(200, "[[[]]]", ab, 1), "0:bad_response:JSON without quoteResponse.result;",
	    "quotes: an array body");
	tap_is_str(quotes(401, "{\"finance\":{\"result\":null,\"error\":{\"code\":\"Unauthorized\","
	    "\"description\":\"Invalid\\nCrumb\"}}}", ab, 1), "0:Unauthorized:Invalid?Crumb;",
	    "quotes: Yahoo's error envelope, its description cleaned");
	tap_is_str(quotes(429, "Too Many Requests", ab, 1), "0:null:HTTP 429: Too Many Requests;",
	    "quotes: a text answer with a status");
	tap_is_str(quotes(200, "{\"finance\":{\"error\":[]}}", ab, 1),
	    "0:bad_response:JSON without quoteResponse.result;", "quotes: an error that is not an object");

	/* Yahoo charts. */
	tap_is_str(chart(200, "{\"chart\":{\"result\":[{\"meta\":{}}],\"error\":null}}"), "0:data:-;",
	    "chart: meta without bars is data");
	tap_is_str(chart(200, "{\"chart\":{\"result\":[],\"error\":null}}"),
	    "0:bad_response:JSON without chart.result;", "chart: an empty result");
	tap_is_str(chart(200, "{\"chart\":{\"result\":[[1]],\"error\":null}}"),
	    "0:bad_response:unexpected JSON: chart.result[0] is an array of 1 value, not an object;",
	    "chart: result[0] an array");
	tap_is_str(chart(200, "{\"chart\":\"x\"}"), "0:bad_response:JSON without chart.result;",
	    "chart: chart a string");
	tap_is_str(chart(404, "{\"chart\":{\"result\":null,\"error\":{\"code\":\"Not Found\"}}}"),
	    "0:Not Found:error without a description;", "chart: an error without a description");

	/* Binance tickers and error bodies. */
	tap_is_str(tickers(200, "[{\"symbol\":\"B\"},{\"symbol\":\"C\"}]", two, 2),
	    "0:Not Found:no such symbol (missing from the ticker response);1:data:B;",
	    "tickers: an array split by symbol");
	tap_is_str(tickers(200, "{\"symbol\":\"BTCUSDT\"}", one, 1), "0:data:BTCUSDT;", "tickers: one object");
	tap_is_str(tickers(200, "{\"symbol\":\"ETHUSDT\"}", one, 1),
	    "0:Not Found:no such symbol (missing from the ticker response);", "tickers: another symbol's object");
	tap_is_str(tickers(200, "{\"symbol\":7}", one, 1),
	    "0:bad_response:unexpected JSON: ticker object without a \"symbol\" string;", "tickers: symbol a number");
	tap_is_str(tickers(200, "[{\"symbol\":\"A\"},[]]", two, 2),
	    "0:bad_response:unexpected JSON: ticker answer element 1 is not an object with a \"symbol\" string;"
	    "1:bad_response:unexpected JSON: ticker answer element 1 is not an object with a \"symbol\" string;",
	    "tickers: an element that is not an object");
	tap_is_str(tickers(200, "\"str\"", one, 1), "0:bad_response:text instead of JSON: \"\"str\"\";",
	    "tickers: a JSON string");
	tap_is_str(tickers(400, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", one, 1),
	    "0:-1121:Invalid symbol.;", "tickers: Binance's error body");
	tap_is_str(tickers(451, "{\"code\":0,\"msg\":\"restricted\"}", one, 1),
	    "0:0:HTTP 451: h.example:8 refuses this location (restricted); set data_sources.binance.base_url "
	    "(or MDAS_BINANCE_BASE_URL) to a Binance host that serves your location;", "tickers: 451 names the host");
	tap_ok(mdas_body_binance_error("{\"code\":-1003,\"msg\":\"a\\u001bb\"}", 31, &code, msg, sizeof(msg)) &&
	    code == -1003 && strcmp(msg, "a?b") == 0, "binance error body read, msg cleaned");
	tap_ok(!mdas_body_binance_error("{\"code\":\"-1\",\"msg\":\"x\"}", 23, &code, msg, sizeof(msg)) &&
	    !mdas_body_binance_error("[1]", 3, &code, msg, sizeof(msg)) &&
	    !mdas_body_binance_error("", 0, &code, msg, sizeof(msg)), "not error bodies: code a string, an array, empty");

	/* Empty upstream texts (found by the fetch-body fuzz target): an
	 * error record's code is a code or null, its message never empty. */
	tap_is_str(quotes(401, "{\"finance\":{\"result\":null,\"error\":{\"code\":\"\",\"description\":\"\"}}}",
	    ab, 2), "0:null:error without a description;1:null:error without a description;",
	    "quotes: Yahoo's error with an empty code and description");
	tap_is_str(chart(404, "{\"chart\":{\"result\":null,\"error\":{\"code\":\"\",\"description\":\"\"}}}"),
	    "0:null:error without a description;", "chart: Yahoo's error with an empty code and description");
	tap_is_str(tickers(400, "{\"code\":-1100,\"msg\":\"\"}", one, 1), "0:-1100:error without a message;",
	    "tickers: Binance's error body with an empty msg");
	tap_ok(mdas_body_binance_error("{\"code\":-1,\"msg\":\"\"}", 20, &code, msg, sizeof(msg)) &&
	    code == -1 && strcmp(msg, "error without a message") == 0, "binance error body with an empty msg");
	tap_ok(!mdas_body_yahoo_error_text("{\"finance\":{\"error\":{\"description\":\"\"}}}", 40, "finance",
	    msg, sizeof(msg)), "yahoo error text: an empty description is none");

	/* Kline pages. */
	m = mdas_klines_new(5000, 2);
	tap_is_str(kpage(m, 200, "[" ROW(1000) "," ROW(2000) "]"), "MORE 2001", "klines: a full page asks for more");
	tap_is_str(kpage(m, 200, "[" ROW(3000) "]"), "DONE", "klines: a short page ends the series");
	tap_is_int(arr_len_of(mdas_klines_rows(m)), 3, "klines: three rows merged");
	tap_is_int(mdas_klines_pages(m), 2, "klines: two pages");
	tap_is_str(kpage(m, 200, "[" ROW(3000) "]"), "FAILED bad_response: unexpected JSON: klines open times do not increase (row 3)",
	    "klines: a page that goes back fails");
	tap_is_int(arr_len_of(mdas_klines_rows(m)), 3, "klines: a failed page adds nothing");
	mdas_klines_free(m);
	m = mdas_klines_new(5000, 2);
	tap_is_str(kpage(m, 200, "[]"), "DONE", "klines: [] is an empty series, not a failure");
	tap_is_int(arr_len_of(mdas_klines_rows(m)), 0, "klines: no rows");
	tap_is_str(kpage(m, 200, "[1,2,3]"), "FAILED bad_response: unexpected JSON: klines row 0 is an integer, not an array of 12 values",
	    "klines: [1,2,3]");
	tap_is_str(kpage(m, 200, "{\"a\":1}"), "FAILED bad_response: unexpected JSON: the klines answer is an object, not an array",
	    "klines: an object");
	tap_is_str(kpage(m, 200, "[[1,\"x\"]]"), "FAILED bad_response: unexpected JSON: klines row 0 is an array of 2 values, not an array of 12 values",
	    "klines: a short row");
	tap_is_str(kpage(m, 200, "[[\"1\",2,3,4,5,6,7,8,9,10,11,12]]"),
	    "FAILED bad_response: unexpected JSON: klines row 0 has an open time that is a string, not an integer",
	    "klines: an open time as a string");
	tap_is_str(kpage(m, 429, "{\"code\":-1003,\"msg\":\"Too much request weight used\"}"),
	    "FAILED -1003: Too much request weight used", "klines: Binance's error body");
	tap_is_str(kpage(m, 429, "{\"code\":-1003,\"msg\":\"\"}"), "FAILED -1003: error without a message",
	    "klines: Binance's error body with an empty msg");
	tap_is_str(kpage(m, 502, "<html>"), "FAILED null: HTTP 502: HTML instead of JSON", "klines: 502 with HTML");
	tap_is_str(kpage(m, 200, "[" ROW(6000) "," ROW(7000) "]"), "DONE",
	    "klines: a full page past the end of the range ends it");
	mdas_klines_free(m);
	m = mdas_klines_new(INT64_MAX, 1);
	for (i = 0; i < MDAS_KLINES_MAX_PAGES; i++) {
		char page[200];

		snprintf(page, sizeof(page), "[[%d,\"1\",\"1\",\"1\",\"1\",\"1\",2,\"1\",1,\"1\",\"1\",\"0\"]]", i + 1);
		r = kpage(m, 200, page);
		if (strncmp(r, "MORE", 4) != 0)
			break;
	}
	tap_is_str(r, "FAILED too_large: more than 10000 pages of klines; ask for a shorter range",
	    "klines: the page cap is an error, not a silent cut");
	tap_is_int(i, MDAS_KLINES_MAX_PAGES - 1, "klines: at page 10000");
	mdas_klines_free(m);
	mdas_klines_free(NULL);
}

int
main(void)
{
	struct mdas_error err;
	enum mdas_source src;
	char buf[64], sym[MDAS_SYMBOL_MAX + 1], *u;
	const char *two[] = { "BTCUSDT", "ETHUSDT" }, *ys[] = { "AAPL", "^GSPC" };
	double d;

	tap_plan(111);
	/* Detection. */
	resolve("BTCUSDT", MDAS_SOURCE_AUTO, "binance", "BTCUSDT");
	resolve("ETHBTC", MDAS_SOURCE_AUTO, "binance", "ETHBTC");
	resolve("BNBFDUSD", MDAS_SOURCE_AUTO, "binance", "BNBFDUSD");
	resolve("BTCEUR", MDAS_SOURCE_AUTO, "binance", "BTCEUR");
	resolve("AAPL", MDAS_SOURCE_AUTO, "yahoo", "AAPL");
	resolve("BRK-B", MDAS_SOURCE_AUTO, "yahoo", "BRK-B");
	resolve("^GSPC", MDAS_SOURCE_AUTO, "yahoo", "^GSPC");
	resolve("EURUSD=X", MDAS_SOURCE_AUTO, "yahoo", "EURUSD=X");
	resolve("GC=F", MDAS_SOURCE_AUTO, "yahoo", "GC=F");
	resolve("BTC-USD", MDAS_SOURCE_AUTO, "yahoo", "BTC-USD");
	resolve("OCDO.L", MDAS_SOURCE_AUTO, "yahoo", "OCDO.L");
	resolve("USDT", MDAS_SOURCE_AUTO, "yahoo", "USDT");
	resolve("btcusdt", MDAS_SOURCE_AUTO, "yahoo", "btcusdt");
	/* Prefixes and --source. */
	resolve("binance:btcusdt", MDAS_SOURCE_AUTO, "binance", "BTCUSDT");
	resolve("yahoo:BTCUSDT", MDAS_SOURCE_AUTO, "yahoo", "BTCUSDT");
	resolve("AAPL", MDAS_SOURCE_BINANCE, "binance", "AAPL");
	resolve("yahoo:ETHUSDT", MDAS_SOURCE_BINANCE, "yahoo", "ETHUSDT");
	/* Rejections. */
	resolve("AA PL", MDAS_SOURCE_AUTO, NULL, NULL);
	resolve("AAPL&crumb=x", MDAS_SOURCE_AUTO, NULL, NULL);
	resolve("../etc", MDAS_SOURCE_AUTO, NULL, NULL);
	resolve("binance:BTC-USDT", MDAS_SOURCE_AUTO, NULL, NULL);
	resolve("kraken:XBT", MDAS_SOURCE_AUTO, NULL, NULL);
	resolve("yahoo:", MDAS_SOURCE_AUTO, NULL, NULL);
	resolve("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", MDAS_SOURCE_AUTO, NULL, NULL);
	tap_ok(mdas_symbol_resolve("A%41", MDAS_SOURCE_AUTO, &src, sym, &err) < 0 &&
	    strcmp(err.msg, "character '%' not allowed in a yahoo symbol "
	    "(allowed: letters, digits, '.', '-', '^', '=')") == 0, "the message names the character");

	/* Escaping. */
	mdas_url_escape("^GSPC", buf, sizeof(buf));
	tap_is_str(buf, "%5EGSPC", "^ is escaped");
	mdas_url_escape("EURUSD=X", buf, sizeof(buf));
	tap_is_str(buf, "EURUSD%3DX", "= is escaped");
	mdas_url_escape("a/b+c", buf, sizeof(buf));
	tap_is_str(buf, "a%2Fb%2Bc", "crumb characters are escaped");
	tap_is_int(mdas_url_escape("^^^^", buf, 12), -1, "too long for the buffer: -1");

	/* URLs. */
	u = mdas_binance_ticker_url("http://h", two, 2);
	tap_is_str(u, "http://h/api/v3/ticker/24hr?symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D",
	    "Binance batch URL");
	free(u);
	u = mdas_yahoo_quote_url("http://h", ys, 2, "ab/c");
	tap_is_str(u, "http://h/v7/finance/quote?symbols=AAPL,%5EGSPC&crumb=ab%2Fc", "Yahoo quote URL");
	free(u);
	tap_is_str(mdas_binance_interval("1mo"), "1M", "1mo is 1M on Binance");
	tap_ok(mdas_binance_interval("90m") == NULL, "90m does not exist on Binance");

	/* The crumb check. */
	crumb(200, "mloUP8q7ZPH", "mloUP8q7ZPH");
	crumb(200, "ab/cd.ef\n", "ab/cd.ef");
	crumb(429, "Edge: Too Many Requests", NULL);
	crumb(200, "Too Many Requests", NULL);
	crumb(200, "<!DOCTYPE html><html>", NULL);
	crumb(200, "", NULL);
	crumb(200, "0123456789012345678901234567890123456789012345678901234567890123456789", NULL);
	crumb(200, "{\"finance\":null}", NULL);

	/* Backoff and Retry-After. */
	tap_ok(mdas_http_backoff_ms(0.5, 60, 1, 0.999) < 500 &&
	    mdas_http_backoff_ms(0.5, 60, 3, 0.999) > 1900, "backoff doubles");
	tap_ok(mdas_http_backoff_ms(0.5, 3, 10, 0.999) <= 3000, "backoff capped by max-wait");
	tap_ok(mdas_http_parse_retry_after("2", 0) == 2, "Retry-After: 2");
	d = mdas_http_parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480);
	tap_ok(d == 10, "Retry-After as an HTTP date (%g)", d);
	tap_ok(mdas_http_parse_retry_after("soon", 0) < 0, "Retry-After: garbage ignored");

	test_body();
	return tap_done();
}
