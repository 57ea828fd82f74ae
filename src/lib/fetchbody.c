/* fetchbody.c: upstream answers to per-symbol outcomes (see fetchbody.h).
 *
 * json-c asserts when an array function meets something that is not an
 * array, so every read of a body goes through jsonget.h, which answers 0
 * and NULL for a value of another shape.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "binance.h"
#include "fetchbody.h"
#include "jsonget.h"
#include "utf8.h"
#include "yahoo.h"

/* "a string", "an array of 2 values": what a value is, for messages. */
static const char *
what_is(struct json_object *v, char *buf, size_t n)
{
	size_t l;

	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a fractional number";
	case json_type_int: return "an integer";
	case json_type_string: return "a string";
	case json_type_object: return "an object";
	case json_type_array:
		l = json_object_array_length(v);
		snprintf(buf, n, "an array of %zu value%s", l, l == 1 ? "" : "s");
		return buf;
	}
	return "something else";
}

/* The index of the first element of array a that is not an object with
 * a "symbol" string, or the length of a when every element is one. */
static size_t
without_symbol(struct json_object *a)
{
	size_t i, n = mdas_json_len(a);

	for (i = 0; i < n; i++)
		if (mdas_json_any_str(mdas_json_at(a, i), "symbol") == NULL)
			break;
	return i;
}

static void
fail_all(const struct mdas_body_sink *s, size_t n, const char *code, const char *msg)
{
	size_t k;

	for (k = 0; k < n; k++)
		s->error(s->ctx, k, code, msg);
}

/* ---- text ---------------------------------------------------------- */

void
mdas_body_clean_text(const char *src, size_t len, size_t max, char *dst, size_t n)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t i = 0, o = 0, l;
	uint32_t cp;

	if (n == 0)
		return;
	while (i < len) {
		l = mdas_utf8_decode(src + i, len - i, &cp);
		if (o + (l ? l : 1) > max || o + (l ? l : 1) + 4 > n) {
			/* "..." where it was cut, if there is room for it. */
			while (o + 4 > n && o > 0)
				o--;
			if (o + 4 <= n)
				memcpy(dst + o, "...", 3), o += 3;
			break;
		}
		if (l == 0 || mdas_utf8_is_control(cp)) {
			/* Control characters (C0, DEL, C1) and bad bytes. */
			dst[o++] = '?';
			i += l ? l : 1;
			continue;
		}
		memcpy(dst + o, p + i, l);
		o += l;
		i += l;
	}
	dst[o] = '\0';
}

/* An upstream text (Yahoo's code or description, Binance's msg; NULL
 * when absent) cleaned into dst (n bytes).  Returns 1 when something is
 * left; else 0, with none (when not NULL) in dst instead, or "": an empty
 * code or message is no code or message, and a message is never empty. */
static int
upstream_text(const char *src, size_t max, const char *none, char *dst, size_t n)
{
	if (n == 0)
		return 0;
	dst[0] = '\0';
	if (src != NULL)
		mdas_body_clean_text(src, strlen(src), max, dst, n);
	if (dst[0] != '\0')
		return 1;
	if (none != NULL)
		snprintf(dst, n, "%s", none);
	return 0;
}

/* ---- parsing -------------------------------------------------------- */

struct json_object *
mdas_body_parse(const char *body, size_t len, char *why, size_t n)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error e;
	size_t i = 0, used, bad;

	while (i < len && strchr(" \t\r\n", body[i]) != NULL && body[i] != '\0')
		i++;
	if (i == len) {
		snprintf(why, n, "empty body instead of JSON");
		return NULL;
	}
	if (body[i] == '<') {
		snprintf(why, n, "HTML instead of JSON");
		return NULL;
	}
	if (body[i] != '{' && body[i] != '[') {
		char text[100];
		size_t l = i;

		while (l < len && body[l] != '\r' && body[l] != '\n')
			l++;
		mdas_body_clean_text(body + i, l - i, 60, text, sizeof(text));
		snprintf(why, n, "text instead of JSON: \"%s\"", text);
		return NULL;
	}
	/* json-c's own UTF-8 check lets surrogates and overlong forms
	 * through, and they would leave here inside a payload. */
	if ((bad = mdas_utf8_invalid_at(body, len)) < len) {
		snprintf(why, n, "invalid UTF-8 (at byte %zu)", bad);
		return NULL;
	}
	if (len > INT_MAX) {
		snprintf(why, n, "body too large to parse (over %d bytes)", INT_MAX);
		return NULL;
	}
	if ((tok = json_tokener_new()) == NULL) {
		snprintf(why, n, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	e = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e == json_tokener_continue) {
		json_object_put(obj);
		snprintf(why, n, "truncated JSON");
		return NULL;
	}
	if (obj == NULL || e != json_tokener_success) {
		json_object_put(obj);
		snprintf(why, n, "malformed JSON (%s)", json_tokener_error_desc(e));
		return NULL;
	}
	for (i = used; i < len; i++)
		if (body[i] == '\0' || strchr(" \t\r\n", body[i]) == NULL) {
			json_object_put(obj);
			snprintf(why, n, "malformed JSON (text after the value)");
			return NULL;
		}
	return obj;
}

void
mdas_body_status_text(long status, const char *body, size_t len, char *buf, size_t n)
{
	char why[MDAS_BODY_MSG_MAX];
	struct json_object *obj;
	size_t l;

	if (len == 0)
		snprintf(buf, n, "HTTP %ld", status);
	else if ((obj = mdas_body_parse(body, len, why, sizeof(why))) != NULL) {
		json_object_put(obj);
		snprintf(buf, n, "HTTP %ld", status);
	} else if (strncmp(why, "text instead of JSON: \"", 23) == 0) {
		/* A plain-text body is the message: "HTTP 429: Too Many Requests". */
		l = strlen(why + 23);
		snprintf(buf, n, "HTTP %ld: %.*s", status, (int)(l > 0 ? l - 1 : 0), why + 23);
	} else
		snprintf(buf, n, "HTTP %ld: %s", status, why);
}

/* ---- Yahoo ---------------------------------------------------------- */

/* Yahoo's error envelope: *code (cleaned into cbuf) and the description
 * (cleaned into msg) when body is one. */
static int
yahoo_error(struct json_object *body, const char *top, const char **code,
    char *cbuf, size_t cn, char *msg, size_t n)
{
	const char *c, *d;

	if (!mdas_yahoo_error(body, top, &c, &d))
		return 0;
	*code = upstream_text(c, 64, NULL, cbuf, cn) ? cbuf : NULL;
	upstream_text(d, MDAS_BODY_QUOTE_MAX, "error without a description", msg, n);
	return 1;
}

int
mdas_body_yahoo_error_text(const char *body, size_t len, const char *top,
    char *desc, size_t n)
{
	char why[MDAS_BODY_MSG_MAX];
	struct json_object *b = mdas_body_parse(body, len, why, sizeof(why));
	const char *c, *d;
	int rc = 0;

	if (b != NULL && mdas_yahoo_error(b, top, &c, &d))
		rc = upstream_text(d, MDAS_BODY_QUOTE_MAX, NULL, desc, n);
	json_object_put(b);
	return rc;
}

/* The error for an answer that did not parse: the status says more than
 * the body when it is not 200. */
static void
unparsed(long status, const char *body, size_t len, const char *why,
    const char **code, char *msg, size_t n)
{
	if (status != 200) {
		mdas_body_status_text(status, body, len, msg, n);
		*code = NULL;
	} else {
		snprintf(msg, n, "%s", why);
		*code = "bad_response";
	}
}

void
mdas_body_yahoo_quotes(long status, const char *body, size_t len,
    const char *const *syms, size_t n, const struct mdas_body_sink *sink)
{
	char msg[MDAS_BODY_MSG_MAX], cbuf[80], why[MDAS_BODY_MSG_MAX];
	struct json_object *b, *res, *q;
	const char *code;
	size_t i, k;

	if ((b = mdas_body_parse(body, len, why, sizeof(why))) == NULL) {
		unparsed(status, body, len, why, &code, msg, sizeof(msg));
		fail_all(sink, n, code, msg);
		return;
	}
	if (yahoo_error(b, "finance", &code, cbuf, sizeof(cbuf), msg, sizeof(msg))) {
		fail_all(sink, n, code, msg);
		goto out;
	}
	if (status != 200) {
		mdas_body_status_text(status, body, len, msg, sizeof(msg));
		fail_all(sink, n, NULL, msg);
		goto out;
	}
	if ((res = mdas_yahoo_quote_results(b)) == NULL) {
		fail_all(sink, n, "bad_response", "JSON without quoteResponse.result");
		goto out;
	}
	if ((i = without_symbol(res)) < mdas_json_len(res)) {
		snprintf(msg, sizeof(msg), "unexpected JSON: quoteResponse.result[%zu] is "
		    "not an object with a \"symbol\" string", i);
		fail_all(sink, n, "bad_response", msg);
		goto out;
	}
	for (k = 0; k < n; k++) {
		if ((q = mdas_yahoo_find_quote(res, syms[k])) != NULL)
			sink->data(sink->ctx, k, q);
		else
			sink->error(sink->ctx, k, "Not Found",
			    "no such symbol (missing from the quote response)");
	}
out:
	json_object_put(b);
}

void
mdas_body_yahoo_chart(long status, const char *body, size_t len,
    const struct mdas_body_sink *sink)
{
	char msg[MDAS_BODY_MSG_MAX], cbuf[80], why[MDAS_BODY_MSG_MAX], tbuf[40];
	struct json_object *b, *res;
	const char *code;

	if ((b = mdas_body_parse(body, len, why, sizeof(why))) == NULL) {
		unparsed(status, body, len, why, &code, msg, sizeof(msg));
		sink->error(sink->ctx, 0, code, msg);
		return;
	}
	if (yahoo_error(b, "chart", &code, cbuf, sizeof(cbuf), msg, sizeof(msg)))
		sink->error(sink->ctx, 0, code, msg);
	else if (status != 200) {
		mdas_body_status_text(status, body, len, msg, sizeof(msg));
		sink->error(sink->ctx, 0, NULL, msg);
	} else if ((res = mdas_yahoo_chart_result(b)) == NULL)
		sink->error(sink->ctx, 0, "bad_response", "JSON without chart.result");
	else if (!json_object_is_type(mdas_json_at(res, 0), json_type_object)) {
		snprintf(msg, sizeof(msg), "unexpected JSON: chart.result[0] is %s, not an object",
		    what_is(mdas_json_at(res, 0), tbuf, sizeof(tbuf)));
		sink->error(sink->ctx, 0, "bad_response", msg);
	} else
		sink->data(sink->ctx, 0, b);
	json_object_put(b);
}

/* ---- Binance -------------------------------------------------------- */

static int
binance_error(struct json_object *b, int64_t *code, char *msg, size_t n)
{
	const char *m;

	if (!mdas_binance_error(b, code, &m))
		return 0;
	upstream_text(m, MDAS_BODY_QUOTE_MAX, "error without a message", msg, n);
	return 1;
}

int
mdas_body_binance_error(const char *body, size_t len, int64_t *code, char *msg, size_t n)
{
	char why[MDAS_BODY_MSG_MAX];
	struct json_object *b = mdas_body_parse(body, len, why, sizeof(why));
	int rc = b != NULL && binance_error(b, code, msg, n);

	json_object_put(b);
	return rc;
}

/* An answer that is not data: Binance's error body (its code becomes the
 * code), a 451 (final: only another host helps), the status, or why. */
static void
binance_fail(long status, const char *body, size_t len, struct json_object *b,
    const char *url, const char *why, char *codebuf, size_t cn, const char **code,
    char *msg, size_t n)
{
	char bmsg[MDAS_BODY_QUOTE_MAX + 4];
	const char *hs, *he;
	int64_t c = 0;
	int have = b != NULL && binance_error(b, &c, bmsg, sizeof(bmsg));

	*code = NULL;
	if (have) {
		snprintf(codebuf, cn, "%lld", (long long)c);
		*code = codebuf;
	}
	if (status == 451) {
		hs = url != NULL ? strstr(url, "://") : NULL;
		hs = hs != NULL ? hs + 3 : url != NULL ? url : "";
		he = hs + strcspn(hs, "/?#");
		snprintf(msg, n,
		    "HTTP 451: %.*s refuses this location (%s); set data_sources.binance.base_url "
		    "(or MDAS_BINANCE_BASE_URL) to a Binance host that serves your location",
		    (int)(he - hs > 100 ? 100 : he - hs), hs, have ? bmsg : "restricted location");
	} else if (have)
		snprintf(msg, n, "%s", bmsg);
	else if (status != 200)
		mdas_body_status_text(status, body, len, msg, n);
	else {
		snprintf(msg, n, "%s", why);
		*code = "bad_response";
	}
}

void
mdas_body_binance_tickers(long status, const char *body, size_t len,
    const char *url, const char *const *syms, size_t n,
    const struct mdas_body_sink *sink)
{
	char msg[MDAS_BODY_MSG_MAX], why[MDAS_BODY_MSG_MAX], cbuf[32], tbuf[40];
	struct json_object *b, *o;
	const char *code, *s;
	int64_t c;
	size_t i, k;

	b = mdas_body_parse(body, len, why, sizeof(why));
	if (b != NULL && !json_object_is_type(b, json_type_array) &&
	    !json_object_is_type(b, json_type_object))
		snprintf(why, sizeof(why), "unexpected JSON: the ticker answer is %s",
		    what_is(b, tbuf, sizeof(tbuf)));
	if (status != 200 || b == NULL || (!json_object_is_type(b, json_type_array) &&
	    !json_object_is_type(b, json_type_object)) ||
	    (json_object_is_type(b, json_type_object) && binance_error(b, &c, msg, sizeof(msg)))) {
		binance_fail(status, body, len, b, url, why, cbuf, sizeof(cbuf), &code,
		    msg, sizeof(msg));
		fail_all(sink, n, code, msg);
		goto out;
	}
	if (json_object_is_type(b, json_type_array)) {
		if ((i = without_symbol(b)) < mdas_json_len(b)) {
			snprintf(msg, sizeof(msg), "unexpected JSON: ticker answer element %zu "
			    "is not an object with a \"symbol\" string", i);
			fail_all(sink, n, "bad_response", msg);
			goto out;
		}
	} else if ((s = mdas_json_any_str(b, "symbol")) == NULL) {
		fail_all(sink, n, "bad_response",
		    "unexpected JSON: ticker object without a \"symbol\" string");
		goto out;
	}
	for (k = 0; k < n; k++) {
		if (json_object_is_type(b, json_type_array))
			o = mdas_binance_find_symbol(b, syms[k]);
		else
			o = n == 1 && strcmp(mdas_json_any_str(b, "symbol"), syms[k]) == 0 ? b : NULL;
		if (o != NULL)
			sink->data(sink->ctx, k, o);
		else
			sink->error(sink->ctx, k, "Not Found",
			    "no such symbol (missing from the ticker response)");
	}
out:
	json_object_put(b);
}

/* ---- klines --------------------------------------------------------- */

#define KLINE_FIELDS 12

struct mdas_klines {
	struct json_object *rows;
	int64_t end_ms;
	int64_t last_open;         /* open time of the last row; INT64_MIN before */
	int page_limit;
	int pages;
	char code[32];
};

struct mdas_klines *
mdas_klines_new(int64_t end_ms, int page_limit)
{
	struct mdas_klines *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->rows = json_object_new_array()) == NULL) {
		free(m);
		return NULL;
	}
	m->end_ms = end_ms;
	m->page_limit = page_limit;
	m->last_open = INT64_MIN;
	return m;
}

void
mdas_klines_free(struct mdas_klines *m)
{
	if (m == NULL)
		return;
	json_object_put(m->rows);
	free(m);
}

struct json_object *
mdas_klines_rows(const struct mdas_klines *m)
{
	return m->rows;
}

int
mdas_klines_pages(const struct mdas_klines *m)
{
	return m->pages;
}

/* Checks every row of a page before any is taken: a page is merged whole
 * or not at all.  Returns 0, or -1 with msg saying what was wrong. */
static int
check_rows(struct mdas_klines *m, struct json_object *page, char *msg, size_t n)
{
	size_t i, np = mdas_json_len(page), base = mdas_json_len(m->rows);
	int64_t last = m->last_open, t;
	struct json_object *row, *open;
	char tbuf[40];

	for (i = 0; i < np; i++) {
		row = mdas_json_at(page, i);
		if (mdas_json_len(row) < KLINE_FIELDS) {
			snprintf(msg, n, "unexpected JSON: klines row %zu is %s, not an array "
			    "of %d values", base + i, what_is(row, tbuf, sizeof(tbuf)), KLINE_FIELDS);
			return -1;
		}
		open = mdas_json_at(row, 0);
		if (!json_object_is_type(open, json_type_int)) {
			snprintf(msg, n, "unexpected JSON: klines row %zu has an open time that "
			    "is %s, not an integer", base + i, what_is(open, tbuf, sizeof(tbuf)));
			return -1;
		}
		t = json_object_get_int64(open);
		/* Pages follow from the last open time: one that does not
		 * increase would ask for the same page again and again. */
		if (t <= last) {
			snprintf(msg, n, "unexpected JSON: klines open times do not increase "
			    "(row %zu)", base + i);
			return -1;
		}
		last = t;
	}
	return 0;
}

int
mdas_klines_add(struct mdas_klines *m, long status, const char *body, size_t len,
    const char *url, int64_t *next_start, const char **code, char *msg, size_t n)
{
	char why[MDAS_BODY_MSG_MAX], tbuf[40];
	struct json_object *b;
	size_t i, np;
	int rc;

	*code = NULL;
	b = mdas_body_parse(body, len, why, sizeof(why));
	if (b != NULL && !json_object_is_type(b, json_type_array))
		snprintf(why, sizeof(why), "unexpected JSON: the klines answer is %s, not an array",
		    what_is(b, tbuf, sizeof(tbuf)));
	if (status != 200 || b == NULL || !json_object_is_type(b, json_type_array)) {
		binance_fail(status, body, len, b, url, why, m->code, sizeof(m->code), code,
		    msg, n);
		json_object_put(b);
		return MDAS_KLINES_FAILED;
	}
	if (check_rows(m, b, msg, n) < 0) {
		*code = "bad_response";
		json_object_put(b);
		return MDAS_KLINES_FAILED;
	}
	np = mdas_json_len(b);
	for (i = 0; i < np; i++)
		if (json_object_array_add(m->rows, json_object_get(mdas_json_at(b, i))) < 0) {
			json_object_put(b);
			return MDAS_KLINES_NOMEM;
		}
	if (np > 0)
		m->last_open = json_object_get_int64(mdas_json_at(mdas_json_at(b, np - 1), 0));
	json_object_put(b);
	m->pages++;
	/* A full page means there may be more: go on from the row after the
	 * last one until the end of the range. */
	rc = MDAS_KLINES_DONE;
	if (np >= (size_t)m->page_limit && m->last_open < m->end_ms) {
		if (m->pages >= MDAS_KLINES_MAX_PAGES) {
			snprintf(msg, n, "more than %d pages of klines; ask for a shorter range",
			    MDAS_KLINES_MAX_PAGES);
			*code = "too_large";
			return MDAS_KLINES_FAILED;
		}
		*next_start = m->last_open + 1;
		rc = MDAS_KLINES_MORE;
	}
	return rc;
}
