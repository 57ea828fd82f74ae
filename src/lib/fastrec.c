/* fastrec.c: one pass over a flat record line (fastrec.h).
 *
 * Pass 1 checks the whole line's syntax and notes, per slot, where its
 * last value lies and what it is, touching nothing, so that any surprise
 * can still hand the intact line to json-c.  Pass 2, once the line is
 * known to be ours, writes each value's terminating NUL over the byte
 * after it (a closing quote, or the ',' or '}' after a number) and
 * unescapes strings in place, so the slots point into the line. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastrec.h"
#include "schema.h"

#define NSLOTS MDAS_EXPORT_NSLOTS
#define NUMBER_TEXT_MAX 64    /* longer numbers (rare): json-c */
#define INT_DIGITS_MAX 18     /* never clamped, never INT64_MIN/MAX */
#define POW10_EXACT 22        /* 10^22 is the largest exact power */
#define MANT_EXACT (UINT64_C(1) << 53)
/* Array elements a line may hold here (imputed holds at most 36): more
 * go to json-c, so the element list stays small whatever the input. */
#define ELEMS_MAX 1024

static const char *const error_only[] = {
	"stage", "http_status", "code", "message", "retryable", "attempts",
};

static const char *names[NSLOTS];
static size_t namelen[NSLOTS];
static int names_ok = -1;

struct pend {
	unsigned char present;    /* the key was seen (null included) */
	unsigned char type;       /* enum mdas_val_type */
	unsigned char esc;        /* a string with escapes */
	unsigned char underflowed;
	size_t start, len;        /* string contents, or number text */
	size_t e0, ne;            /* STRINGS: elements in el[] */
	double d;
	int64_t i;
	const char *text;         /* a static text ("0" for -0, booleans) */
};

struct elem {
	size_t start, len;
	int esc;
};

static const struct mdas_export_str no_elems[1] = { { "", 0 } };

struct mdas_fastrec {
	struct pend p[NSLOTS];
	signed char next_guess[NSLOTS + 1];   /* the slot after slot i last time */
	struct elem *el;
	struct mdas_export_str *out;
	size_t nel, cap;
};

static int
names_init(void)
{
	size_t i, n = 0;

	if (names_ok >= 0)
		return names_ok;
	if (mdas_export_nfields + sizeof(error_only) / sizeof(error_only[0]) != NSLOTS)
		return names_ok = 0;
	for (i = 0; i < mdas_export_nfields; i++)
		names[n++] = mdas_export_fields[i].name;
	for (i = 0; i < sizeof(error_only) / sizeof(error_only[0]); i++)
		names[n++] = error_only[i];
	for (i = 0; i < NSLOTS; i++)
		namelen[i] = strlen(names[i]);
	return names_ok = 1;
}

const char *
mdas_fastrec_slot_name(int slot)
{
	if (!names_init() || slot < 0 || slot >= NSLOTS)
		return NULL;
	return names[slot];
}

struct mdas_fastrec *
mdas_fastrec_new(void)
{
	struct mdas_fastrec *f;

	if (!names_init() || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	memset(f->next_guess, -1, sizeof(f->next_guess));
	return f;
}

void
mdas_fastrec_free(struct mdas_fastrec *f)
{
	if (f == NULL)
		return;
	free(f->el);
	free(f->out);
	free(f);
}

/* Keys are short: a loop beats a call to memcmp(). */
static inline int
key_eq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* The slot of key k[0..n); prev is the slot of the key before it (or
 * NSLOTS), whose successor is guessed first: records come in the
 * schema's order. */
static int
lookup(struct mdas_fastrec *f, int prev, const char *k, size_t n)
{
	int g = f->next_guess[prev], i;

	if (g >= 0 && namelen[g] == n && key_eq(names[g], k, n))
		return g;
	for (i = 0; i < NSLOTS; i++)
		if (namelen[i] == n && key_eq(names[i], k, n)) {
			f->next_guess[prev] = (signed char)i;
			return i;
		}
	return -1;
}

/* Bytes that end a run of plain string text. */
static const unsigned char special[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
};

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long
hex4(const char *s)
{
	long v = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if ((h = hexval((unsigned char)s[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* s[*pos] is just past an opening quote: moves *pos to the closing one.
 * -1 for what json-c or the reader treat otherwise: a raw control
 * character (the reader names it), an unpaired surrogate or \u0000 (the
 * same), a surrogate pair (json-c's to decode), any other escape (an
 * error), the end of the line. */
static int
scan_string(const char *s, size_t end, size_t *pos, int *esc)
{
	size_t i = *pos;
	long cp;

	for (;;) {
		while (i < end && !special[(unsigned char)s[i]])
			i++;
		if (i >= end)
			return -1;
		if (s[i] == '"') {
			*pos = i;
			return 0;
		}
		if (s[i] != '\\' || i + 1 >= end)
			return -1;
		*esc = 1;
		switch (s[i + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			i += 2;
			continue;
		case 'u':
			if (end - i < 6 || (cp = hex4(s + i + 2)) <= 0 ||
			    (cp >= 0xD800 && cp <= 0xDFFF))
				return -1;
			i += 6;
			continue;
		default:
			return -1;
		}
	}
}

/* Decodes the escapes of s[0..n) (as scan_string() let through) in
 * place; returns the new length. */
static size_t
unescape(char *s, size_t n)
{
	size_t r = 0, w = 0;
	long cp;
	char c;

	while (r < n) {
		if (s[r] != '\\') {
			s[w++] = s[r++];
			continue;
		}
		switch (s[r + 1]) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			cp = hex4(s + r + 2);
			r += 6;
			if (cp < 0x80)
				s[w++] = (char)cp;
			else if (cp < 0x800) {
				s[w++] = (char)(0xC0 | (cp >> 6));
				s[w++] = (char)(0x80 | (cp & 0x3F));
			} else {
				s[w++] = (char)(0xE0 | (cp >> 12));
				s[w++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				s[w++] = (char)(0x80 | (cp & 0x3F));
			}
			continue;
		default: c = s[r + 1]; break;   /* '"', '\\', '/' */
		}
		s[w++] = c;
		r += 2;
	}
	return w;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An RFC 8259 number at s[*pos], read as json-c reads it: an integer
 * when it has no '.', 'e' or 'E' (of at most INT_DIGITS_MAX digits here;
 * longer ones json-c clamps or widens), else a double as strtod() reads
 * it, exactly: Clinger's fast path (a mantissa below 2^53 and a power of
 * ten up to 22 are both exact, so one IEEE operation rounds correctly)
 * or strtod() itself. */
static int
scan_number(const char *s, size_t end, size_t *pos, struct pend *pv)
{
	static const double p10[POW10_EXACT + 1] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	size_t i = *pos, st = i;
	uint64_t m = 0;
	int64_t e10 = 0, ex = 0;
	int neg = 0, dbl = 0, nd = 0, trunc = 0, nint = 0, eneg = 0;
	char buf[NUMBER_TEXT_MAX], *e;
	double d;

#define ADD_DIGIT(c) do { \
		if (m == 0 && (c) == '0') \
			; \
		else if (nd < 19) { \
			m = m * 10 + (uint64_t)((c) - '0'); \
			nd++; \
		} else \
			trunc = 1; \
	} while (0)

	if (s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i < end && s[i] == '0') {
		i++;
		nint = 1;
		if (i < end && is_digit(s[i]))
			return -1;
	} else if (i < end && s[i] >= '1' && s[i] <= '9') {
		for (; i < end && is_digit(s[i]); i++, nint++) {
			ADD_DIGIT(s[i]);
			if (trunc)
				e10++;
		}
	} else
		return -1;
	if (i < end && s[i] == '.') {
		dbl = 1;
		if (++i >= end || !is_digit(s[i]))
			return -1;
		for (; i < end && is_digit(s[i]); i++) {
			ADD_DIGIT(s[i]);
			if (!trunc)
				e10--;
		}
	}
	if (i < end && (s[i] == 'e' || s[i] == 'E')) {
		dbl = 1;
		i++;
		if (i < end && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (i >= end || !is_digit(s[i]))
			return -1;
		for (; i < end && is_digit(s[i]); i++)
			if (ex < 1000000)
				ex = ex * 10 + (s[i] - '0');
		e10 += eneg ? -ex : ex;
	}
#undef ADD_DIGIT
	/* What may follow a number in an object (s[end] is a NUL). */
	if (s[i] != ',' && s[i] != '}' && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
		return -1;
	pv->start = st;
	pv->len = i - st;
	pv->text = NULL;
	pv->underflowed = 0;
	if (!dbl) {
		if (nint > INT_DIGITS_MAX)
			return -1;
		pv->type = MDAS_VAL_INT;
		pv->i = neg ? -(int64_t)m : (int64_t)m;
		pv->d = (double)pv->i;
		if (neg && m == 0)
			pv->text = "0";     /* json-c's integer -0 is 0 */
		*pos = i;
		return 0;
	}
	pv->type = MDAS_VAL_DOUBLE;
	if (!trunc && m <= MANT_EXACT && e10 >= -POW10_EXACT && e10 <= POW10_EXACT) {
		d = e10 < 0 ? (double)m / p10[-e10] : (double)m * p10[e10];
		pv->d = neg ? -d : d;
	} else {
		if (pv->len >= sizeof(buf))
			return -1;
		memcpy(buf, s + st, pv->len);
		buf[pv->len] = '\0';
		pv->d = strtod(buf, &e);
		if (e != buf + pv->len)
			return -1;
		/* A non-zero mantissa read as 0 (mdas_json_underflowed()). */
		pv->underflowed = pv->d == 0 && m != 0;
	}
	*pos = i;
	return 0;
}

static int
add_elem(struct mdas_fastrec *f, size_t start, size_t len, int esc)
{
	if (f->nel == ELEMS_MAX)
		return 0;
	if (f->nel == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct elem *el = realloc(f->el, cap * sizeof(*el));
		struct mdas_export_str *out;

		if (el == NULL)
			return -1;
		f->el = el;
		if ((out = realloc(f->out, cap * sizeof(*out))) == NULL)
			return -1;
		f->out = out;
		f->cap = cap;
	}
	f->el[f->nel].start = start;
	f->el[f->nel].len = len;
	f->el[f->nel].esc = esc;
	f->nel++;
	return 1;
}

static size_t
skip_ws(const char *s, size_t i)
{
	/* s ends with a NUL, which stops this. */
	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')
		i++;
	return i;
}

/* Pass 1.  1: ours, 0: json-c's, -1: out of memory. */
static int
scan(struct mdas_fastrec *f, const char *s, size_t end)
{
	struct pend dummy, *pv;
	size_t i = skip_ws(s, 0), k0;
	int prev = NSLOTS, slot, esc, rc;

	if (s[i] != '{')
		return 0;
	i = skip_ws(s, i + 1);
	if (s[i] == '}')
		goto close;
	for (;;) {
		if (s[i] != '"')
			return 0;
		k0 = ++i;
		esc = 0;
		if (scan_string(s, end, &i, &esc) < 0 || esc)
			return 0;
		slot = lookup(f, prev, s + k0, i - k0);
		if (slot >= 0) {
			pv = &f->p[slot];
			prev = slot;
		} else
			pv = &dummy;
		i = skip_ws(s, i + 1);
		if (s[i] != ':')
			return 0;
		i = skip_ws(s, i + 1);
		pv->present = 1;
		pv->esc = 0;
		switch (s[i]) {
		case '"':
			pv->start = ++i;
			esc = 0;
			if (scan_string(s, end, &i, &esc) < 0)
				return 0;
			pv->type = MDAS_VAL_STRING;
			pv->esc = (unsigned char)esc;
			pv->len = i - pv->start;
			i++;
			break;
		case 't':
			if (strncmp(s + i, "true", 4) != 0)
				return 0;
			pv->type = MDAS_VAL_BOOL;
			pv->i = 1;
			pv->text = "true";
			i += 4;
			break;
		case 'f':
			if (strncmp(s + i, "false", 5) != 0)
				return 0;
			pv->type = MDAS_VAL_BOOL;
			pv->i = 0;
			pv->text = "false";
			i += 5;
			break;
		case 'n':
			if (strncmp(s + i, "null", 4) != 0)
				return 0;
			pv->type = MDAS_VAL_NULL;
			i += 4;
			break;
		case '[':
			pv->type = MDAS_VAL_STRINGS;
			pv->e0 = f->nel;
			pv->ne = 0;
			i = skip_ws(s, i + 1);
			if (s[i] == ']') {
				i++;
				break;
			}
			for (;;) {
				if (s[i] != '"')
					return 0;
				k0 = ++i;
				esc = 0;
				if (scan_string(s, end, &i, &esc) < 0)
					return 0;
				if (pv != &dummy) {
					if ((rc = add_elem(f, k0, i - k0, esc)) <= 0)
						return rc;
					pv->ne++;
				}
				i = skip_ws(s, i + 1);
				if (s[i] == ']')
					break;
				if (s[i] != ',')
					return 0;
				i = skip_ws(s, i + 1);
			}
			i++;
			break;
		default:
			if (s[i] != '-' && !is_digit(s[i]))
				return 0;
			if (scan_number(s, end, &i, pv) < 0)
				return 0;
			break;
		}
		i = skip_ws(s, i);
		if (s[i] == '}')
			break;
		if (s[i] != ',')
			return 0;
		i = skip_ws(s, i + 1);
	}
close:
	i = skip_ws(s, i + 1);
	return i == end ? 1 : 0;
}

int
mdas_fastrec_parse(struct mdas_fastrec *f, char *line, size_t len,
    struct mdas_export_rec *rec, int *type_present)
{
	struct pend *t = &f->p[0];   /* "type" is mdas_export_fields[0] */
	size_t i, k;
	int rc;

	for (i = 0; i < NSLOTS; i++) {
		f->p[i].present = 0;
		f->p[i].type = MDAS_VAL_NULL;
	}
	f->nel = 0;
	if ((rc = scan(f, line, len)) != 1)
		return rc;
	/* Error records keep their JSON as it came (json-c); so does a
	 * type whose text json-c must decode. */
	if (t->type == MDAS_VAL_STRING && (t->esc ||
	    (t->len == 5 && memcmp(line + t->start, "error", 5) == 0)))
		return 0;

	/* Pass 2: the line is ours now. */
	*type_present = t->present;
	for (i = 0; i < NSLOTS; i++) {
		struct pend *pv = &f->p[i];
		struct mdas_export_val *v = &rec->v[i];
		char *s = line + pv->start;

		v->type = (enum mdas_val_type)pv->type;
		v->json = NULL;
		switch (pv->type) {
		case MDAS_VAL_NULL:
			v->text = "";
			v->len = 0;
			break;
		case MDAS_VAL_STRING:
			if (pv->esc)
				pv->len = unescape(s, pv->len);
			s[pv->len] = '\0';
			v->text = s;
			v->len = pv->len;
			break;
		case MDAS_VAL_INT:
		case MDAS_VAL_DOUBLE:
			s[pv->len] = '\0';
			v->clamped = 0;
			v->underflowed = pv->underflowed;
			v->text = pv->text != NULL ? pv->text : s;
			v->len = pv->text != NULL ? 1 : pv->len;
			v->d = pv->d;
			v->i = pv->i;
			break;
		case MDAS_VAL_BOOL:
			v->text = pv->text;
			v->len = pv->i ? 4 : 5;
			v->i = pv->i;
			break;
		case MDAS_VAL_STRINGS:
			for (k = pv->e0; k < pv->e0 + pv->ne; k++) {
				struct elem *e = &f->el[k];
				char *es = line + e->start;

				if (e->esc)
					e->len = unescape(es, e->len);
				es[e->len] = '\0';
				f->out[k].s = es;
				f->out[k].len = e->len;
			}
			/* (out is NULL until the first element) */
			v->elems = pv->ne > 0 ? f->out + pv->e0 : no_elems;
			v->nelems = pv->ne;
			v->text = "";
			v->len = 0;
			break;
		}
	}
	return 1;
}
