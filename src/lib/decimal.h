/* decimal.h: exact handling of decimal number text.
 *
 * Binance sends prices and quantities as decimal strings
 * ("60755.18000000").  mdas-normalize writes them as JSON numbers with
 * exactly the digits that were sent (trailing fractional zeros and
 * leading integer zeros dropped), never through a double, so nothing is
 * lost or invented.  Minor-unit prices (pence) are scaled by moving the
 * decimal point, which is exact as well.
 */
#ifndef MDAS_DECIMAL_H
#define MDAS_DECIMAL_H

#include <stddef.h>

/* Longest text these functions produce or accept. */
#define MDAS_DECIMAL_MAX 64

/* Checks that s[0..len) is a plain decimal: optional '-', digits,
 * optionally '.' and digits (no exponent, no '+', no spaces), and writes
 * its canonical form into out (MDAS_DECIMAL_MAX bytes, NUL-terminated):
 * "060755.1800" -> "60755.18", "0.000" -> "0", "-0" -> "0".  Returns the
 * length written, or -1 when s is not a plain decimal or is too long. */
int mdas_decimal_canon(const char *s, size_t len, char *out);

/* Writes JSON number text s (as produced by a JSON parser: optional '-',
 * digits, optional fraction, optional exponent) divided by 10^shift
 * (0 <= shift <= 9) into out (MDAS_DECIMAL_MAX bytes) in plain decimal
 * form without an exponent, exactly.  Returns the length, or -1 when s is
 * not such a number or the result would not fit. */
int mdas_decimal_shift(const char *s, size_t len, int shift, char *out);

/* Formats v rounded to `sig` significant digits (1..15) in plain
 * notation ("0.0123", "1234.5"), trailing zeros dropped, into buf
 * (at least 40 bytes).  Used for derived metrics, whose last digits are
 * rounding noise.  Values too large or small for plain notation fall back
 * to mdas_format_double().  Non-finite values give "null".  Returns the
 * length. */
int mdas_format_sig(double v, int sig, char *buf);

#endif
