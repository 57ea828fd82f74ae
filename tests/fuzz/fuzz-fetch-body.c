/* fuzz-fetch-body.c: mdas-fetch's handling of upstream answers, without
 * the network: src/lib/fetchbody.c (quote batches, charts, tickers,
 * Binance error bodies, kline pages, status and upstream texts) and the
 * crumb check of src/lib/yahoo.c.
 *
 * Input: byte 0 picks the function (FN_* below, modulo FN_COUNT); byte 1
 * the HTTP status (its bits 0-2 index STATUS, modulo its length), the
 * number of symbols (bits 3-4: 1 to 4), the symbol list (bit 5: plain or
 * with case twins and duplicates) and for klines the page limit and end
 * of range (bits 6-7); the rest is the body.  For klines the body is cut
 * into pages at each PAGE_SEP, each page added in turn until the merger
 * says done or failed, as fetch.c does; the first page gets the status
 * of byte 1, the others 200.  For clean-text, byte 1 is the cut length
 * and the output buffer's size.  MDAS_FUZZ_DUMP=FILE writes the body
 * (without the two bytes).  No program replays a fetch body without the
 * network: a finding becomes a case in tests/unit/test-fetch.c.
 *
 * Checked besides the sanitizers: exactly one sink call (data or error)
 * per requested symbol; every code and message is non-empty strict UTF-8
 * without control characters; every data payload serialises to strict
 * UTF-8 JSON; the merged kline rows are arrays of at least 12 values
 * with integer, strictly increasing open times, a failed page adds none
 * and a page asked for starts after the last row; an accepted crumb is
 * a trimmed part of the body, at most MDAS_YAHOO_CRUMB_MAX bytes, with no
 * control character, whitespace or non-ASCII byte; cleaned texts are
 * strict UTF-8 without control characters and within their limits. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fetchbody.h"
#include "fuzz.h"
#include "utf8.h"
#include "yahoo.h"

enum {
	FN_PARSE, FN_YAHOO_QUOTES, FN_YAHOO_CHART, FN_BINANCE_TICKERS,
	FN_BINANCE_ERROR, FN_YAHOO_ERROR_TEXT, FN_KLINES, FN_STATUS_TEXT,
	FN_CLEAN_TEXT, FN_CRUMB, FN_COUNT
};

static const long STATUS[] = { 200, 400, 401, 404, 418, 429, 500 };
#define NSTATUS (sizeof(STATUS) / sizeof(STATUS[0]))

static const char *const YAHOO_SYMS[] = { "AAPL", "BABA", "MSFT", "SI=F" };
static const char *const YAHOO_TWINS[] = { "AAPL", "aapl", "AAPL", "BABA" };
static const char *const BINANCE_SYMS[] = { "BTCUSDT", "BNBBTC", "LTCBTC", "ETHUSDT" };
static const char *const BINANCE_TWINS[] = { "BTCUSDT", "btcusdt", "BTCUSDT", "BNBBTC" };
#define MAXSYMS 4

/* Between kline pages. */
#define PAGE_SEP "\n--page--\n"
static const int PAGE_LIMIT[] = { 1000, 1, 2, 3 };
/* With limit 2 the range ends at the 5th open time of the recorded
 * klines fixture (1634943780000 + 4 minutes): full pages past it end the
 * series. */
static const int64_t END_MS[] = { INT64_MAX, INT64_MAX, 1634944020000LL, INT64_MAX };

#define URL "https://api.binance.com/api/v3/x?symbol=BTCUSDT"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

static int
is_control(uint32_t cp)
{
	return mdas_utf8_is_control(cp);
}

/* s is non-empty (when nonempty), strict UTF-8, without control
 * characters, and shorter than max bytes. */
static void
assert_text(const char *what, const char *s, int nonempty, size_t max)
{
	size_t len, at;

	FUZZ_ASSERT(s != NULL, "%s is NULL", what);
	len = strlen(s);
	FUZZ_ASSERT(!nonempty || len > 0, "%s is empty", what);
	FUZZ_ASSERT(len < max, "%s is %zu bytes, more than %zu: %.80s", what, len, max - 1, s);
	if (!fuzz_utf8_checked())
		return;
	at = mdas_utf8_invalid_at(s, len);
	FUZZ_ASSERT(at == len, "%s is not strict UTF-8 at byte %zu: %.200s", what, at, s);
	at = mdas_utf8_scan(s, len, is_control);
	FUZZ_ASSERT(at == len, "%s holds a control character at byte %zu: %.200s", what, at, s);
}

static void
assert_payload(struct json_object *payload)
{
	const char *s;

	FUZZ_ASSERT(payload != NULL, "data with a NULL payload");
	s = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN);
	FUZZ_ASSERT(s != NULL, "the payload does not serialise");
	fuzz_assert_json("a data payload", s, strlen(s));
}

/* ---- the sink ----------------------------------------------------------- */

struct calls {
	size_t n;
	unsigned got[MAXSYMS];
};

static void
on_data(void *ctx, size_t k, struct json_object *payload)
{
	struct calls *c = ctx;

	FUZZ_ASSERT(k < c->n, "data for symbol %zu of %zu", k, c->n);
	c->got[k]++;
	assert_payload(payload);
}

static void
on_error(void *ctx, size_t k, const char *code, const char *message)
{
	struct calls *c = ctx;

	FUZZ_ASSERT(k < c->n, "an error for symbol %zu of %zu", k, c->n);
	c->got[k]++;
	if (code != NULL)
		assert_text("an error code", code, 1, MDAS_BODY_MSG_MAX);
	assert_text("an error message", message, 1, MDAS_BODY_MSG_MAX);
}

static void
assert_once(const struct calls *c, const char *fn)
{
	size_t k;

	for (k = 0; k < c->n; k++)
		FUZZ_ASSERT(c->got[k] == 1, "%s: %u sink calls for symbol %zu of %zu",
		    fn, c->got[k], k, c->n);
}

/* ---- klines --------------------------------------------------------------- */

/* Every row an array of at least 12 values, open times integers and
 * strictly increasing. */
static void
assert_rows(struct json_object *rows)
{
	struct json_object *row, *open;
	int64_t last = INT64_MIN, t;
	size_t i, n;

	FUZZ_ASSERT(json_object_is_type(rows, json_type_array), "the merged rows are not an array");
	n = json_object_array_length(rows);
	for (i = 0; i < n; i++) {
		row = json_object_array_get_idx(rows, i);
		FUZZ_ASSERT(json_object_is_type(row, json_type_array) &&
		    json_object_array_length(row) >= 12, "merged row %zu is not an array of 12", i);
		open = json_object_array_get_idx(row, 0);
		FUZZ_ASSERT(json_object_is_type(open, json_type_int),
		    "merged row %zu has an open time that is not an integer", i);
		t = json_object_get_int64(open);
		FUZZ_ASSERT(i == 0 || t > last, "merged row %zu: open time %lld after %lld",
		    i, (long long)t, (long long)last);
		last = t;
	}
	assert_payload(rows);
}

static void
klines(uint8_t sel, long status, const char *body, size_t len)
{
	const int limit = PAGE_LIMIT[sel >> 6];
	struct mdas_klines *m;
	struct json_object *rows;
	const char *page = body, *end = body + len, *sep, *code;
	char msg[MDAS_BODY_MSG_MAX];
	size_t plen, before, after;
	int64_t next, last_open;
	int rc = MDAS_KLINES_MORE, pages = 0;

	if ((m = mdas_klines_new(END_MS[sel >> 6], limit)) == NULL)
		abort();
	while (rc == MDAS_KLINES_MORE) {
		sep = memmem(page, (size_t)(end - page), PAGE_SEP, sizeof(PAGE_SEP) - 1);
		plen = sep != NULL ? (size_t)(sep - page) : (size_t)(end - page);
		before = json_object_array_length(mdas_klines_rows(m));
		next = -1;
		code = NULL;
		msg[0] = '\0';
		rc = mdas_klines_add(m, pages == 0 ? status : 200, page, plen, URL, &next,
		    &code, msg, sizeof(msg));
		rows = mdas_klines_rows(m);
		after = json_object_array_length(rows);
		assert_rows(rows);
		last_open = after > 0 ? json_object_get_int64(json_object_array_get_idx(
		    json_object_array_get_idx(rows, after - 1), 0)) : INT64_MIN;
		switch (rc) {
		case MDAS_KLINES_FAILED:
			if (code != NULL)
				assert_text("a klines error code", code, 1, MDAS_BODY_MSG_MAX);
			assert_text("a klines error message", msg, 1, sizeof(msg));
			FUZZ_ASSERT(after == before || (code != NULL && strcmp(code, "too_large") == 0),
			    "a failed klines page added %zu rows", after - before);
			break;
		case MDAS_KLINES_MORE:
			pages++;
			FUZZ_ASSERT(after > before && after - before >= (size_t)limit,
			    "more asked for after a page of %zu rows (limit %d)", after - before, limit);
			FUZZ_ASSERT(next == last_open + 1, "the next page starts at %lld, the last row at %lld",
			    (long long)next, (long long)last_open);
			break;
		case MDAS_KLINES_DONE:
			pages++;
			break;
		default:
			FUZZ_ASSERT(0, "mdas_klines_add returned %d", rc);
		}
		FUZZ_ASSERT(mdas_klines_pages(m) == pages, "%d pages counted, %d taken",
		    mdas_klines_pages(m), pages);
		if (sep == NULL)
			break;
		page = sep + sizeof(PAGE_SEP) - 1;
	}
	mdas_klines_free(m);
}

/* ---- the crumb ------------------------------------------------------------ */

static void
crumb(long status, const char *body, size_t len)
{
	char c[MDAS_YAHOO_CRUMB_MAX + 1 + 16];
	const char *why = NULL;
	size_t i, cl;

	memset(c, 0x55, sizeof(c));
	if (mdas_yahoo_crumb_check(status, body, len, c, &why) != 0) {
		assert_text("the crumb refusal", why, 1, MDAS_BODY_MSG_MAX);
		return;
	}
	FUZZ_ASSERT(status == 200, "a crumb accepted from HTTP %ld", status);
	cl = strnlen(c, sizeof(c));
	FUZZ_ASSERT(cl > 0 && cl <= MDAS_YAHOO_CRUMB_MAX, "an accepted crumb of %zu bytes", cl);
	for (i = 0; i < cl; i++) {
		unsigned char b = (unsigned char)c[i];

		FUZZ_ASSERT(b > ' ' && b < 0x7f, "an accepted crumb with byte 0x%02x at %zu", b, i);
	}
	FUZZ_ASSERT(memmem(body, len, c, cl) != NULL, "an accepted crumb that is not in the body");
	for (i = MDAS_YAHOO_CRUMB_MAX + 1; i < sizeof(c); i++)
		FUZZ_ASSERT((unsigned char)c[i] == 0x55,
		    "the crumb check wrote past its buffer (byte %zu)", i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[MDAS_BODY_MSG_MAX], why[MDAS_BODY_MSG_MAX];
	const char *const *syms;
	struct calls c;
	struct mdas_body_sink sink = { on_data, on_error, &c };
	struct json_object *o;
	const char *body;
	uint8_t fn, sel;
	size_t len, max, n;
	int64_t code;
	long status;
	char *copy;

	if (size < 2)
		return 0;
	fn = data[0] % FN_COUNT;
	sel = data[1];
	status = STATUS[(sel & 7) % NSTATUS];
	len = size - 2;
	/* An exact copy, so ASan sees any read past the body. */
	if ((copy = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(copy, data + 2, len);
	body = copy;
	fuzz_dump(body, len);
	memset(&c, 0, sizeof(c));
	c.n = 1 + ((sel >> 3) & 3);

	switch (fn) {
	case FN_PARSE:
		why[0] = '\0';
		if ((o = mdas_body_parse(body, len, why, sizeof(why))) != NULL) {
			assert_payload(o);
			json_object_put(o);
		} else
			assert_text("the parse failure", why, 1, sizeof(why));
		break;
	case FN_YAHOO_QUOTES:
		syms = sel & 0x20 ? YAHOO_TWINS : YAHOO_SYMS;
		mdas_body_yahoo_quotes(status, body, len, syms, c.n, &sink);
		assert_once(&c, "yahoo quotes");
		break;
	case FN_YAHOO_CHART:
		c.n = 1;
		mdas_body_yahoo_chart(status, body, len, &sink);
		assert_once(&c, "yahoo chart");
		break;
	case FN_BINANCE_TICKERS:
		syms = sel & 0x20 ? BINANCE_TWINS : BINANCE_SYMS;
		mdas_body_binance_tickers(status, body, len, URL, syms, c.n, &sink);
		assert_once(&c, "binance tickers");
		break;
	case FN_BINANCE_ERROR:
		buf[0] = '\0';
		if (mdas_body_binance_error(body, len, &code, buf, sizeof(buf)))
			assert_text("a Binance error msg", buf, 0, MDAS_BODY_QUOTE_MAX + 4);
		break;
	case FN_YAHOO_ERROR_TEXT:
		buf[0] = '\0';
		if (mdas_body_yahoo_error_text(body, len, sel & 1 ? "chart" : "finance", buf,
		    sizeof(buf)))
			assert_text("a Yahoo error description", buf, 0, MDAS_BODY_QUOTE_MAX + 4);
		break;
	case FN_KLINES:
		klines(sel, status, body, len);
		break;
	case FN_STATUS_TEXT:
		buf[0] = '\0';
		mdas_body_status_text(status, body, len, buf, sizeof(buf));
		assert_text("a status text", buf, 1, sizeof(buf));
		break;
	case FN_CLEAN_TEXT:
		/* Cut length 0..63, buffer 1..64 bytes (byte 1). */
		max = sel & 63;
		n = 1 + (size_t)((sel >> 2) & 63);
		memset(buf, 0x55, sizeof(buf));
		mdas_body_clean_text(body, len, max, buf, n);
		FUZZ_ASSERT(memchr(buf, '\0', n) != NULL, "clean text not terminated in its %zu bytes", n);
		assert_text("a clean text", buf, 0, max + 4);
		for (size_t i = n; i < sizeof(buf); i++)
			FUZZ_ASSERT((unsigned char)buf[i] == 0x55, "clean text wrote byte %zu of %zu", i, n);
		break;
	case FN_CRUMB:
		crumb(status, body, len);
		break;
	}
	free(copy);
	return 0;
}
