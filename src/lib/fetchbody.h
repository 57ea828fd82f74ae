/* fetchbody.h: what mdas-fetch makes of an upstream answer, without the
 * network.  Pure functions from (HTTP status, body bytes) to per-symbol
 * outcomes: data for a symbol (its share of the answer, as JSON) or an
 * error (a code and a message).  They read the body only through
 * type-checked access, so no body, however shaped, reaches a json-c
 * assertion, and every message they write is valid UTF-8 without
 * control characters.  This file needs json-c only (no libcurl), so fuzz
 * targets link it alone: src/lib/fetchbody.c plus yahoo.c, binance.c,
 * symbol.c, error.c, utf8.c and jsonget.c (or libmdas.a and json-c).
 *
 * Error codes written here: "bad_response" (a 200 answer that is not the
 * JSON expected: HTML, text, empty, truncated, malformed, invalid UTF-8,
 * or JSON of the wrong shape), "too_large" (klines past the page cap),
 * "Not Found" (a symbol missing from a batched answer), the upstream's
 * own code (Yahoo's "code", Binance's number as a string), or NULL when
 * the HTTP status is all there is to say (an empty Yahoo code is none).
 * A message is never empty: an empty upstream text becomes "error
 * without a description" (Yahoo) or "error without a message" (Binance).
 */
#ifndef MDAS_FETCHBODY_H
#define MDAS_FETCHBODY_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Room for any message these functions write. */
#define MDAS_BODY_MSG_MAX 600
/* Upstream texts (Binance's msg, Yahoo's description) quoted in a
 * message are cut to this many bytes. */
#define MDAS_BODY_QUOTE_MAX 300
/* Pages of klines merged at most for one symbol (10 million rows). */
#define MDAS_KLINES_MAX_PAGES 10000

/* Where the per-symbol outcomes of one answer go.  k indexes the syms
 * given to the function (0 for a single-symbol answer).  payload is
 * borrowed for the duration of the call; code may be NULL; message is
 * never NULL.  Each symbol gets exactly one call. */
struct mdas_body_sink {
	void (*data)(void *ctx, size_t k, struct json_object *payload);
	void (*error)(void *ctx, size_t k, const char *code, const char *message);
	void *ctx;
};

/* Parses body[0..len) as one JSON value (strict JSON, strictly valid
 * UTF-8: no overlong forms, surrogates or code points past U+10FFFF).
 * Returns it (the caller puts it), or NULL with why (n bytes) saying what
 * came instead, without quoting more than a short prefix of the body. */
struct json_object *mdas_body_parse(const char *body, size_t len, char *why, size_t n);

/* The message for a non-200 answer with nothing better to say:
 * "HTTP 503", "HTTP 429: Too Many Requests" (a short text body),
 * "HTTP 502: HTML instead of JSON". */
void mdas_body_status_text(long status, const char *body, size_t len, char *buf, size_t n);

/* Copies src into dst (n bytes) as printable text: control characters
 * become '?', invalid UTF-8 becomes '?', and more than max bytes are cut
 * (at a character boundary) with "...".  For upstream texts in messages. */
void mdas_body_clean_text(const char *src, size_t len, size_t max, char *dst, size_t n);

/* A Yahoo /v7/finance/quote answer for syms[0..n): each symbol's object
 * of quoteResponse.result (matched on "symbol", ignoring case), "Not
 * Found" for one the answer left out, or the same error for all when the
 * answer as a whole is one (Yahoo's error envelope, a non-200 status, a
 * body that is not a quote answer). */
void mdas_body_yahoo_quotes(long status, const char *body, size_t len,
    const char *const *syms, size_t n, const struct mdas_body_sink *sink);

/* A Yahoo /v8/finance/chart answer for one symbol: the whole body as
 * data when chart.result is a non-empty array whose first element is an
 * object (an empty series, with meta but no timestamps, is data too:
 * mdas-normalize reports it), else an error. */
void mdas_body_yahoo_chart(long status, const char *body, size_t len,
    const struct mdas_body_sink *sink);

/* A Yahoo error envelope's description ({"finance":{"error":{...}}}),
 * cleaned, into desc (n bytes).  Returns 1 when body is such an envelope
 * with a description (one empty after cleaning is none), else 0. */
int mdas_body_yahoo_error_text(const char *body, size_t len, const char *top,
    char *desc, size_t n);

/* Reads a Binance error body {"code":-1121,"msg":"Invalid symbol."}.
 * Returns 1 and sets *code and msg (cleaned, n bytes; "error without a
 * message" when that leaves nothing) when body has that shape (an integer
 * code and a string msg); else 0. */
int mdas_body_binance_error(const char *body, size_t len, int64_t *code,
    char *msg, size_t n);

/* A Binance /api/v3/ticker/24hr answer for syms[0..n): an array of
 * objects (several symbols) or one object (one symbol), each matched on
 * "symbol"; "Not Found" for a symbol left out; else one error for all
 * (Binance's error body, whose code becomes the code; a 451 that names
 * the host of url and the setting to change; a non-200 status; a body of
 * the wrong shape). */
void mdas_body_binance_tickers(long status, const char *body, size_t len,
    const char *url, const char *const *syms, size_t n,
    const struct mdas_body_sink *sink);

/* Merging the pages of one symbol's /api/v3/klines answers.  Each page
 * must be an array of rows, each row an array of at least 12 values whose
 * first (the open time) is an integer, open times increasing across
 * pages; an empty page ends the series (an empty series is data: []). */
struct mdas_klines;

enum {
	MDAS_KLINES_NOMEM = -2,    /* out of memory: nothing more can be done */
	MDAS_KLINES_FAILED = -1,   /* the symbol failed: *code and msg say why */
	MDAS_KLINES_DONE = 0,      /* the rows are complete */
	MDAS_KLINES_MORE = 1,      /* ask for the next page from *next_start */
};

/* A merger for a series that ends at end_ms (inclusive); page_limit is
 * the limit= asked for (a page that full may have a successor).  NULL
 * when out of memory. */
struct mdas_klines *mdas_klines_new(int64_t end_ms, int page_limit);
void mdas_klines_free(struct mdas_klines *m);
/* Adds one page answer (status and body; url for a 451 message).
 * Returns one of the values above; on MDAS_KLINES_FAILED *code (may be
 * NULL) and msg (n bytes) are set. */
int mdas_klines_add(struct mdas_klines *m, long status, const char *body, size_t len,
    const char *url, int64_t *next_start, const char **code, char *msg, size_t n);
/* The rows merged so far (an array, borrowed) and the pages taken. */
struct json_object *mdas_klines_rows(const struct mdas_klines *m);
int mdas_klines_pages(const struct mdas_klines *m);

#endif
