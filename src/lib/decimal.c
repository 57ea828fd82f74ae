#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "jsonw.h"

/* Writes sign, digits[0..nd) and a decimal point after `point` digits
 * (point may be <= 0 or >= nd) in plain form, dropping leading zeros of
 * the integer part and trailing zeros of the fraction. */
static int
render(int neg, const char *digits, int nd, int point, char *out)
{
	int pos = 0, i;

	while (nd > 0 && digits[0] == '0') {
		digits++;
		nd--;
		point--;
	}
	while (nd > 0 && nd > point && digits[nd - 1] == '0')
		nd--;
	if (nd == 0) {
		memcpy(out, "0", 2);
		return 1;
	}
	/* sign, "0.", zeros, digits, zeros, '.', NUL */
	if (1 + 2 + (point < 0 ? -point : 0) + nd + (point > nd ? point - nd : 0) + 2 >
	    MDAS_DECIMAL_MAX)
		return -1;
	if (neg)
		out[pos++] = '-';
	if (point <= 0) {
		out[pos++] = '0';
		out[pos++] = '.';
		for (i = point; i < 0; i++)
			out[pos++] = '0';
		memcpy(out + pos, digits, (size_t)nd);
		pos += nd;
	} else if (point >= nd) {
		memcpy(out + pos, digits, (size_t)nd);
		pos += nd;
		for (i = nd; i < point; i++)
			out[pos++] = '0';
	} else {
		memcpy(out + pos, digits, (size_t)point);
		pos += point;
		out[pos++] = '.';
		memcpy(out + pos, digits + point, (size_t)(nd - point));
		pos += nd - point;
	}
	out[pos] = '\0';
	return pos;
}

/* Reads [-]DIGITS[.DIGITS] from s into digits (nd of them, the point
 * after `point` digits) and stops at the first other byte, at *end.
 * Returns -1 when s does not start with a number or has too many digits. */
static int
scan(const char *s, size_t len, size_t *end, char *digits, int *nd, int *point,
    int *neg)
{
	size_t i = 0;

	*nd = 0;
	*point = -1;
	*neg = len > 0 && s[0] == '-';
	i = (size_t)*neg;
	if (i == len || s[i] < '0' || s[i] > '9')
		return -1;
	for (; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (*nd == MDAS_DECIMAL_MAX - 1)
				return -1;
			digits[(*nd)++] = s[i];
		} else if (s[i] == '.' && *point < 0)
			*point = *nd;
		else
			break;
	}
	if (*point < 0)
		*point = *nd;
	*end = i;
	return 0;
}

int
mdas_decimal_canon(const char *s, size_t len, char *out)
{
	char digits[MDAS_DECIMAL_MAX];
	int nd, point, neg;
	size_t end;

	/* Only plain decimals: no exponent, no point at the end ("1."). */
	if (scan(s, len, &end, digits, &nd, &point, &neg) < 0 || end != len ||
	    s[len - 1] == '.')
		return -1;
	return render(neg, digits, nd, point, out);
}

int
mdas_decimal_shift(const char *s, size_t len, int shift, char *out)
{
	char digits[MDAS_DECIMAL_MAX], tmp[16], *e;
	int nd, point, neg;
	long exp = 0;
	size_t i;

	if (shift < 0 || shift > 9 ||
	    scan(s, len, &i, digits, &nd, &point, &neg) < 0)
		return -1;
	if (i < len) {
		if ((s[i] != 'e' && s[i] != 'E') || len - i - 1 == 0 ||
		    len - i - 1 >= sizeof(tmp))
			return -1;
		memcpy(tmp, s + i + 1, len - i - 1);
		tmp[len - i - 1] = '\0';
		exp = strtol(tmp, &e, 10);
		if (*e != '\0' || exp < -MDAS_DECIMAL_MAX || exp > MDAS_DECIMAL_MAX)
			return -1;
	}
	return render(neg, digits, nd, point + (int)exp - shift, out);
}

static const double pow10_tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

int
mdas_format_sig(double v, int sig, char *buf)
{
	char digits[24];
	double a, scaled;
	uint64_t n;
	int e, k, nd, neg;

	if (!isfinite(v))
		return mdas_format_double(v, buf);
	if (v == 0) {
		memcpy(buf, "0", 2);
		return 1;
	}
	if (sig < 1)
		sig = 1;
	if (sig > 15)
		sig = 15;
	neg = v < 0;
	a = fabs(v);
	e = (int)floor(log10(a));
	/* Plain notation for 1e-7 <= |v| < 1e18, as mdas_format_double. */
	if (e < -7 || e > 17)
		return mdas_format_double(v, buf);
	/* n = round(a * 10^(sig-1-e)): an integer of sig digits.  The
	 * scaling is by an exact power of ten (<= 1e22), so the only error
	 * is one rounding, far below the digits kept. */
	k = sig - 1 - e;
	if (k > 21 || k < -21)
		return mdas_format_double(v, buf);
	scaled = k >= 0 ? a * pow10_tab[k] : a / pow10_tab[-k];
	n = (uint64_t)llround(scaled);
	if (n >= (uint64_t)pow10_tab[sig]) {
		/* log10 rounded down a value just below a power of ten. */
		e++;
		k--;
		scaled = k >= 0 ? a * pow10_tab[k] : a / pow10_tab[-k];
		n = (uint64_t)llround(scaled);
	} else if (n < (uint64_t)pow10_tab[sig - 1]) {
		e--;
		k++;
		scaled = a * pow10_tab[k];
		n = (uint64_t)llround(scaled);
	}
	for (nd = sig; nd > 0; nd--) {
		digits[nd - 1] = (char)('0' + n % 10);
		n /= 10;
	}
	nd = sig;
	return render(neg, digits, nd, e + 1, buf);
}
