/* symbol.h: which upstream serves a symbol, whether its spelling is safe,
 * and percent-encoding for the URLs built from it.
 *
 * A symbol spec is "yahoo:AAPL", "binance:BTCUSDT" or a bare symbol.  A
 * bare symbol goes to Binance when it is an all-caps pair ending in a
 * known quote asset (BTCUSDT, ETHBTC), else to Yahoo.  Only characters
 * that occur in real tickers are accepted, so nothing odd ever reaches a
 * URL, and every symbol is percent-encoded anyway when a URL is built.
 */
#ifndef MDAS_SYMBOL_H
#define MDAS_SYMBOL_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

enum mdas_source {
	MDAS_SOURCE_AUTO = 0,    /* only as a "force" argument: detect */
	MDAS_SOURCE_YAHOO,
	MDAS_SOURCE_BINANCE,
};

#define MDAS_SYMBOL_MAX 32       /* longest accepted symbol, in bytes */

/* "yahoo", "binance" (NULL for AUTO). */
const char *mdas_source_name(enum mdas_source src);
/* Parses "yahoo" or "binance"; -1 for anything else. */
int mdas_source_parse(const char *name);

/* True when a bare symbol looks like a Binance pair (all caps and digits,
 * ending in a known quote asset after a base of at least two characters). */
int mdas_symbol_is_binance_pair(const char *sym);

/* Resolves spec into its source and symbol (written to sym, at least
 * MDAS_SYMBOL_MAX + 1 bytes).  force overrides detection but not an
 * explicit prefix.  Binance symbols are upper-cased.  Fails, saying why,
 * on an unknown prefix, an empty or over-long symbol, or a character the
 * source's symbols never contain. */
int mdas_symbol_resolve(const char *spec, enum mdas_source force,
    enum mdas_source *src, char *sym, struct mdas_error *err);

/* Writes s[0..len) into buf (n bytes) with C escapes for every byte that
 * is not printable ASCII, and for '"' and '\\' (\n \t \r \" \\ \xNN),
 * cut after max input bytes with "...".  For outside input in messages. */
void mdas_symbol_escape(const char *s, size_t len, size_t max, char *buf, size_t n);
/* A spec as it is named in messages: as is when it is printable ASCII
 * without quotes or backslashes ("AA PL"), else escaped as above within
 * double quotes ("A\nB"). */
void mdas_symbol_quote(const char *s, char *buf, size_t n);

/* Percent-encodes s (everything but A-Z a-z 0-9 - . _ ~) into buf of size
 * n.  Returns the length, or -1 (buf then holds "") if it does not fit. */
int mdas_url_escape(const char *s, char *buf, size_t n);

/* URL building on an open_memstream() stream: writes s percent-encoded
 * (0, or -1 when s is too long or the write fails). */
int mdas_url_put_escaped(FILE *fp, const char *s);
/* Closes the memstream and returns its buffer (the caller frees it), or
 * NULL, freeing it, when writing failed.  open_memstream() sets the buffer
 * pointer only at fclose(): hence the pointer to it. */
char *mdas_url_finish(FILE *fp, char **buf, int failed);

#endif
