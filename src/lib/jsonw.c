#include "config.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

#define MAX_DEPTH 64

struct mdas_jsonw {
	char *buf;
	size_t len, cap;
	int failed;
	int depth;
	/* need_comma[d]: a value was already written at depth d. */
	unsigned char need_comma[MAX_DEPTH];
	int after_key;
};

struct mdas_jsonw *
mdas_jsonw_new(void)
{
	struct mdas_jsonw *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->cap = 512;
	if ((w->buf = malloc(w->cap)) == NULL) {
		free(w);
		return NULL;
	}
	w->buf[0] = '\0';
	return w;
}

void
mdas_jsonw_free(struct mdas_jsonw *w)
{
	if (w == NULL)
		return;
	free(w->buf);
	free(w);
}

void
mdas_jsonw_reset(struct mdas_jsonw *w)
{
	w->len = 0;
	w->buf[0] = '\0';
	w->depth = 0;
	w->need_comma[0] = 0;
	w->after_key = 0;
}

static int
grow(struct mdas_jsonw *w, size_t extra)
{
	size_t cap;
	char *p;

	if (w->failed)
		return -1;
	cap = w->cap;
	while (w->len + extra + 1 > cap)
		cap *= 2;
	if ((p = realloc(w->buf, cap)) == NULL) {
		w->failed = 1;
		return -1;
	}
	w->buf = p;
	w->cap = cap;
	return 0;
}

/* Inline fast path: this runs several times per field written.  A failed
 * writer never grows, so the capacity test alone is enough there too. */
static inline int
reserve(struct mdas_jsonw *w, size_t extra)
{
	if (w->len + extra + 1 <= w->cap && !w->failed)
		return 0;
	return grow(w, extra);
}

static void
append(struct mdas_jsonw *w, const char *s, size_t n)
{
	if (reserve(w, n) < 0)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void
append_char(struct mdas_jsonw *w, char c)
{
	if (reserve(w, 1) < 0)
		return;
	w->buf[w->len++] = c;
	w->buf[w->len] = '\0';
}

/* Called before every value or key: writes the separating comma. */
static void
before_value(struct mdas_jsonw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->need_comma[w->depth])
		append_char(w, ',');
	w->need_comma[w->depth] = 1;
}

static void
open_container(struct mdas_jsonw *w, char c)
{
	before_value(w);
	append_char(w, c);
	if (w->depth + 1 >= MAX_DEPTH) {
		w->failed = 1;
		return;
	}
	w->need_comma[++w->depth] = 0;
}

static void
close_container(struct mdas_jsonw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	append_char(w, c);
}

void mdas_jsonw_begin_object(struct mdas_jsonw *w) { open_container(w, '{'); }
void mdas_jsonw_end_object(struct mdas_jsonw *w)   { close_container(w, '}'); }
void mdas_jsonw_begin_array(struct mdas_jsonw *w)  { open_container(w, '['); }
void mdas_jsonw_end_array(struct mdas_jsonw *w)    { close_container(w, ']'); }

/* Bytes that JSON strings must escape: controls, '"' and '\\'. */
static const unsigned char needs_escape[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
};

static void
append_escaped(struct mdas_jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start = 0;
	char esc[7], *p;

	/* Fast path: keys and most values need no escaping. */
	for (i = 0; i < n; i++)
		if (needs_escape[(unsigned char)s[i]])
			break;
	if (i == n) {
		if (reserve(w, n + 2) < 0)
			return;
		p = w->buf + w->len;
		*p++ = '"';
		memcpy(p, s, n);
		p[n] = '"';
		w->len += n + 2;
		w->buf[w->len] = '\0';
		return;
	}
	append_char(w, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		size_t replen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"':  rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		case '\b': rep = "\\b"; break;
		case '\f': rep = "\\f"; break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esc[6] = '\0';
			rep = esc;
			replen = 6;
		}
		append(w, s + start, i - start);
		append(w, rep, replen);
		start = i + 1;
	}
	append(w, s + start, n - start);
	append_char(w, '"');
}

void
mdas_jsonw_key(struct mdas_jsonw *w, const char *key)
{
	before_value(w);
	append_escaped(w, key, strlen(key));
	append_char(w, ':');
	w->after_key = 1;
}

void
mdas_jsonw_string(struct mdas_jsonw *w, const char *s)
{
	if (s == NULL) {
		mdas_jsonw_null(w);
		return;
	}
	mdas_jsonw_string_n(w, s, strlen(s));
}

void
mdas_jsonw_string_n(struct mdas_jsonw *w, const char *s, size_t len)
{
	before_value(w);
	append_escaped(w, s, len);
}

/* Fast path for the common case, a value with at most 15 significant
 * digits in plain notation (prices, volumes): the fewest decimals k for
 * which round(|v| * 10^k) / 10^k reads back as |v|.  Below 10^15 the
 * product's rounding error cannot move round() off the right integer, and
 * any decimal of 15 or fewer digits maps to its own double, so this finds
 * the same shortest form as the slow path.  Longer values (float32 noise
 * such as 74.05999755859375) take the slow path.  Returns -1 then. */
static int
format_fast(double v, char *buf)
{
	static const double p10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	char digits[24];
	double a = v < 0 ? -v : v, m;
	uint64_t u;
	int k, n = 0, pos = 0, i;

	if (!(a >= 1e-7 && a < 1e15))
		return -1;
	for (k = 0; ; k++) {
		if (k >= (int)(sizeof(p10) / sizeof(p10[0])) || a * p10[k] >= 1e15)
			return -1;
		m = nearbyint(a * p10[k]);
		if (m / p10[k] == a)
			break;
	}
	for (u = (uint64_t)m; u != 0 || n == 0; u /= 10)
		digits[n++] = (char)('0' + u % 10);   /* reversed */
	if (v < 0)
		buf[pos++] = '-';
	if (n <= k) {
		buf[pos++] = '0';
		buf[pos++] = '.';
		for (i = 0; i < k - n; i++)
			buf[pos++] = '0';
	}
	for (i = n - 1; i >= 0; i--) {
		buf[pos++] = digits[i];
		if (i == k && i > 0 && n > k)
			buf[pos++] = '.';
	}
	buf[pos] = '\0';
	return pos;
}

int
mdas_format_double(double v, char *buf)
{
	char tmp[MDAS_NUMBER_MAX], digits[24];
	int prec, exp10, ndigits = 0, i, pos = 0;
	char *p, *e;

	if (!isfinite(v)) {
		memcpy(buf, "null", 5);
		return 4;
	}
	if (v == 0) {
		memcpy(buf, "0", 2);
		return 1;
	}
	if ((pos = format_fast(v, buf)) >= 0)
		return pos;
	pos = 0;
	/* Fewest significant digits that read back as v: 15 suffice for any
	 * value written with 15 or fewer, 17 for any double; subnormals have
	 * less precision and may need fewer, so they start from 1. */
	for (prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (prec == 17 || strtod(tmp, NULL) == v)
			break;
	}
	p = tmp;
	if (*p == '-')
		buf[pos++] = *p++;
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[ndigits++] = *p;
	exp10 = (int)strtol(p + 1, &e, 10);
	while (ndigits > 1 && digits[ndigits - 1] == '0')
		ndigits--;

	if (exp10 >= -7 && exp10 < 18) {
		if (exp10 < 0) {
			buf[pos++] = '0';
			buf[pos++] = '.';
			for (i = -1; i > exp10; i--)
				buf[pos++] = '0';
			for (i = 0; i < ndigits; i++)
				buf[pos++] = digits[i];
		} else {
			for (i = 0; i <= exp10 || i < ndigits; i++) {
				if (i == exp10 + 1)
					buf[pos++] = '.';
				buf[pos++] = i < ndigits ? digits[i] : '0';
			}
		}
	} else {
		buf[pos++] = digits[0];
		if (ndigits > 1) {
			buf[pos++] = '.';
			for (i = 1; i < ndigits; i++)
				buf[pos++] = digits[i];
		}
		pos += snprintf(buf + pos, MDAS_NUMBER_MAX - (size_t)pos, "e%+d", exp10);
	}
	buf[pos] = '\0';
	return pos;
}

void
mdas_jsonw_number(struct mdas_jsonw *w, double v)
{
	char num[MDAS_NUMBER_MAX];
	int n;

	before_value(w);
	n = mdas_format_double(v, num);
	append(w, num, (size_t)n);
}

void
mdas_jsonw_int(struct mdas_jsonw *w, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	before_value(w);
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	append(w, p, (size_t)(num + sizeof(num) - p));
}

void
mdas_jsonw_bool(struct mdas_jsonw *w, int v)
{
	before_value(w);
	if (v)
		append(w, "true", 4);
	else
		append(w, "false", 5);
}

void
mdas_jsonw_null(struct mdas_jsonw *w)
{
	before_value(w);
	append(w, "null", 4);
}

void
mdas_jsonw_raw(struct mdas_jsonw *w, const char *json, size_t len)
{
	before_value(w);
	append(w, json, len);
}

void
mdas_jsonw_json(struct mdas_jsonw *w, struct json_object *obj)
{
	const char *s;
	size_t len;

	if (obj == NULL) {
		mdas_jsonw_null(w);
		return;
	}
	s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL) {
		w->failed = 1;
		return;
	}
	mdas_jsonw_raw(w, s, len);
}

const char *
mdas_jsonw_buffer(const struct mdas_jsonw *w, size_t *len)
{
	if (len != NULL)
		*len = w->len;
	return w->buf;
}

int
mdas_jsonw_write_line(struct mdas_jsonw *w, FILE *fp)
{
	int rc = 0;

	if (w->failed) {
		errno = ENOMEM;
		rc = -1;
	} else {
		append_char(w, '\n');
		if (w->failed || fwrite(w->buf, 1, w->len, fp) != w->len)
			rc = -1;
	}
	mdas_jsonw_reset(w);
	w->failed = 0;
	return rc;
}
