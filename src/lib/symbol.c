#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "symbol.h"

/* Quote assets of Binance spot pairs, longest first so FDUSD wins over
 * a shorter suffix.  The list decides only auto-detection; a prefix
 * ("binance:XYZ") reaches any pair. */
static const char *const quote_assets[] = {
	"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "DAI",
	"BTC", "ETH", "BNB", "EUR", "TRY", "BRL",
};

const char *
mdas_source_name(enum mdas_source src)
{
	switch (src) {
	case MDAS_SOURCE_YAHOO: return "yahoo";
	case MDAS_SOURCE_BINANCE: return "binance";
	default: return NULL;
	}
}

int
mdas_source_parse(const char *name)
{
	if (strcmp(name, "yahoo") == 0)
		return MDAS_SOURCE_YAHOO;
	if (strcmp(name, "binance") == 0)
		return MDAS_SOURCE_BINANCE;
	return -1;
}

int
mdas_symbol_is_binance_pair(const char *sym)
{
	size_t len = strlen(sym), i, qlen;

	if (len == 0 || strspn(sym, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != len)
		return 0;
	for (i = 0; i < sizeof(quote_assets) / sizeof(quote_assets[0]); i++) {
		qlen = strlen(quote_assets[i]);
		if (len >= qlen + 2 && strcmp(sym + len - qlen, quote_assets[i]) == 0)
			return 1;
	}
	return 0;
}

int
mdas_symbol_resolve(const char *spec, enum mdas_source force,
    enum mdas_source *src, char *sym, struct mdas_error *err)
{
	const char *colon = strchr(spec, ':'), *name = spec, *allowed;
	enum mdas_source s = force;
	size_t len, bad, i;

	if (colon != NULL) {
		if ((size_t)(colon - spec) == 5 && strncasecmp(spec, "yahoo", 5) == 0)
			s = MDAS_SOURCE_YAHOO;
		else if ((size_t)(colon - spec) == 7 && strncasecmp(spec, "binance", 7) == 0)
			s = MDAS_SOURCE_BINANCE;
		else {
			char q[3 * 40 + 8];

			/* The prefix is outside input: escaped, it cannot break
			 * the message line. */
			mdas_symbol_escape(spec, (size_t)(colon - spec), 40, q, sizeof(q));
			return mdas_error_set(err, "unknown source prefix '%s:' (use yahoo: or binance:)", q);
		}
		name = colon + 1;
	}
	len = strlen(name);
	if (len == 0)
		return mdas_error_set(err, "empty symbol");
	if (len > MDAS_SYMBOL_MAX)
		return mdas_error_set(err, "symbol longer than %d characters", MDAS_SYMBOL_MAX);
	if (s == MDAS_SOURCE_AUTO) {
		/* Detection looks at the symbol as typed: lower case is Yahoo. */
		s = mdas_symbol_is_binance_pair(name) ? MDAS_SOURCE_BINANCE : MDAS_SOURCE_YAHOO;
	}
	allowed = s == MDAS_SOURCE_BINANCE ?
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" :
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-^=";
	if ((bad = strspn(name, allowed)) != len) {
		unsigned char c = (unsigned char)name[bad];

		if (c < 0x20 || c == 0x7f)
			return mdas_error_set(err, "control character 0x%02x not allowed in a %s symbol",
			    c, mdas_source_name(s));
		if (c >= 0x80)
			return mdas_error_set(err, "byte 0x%02x (not ASCII) not allowed in a %s symbol",
			    c, mdas_source_name(s));
		return mdas_error_set(err, "character '%c' not allowed in a %s symbol (allowed: %s)",
		    c, mdas_source_name(s), s == MDAS_SOURCE_BINANCE ?
		    "letters and digits" : "letters, digits, '.', '-', '^', '='");
	}
	for (i = 0; i <= len; i++)
		sym[i] = s == MDAS_SOURCE_BINANCE ? (char)toupper((unsigned char)name[i]) : name[i];
	*src = s;
	return 0;
}

/* Printable ASCII but for the two that quoting itself uses. */
static int
plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void
mdas_symbol_escape(const char *s, size_t len, size_t max, char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	char e[5];
	size_t el;

	if (n == 0)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (plain(c)) {
			e[0] = (char)c;
			el = 1;
		} else {
			e[0] = '\\';
			el = 2;
			switch (c) {
			case '\n': e[1] = 'n'; break;
			case '\t': e[1] = 't'; break;
			case '\r': e[1] = 'r'; break;
			case '"': e[1] = '"'; break;
			case '\\': e[1] = '\\'; break;
			default:
				e[1] = 'x';
				e[2] = hex[c >> 4];
				e[3] = hex[c & 15];
				el = 4;
			}
		}
		if (i >= max || o + el + 4 > n) {
			if (o + 4 <= n) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(buf + o, e, el);
		o += el;
	}
	buf[o] = '\0';
}

void
mdas_symbol_quote(const char *s, char *buf, size_t n)
{
	size_t len = strlen(s), i;

	for (i = 0; i < len && plain((unsigned char)s[i]); i++)
		;
	if (i == len) {
		snprintf(buf, n, "%s", s);
		return;
	}
	if (n < 3) {
		if (n > 0)
			buf[0] = '\0';
		return;
	}
	buf[0] = '"';
	mdas_symbol_escape(s, len, 64, buf + 1, n - 2);
	i = strlen(buf);
	buf[i] = '"';
	buf[i + 1] = '\0';
}

int
mdas_url_escape(const char *s, char *buf, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			if (o + 1 >= n)
				goto full;
			buf[o++] = (char)c;
		} else {
			if (o + 3 >= n)
				goto full;
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (n == 0)
		return -1;
	buf[o] = '\0';
	return (int)o;
full:
	if (n > 0)
		buf[0] = '\0';
	return -1;
}

int
mdas_url_put_escaped(FILE *fp, const char *s)
{
	char buf[3 * 256 + 1];

	if (mdas_url_escape(s, buf, sizeof(buf)) < 0)
		return -1;
	return fputs(buf, fp) < 0 ? -1 : 0;
}

char *
mdas_url_finish(FILE *fp, char **buf, int failed)
{
	if (fclose(fp) != 0 || failed) {
		free(*buf);
		return NULL;
	}
	return *buf;
}
