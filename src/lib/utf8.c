#include "config.h"

#include <string.h>

#include "utf8.h"

size_t
mdas_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c, min;
	size_t len, i;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	/* Lead bytes c0, c1 and f5..ff never occur; the minimum per length
	 * rejects the remaining overlong forms (e0 80..9f, f0 80..8f). */
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/* Inlined into both callers, so the plain check (reject NULL) keeps its
 * tight ASCII loop: it runs over every input line. */
static inline __attribute__((always_inline)) size_t
scan(const char *s, size_t n, int (*reject)(uint32_t cp))
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		/* ASCII runs are the common case: no decoding needed, and
		 * without a reject function eight bytes at a time. */
		if (reject == NULL) {
			uint64_t w;

			while (n - i >= 8) {
				memcpy(&w, s + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			if (i == n)
				break;
		}
		if ((unsigned char)s[i] < 0x80) {
			if (reject != NULL && reject((unsigned char)s[i]))
				return i;
			i++;
			continue;
		}
		if ((k = mdas_utf8_decode(s + i, n - i, &cp)) == 0 ||
		    (reject != NULL && reject(cp)))
			return i;
		i += k;
	}
	return n;
}

size_t
mdas_utf8_invalid_at(const char *s, size_t n)
{
	return scan(s, n, NULL);
}

size_t
mdas_utf8_scan(const char *s, size_t n, int (*reject)(uint32_t cp))
{
	return scan(s, n, reject);
}

size_t
mdas_utf8_replace(const char *s, size_t n, char *dst, size_t size,
    int (*reject)(uint32_t cp))
{
	size_t i = 0, o = 0, k;
	uint32_t cp;

	if (size == 0)
		return 0;
	while (i < n) {
		k = mdas_utf8_decode(s + i, n - i, &cp);
		if (k == 0 || (reject != NULL && reject(cp))) {
			if (o + 3 + 1 > size)
				break;
			memcpy(dst + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i += k ? k : 1;
			continue;
		}
		if (o + k + 1 > size)
			break;
		memcpy(dst + o, s + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
	return o;
}

int
mdas_utf8_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

static int
hex4(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

int
mdas_json_bad_escape(const char *s, size_t n, size_t *at, uint32_t *cp_out)
{
	uint32_t cp, lo;
	int in_string = 0;
	size_t i;

	/* Most lines have no escape at all. */
	if (memchr(s, '\\', n) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '"') {
			in_string = !in_string;
			continue;
		}
		if (!in_string || s[i] != '\\')
			continue;
		if (i + 1 >= n || s[i + 1] != 'u' || hex4(s + i + 2, n - i - 2, &cp) < 0) {
			i++;   /* a one-letter escape: skip the letter */
			continue;
		}
		if (cp >= 0xD800 && cp <= 0xDBFF && i + 11 < n && s[i + 6] == '\\' &&
		    s[i + 7] == 'u' && hex4(s + i + 8, n - i - 8, &lo) == 0 &&
		    lo >= 0xDC00 && lo <= 0xDFFF) {
			i += 11;
			continue;
		}
		if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
			*at = i;
			*cp_out = cp;
			return 1;
		}
		i += 5;
	}
	return 0;
}

int
mdas_json_raw_control(const char *s, size_t n, size_t *at)
{
	const unsigned char *u = (const unsigned char *)s;
	int in_string = 0;
	size_t i;

	/* Most lines have no control character at all. */
	for (i = 0; i < n && u[i] >= 0x20; i++)
		;
	if (i == n)
		return 0;
	for (i = 0; i < n; i++) {
		if (u[i] == '"')
			in_string = !in_string;
		else if (in_string && u[i] == '\\')
			i++;    /* the escaped character, '"' included */
		else if (u[i] < 0x20 && (in_string ||
		    (u[i] != '\t' && u[i] != '\n' && u[i] != '\r'))) {
			*at = i;
			return 1;
		}
	}
	return 0;
}
