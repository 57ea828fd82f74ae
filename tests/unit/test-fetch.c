/* Unit tests of mdas-fetch's library parts: source detection, symbol
 * validation, URL building and escaping, the crumb check, backoff and
 * Retry-After. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "binance.h"
#include "http.h"
#include "symbol.h"
#include "tap.h"
#include "yahoo.h"

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

int
main(void)
{
	struct mdas_error err;
	enum mdas_source src;
	char buf[64], sym[MDAS_SYMBOL_MAX + 1], *u;
	const char *two[] = { "BTCUSDT", "ETHUSDT" }, *ys[] = { "AAPL", "^GSPC" };
	double d;

	tap_plan(46);
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
	return tap_done();
}
