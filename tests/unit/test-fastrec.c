/* test-fastrec.c: the reader's fast path (fastrec.c, mdas_export_next_rec)
 * against the json-c path (mdas_export_next), line for line.
 *
 * A corpus of records and hostile variants of them (every value of the
 * sample records replaced by odd numbers, strings, escapes, arrays and
 * objects; keys given twice; random byte edits; whole-line oddities; the
 * golden record files and tests/fuzz/crashes) is read by both readers.
 * They must accept the same lines as the same kind, print the same
 * messages byte for byte, and hold the same values: each slot's type,
 * text, number (bit for bit) and cell (mdas_export_val_cell against
 * mdas_export_cell_value of json-c's value).  And the fast path must have
 * read most of the corpus, or this would prove nothing. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "log.h"
#include "schema.h"
#include "tap.h"

static const char *const values[] = {
	"-0", "0", "-0.0", "0.0", "1e400", "-1e400", "1e-400", "0e-400", "-1e-400",
	"1E5", "1e+5", "1.5e-3", "01", "-01", "00", "1.", ".5", "-", "+1", "1.e5",
	"123456789012345678", "1234567890123456789", "-123456789012345678",
	"-1234567890123456789", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-9223372036854775809", "18446744073709551616",
	"0.1", "74.05999755859375", "60755.18000000", "1e22", "1e23", "1e-22",
	"9007199254740993", "9007199254740993.0", "9007199254740992.0",
	"123456789012345678901234567890.5", "0.1234567890123456789012",
	"4.9e-324", "2.4e-324", "2.2250738585072011e-308", "1.7976931348623157e308",
	"1.7976931348623159e308", "1e18", "-1e18", "999999999999999999",
	"999999999999999999.0", "0.000000001", "-5", "-1e-5", "-0.5", "5e-1",
	"1e0000000000000000000000001", "1e-0000000000000000000000001",
	"0.00000000000000000000000000000000000000000000000000000000000000000000001",
	"1.5x", "1-2", "1.-5", "2e", "2e+", "--1", "-a",
	"NaN", "Infinity", "-Infinity", "true", "false", "null", "nul", "tru",
	"True", "nulll", "falsey",
	"\"\"", "\"x\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"\\u00E9\\u20ac\"",
	"\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\u0000\"", "\"\\/\"",
	"\"\\x\"", "\"\\t\\n\\r\\b\\f\\\\\"", "\"tab\there\"", "\"\\u001f\"",
	"\"\\u12\"", "\"\\u12g4\"", "\"a/b\"", "\"=1+2\"", "\"-3\"", "\"\xc3\xa9\"",
	"\"2023-09-01T20:00:01.000Z\"", "\"2023-09-01\"", "\"1969-12-31T23:59:59.999Z\"",
	"\"1970-01-01T00:00:00.000Z\"", "\"9999-12-31T23:59:59.999Z\"",
	"\"10000-01-01T00:00:00.000Z\"", "\"2023-02-30T00:00:00.000Z\"",
	"\"2023-09-01T20:00:01Z\"", "\"2023-09-01 20:00:01\"", "\"1969-12-31\"",
	"\"10000-01-01\"", "\"future\"", "\"futur\\u0065\"", "\"error\"", "\"bar\"",
	"\"quote\"", "\"dividend\"", "\"split\"", "\"err\\u006fr\"", "\"b\\u0061r\"",
	"[]", "[\"a\"]", "[\"a\",\"b\"]", "[1]", "[\"a\",1]", "[[]]", "[null]",
	"{}", "{\"a\":1}", "[\"\\u00e9\",\"x\\\"y\"]", "[ \"a\" , \"b\" ]", "[\"a\",]",
	"[\"a\" \"b\"]", "[", "]", "{", "1 ", " 1", "\t2.5\t", "\r3",
	"\"high\"", "\"low\"",
};

/* Whole lines. */
static const char *const lines[] = {
	"", "   ", "\t\r", "{}", "[]", "1", "\"x\"", "null", "{\"type\":null}",
	"{\"type\":1}", "{\"type\":\"bar\"} x", "{\"type\":\"bar\",}", "{,}",
	"{\"type\":\"bar\"", "\xff", "{\"type\":\"bar\"}\r", "\t{\"type\":\"bar\"}\t",
	"{\"ty\\u0070e\":\"bar\"}", "{\"type\":\"bar\",\"type\":\"error\"}",
	"{\"type\":\"error\",\"type\":\"bar\"}", "{\"type\":\"error\"}",
	"{\"type\":\"bar\",\"type\":null}", "{\"type\":\"quote\",\"bid\":0}",
	"{\"type\":\"quote\",\"bid_size\":1}", "{\"type\":\"split\",\"numerator\":2}",
	"{\"type\":\"dividend\"}", "{\"type\":\"dividend\",\"amount\":0.5,\"open\":\"x\"}",
	"{\"type\":\"bar\",\"high\":1,\"low\":2}", "{\"type\":\"bar\",\"high\":2,\"low\":1,\"close\":3}",
	"{\"type\":\"bar\",\"high\":2,\"low\":1,\"close\":2.000001}",
	"{\"type\":\"bar\",\"amount\":[1,{\"a\":[]}],\"numerator\":true}",
	"{\"type\":\"bar\",\"message\":\"m\",\"stage\":1}",
	"{\"type\":\"error\",\"stage\":\"fetch\",\"code\":-1121,\"message\":\"x\\u00e9\"}",
	"{\"type\" : \"bar\" , \"ts_ms\" : 5 }", "{\"type\":\"bar\"}{}",
	"{\"type\":\"bar\",\"\":1}", "{\"type\":\"bar\",\"x\":{\"y\":1}}",
	"{\"type\":\"bar\",\"x\":[1,2]}", "{\"type\":\"bar\",\"x\":[\"a\",[\"b\"]]}",
	"{\"type\":\"bar\",\"imputed\":[\"open\",\"close\"]}",
	"{\"type\":\"bar\",\"imputed\":\"open\"}", "{\"type\":\"bar\"\x01}",
	"{\"type\":\"bar\",\"symbol\":\"a\x01b\"}", "{\"type\":\"bar\",\"symbol\":\"a\x7f\"}",
	"{\"type\":\"bar\",\"symbol\":\"\xed\xa0\x80\"}", "{\"type\":\"bar\" /* c */}",
	"{\"type\":\"bar\",'symbol':1}", "{type:\"bar\"}",
	"{\"type\":\"bar\",\"schema_version\":2}", "{\"type\":\"bar\",\"schema_version\":1.0}",
	"{\"type\":\"b\\u00e4r\"}", "{\"type\":\"" "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789\"}",
};

static FILE *corpus;
static char corpus_path[4096];
static unsigned long nlines;

static void
emit(const char *s, size_t n)
{
	fwrite(s, 1, n, corpus);
	fputc('\n', corpus);
	nlines++;
}

/* Line with the value of the key at key_at replaced by v. */
static void
emit_replaced(const char *line, size_t value_at, size_t value_end, const char *v)
{
	fwrite(line, 1, value_at, corpus);
	fputs(v, corpus);
	fputs(line + value_end, corpus);
	fputc('\n', corpus);
	nlines++;
}

/* The end of the flat value starting at s[i] (the sample's values are
 * flat: strings, numbers, literals, arrays of strings). */
static size_t
value_end(const char *s, size_t i)
{
	if (s[i] == '"') {
		for (i++; s[i] != '"'; i++)
			if (s[i] == '\\')
				i++;
		return i + 1;
	}
	if (s[i] == '[') {
		while (s[i] != ']')
			i++;
		return i + 1;
	}
	while (s[i] != ',' && s[i] != '}')
		i++;
	return i;
}

static unsigned long rng = 88172645463325252UL;

static unsigned
pick(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void
variants(const char *line)
{
	static const char noise[] = "\"\\{}[],:0123456789eE.+-tfnu \t\r\x01\x7f\xc3\xa9\xff";
	size_t n = strlen(line), i, j, e;
	char buf[8192];
	int k;

	emit(line, n);
	for (i = 0; i < n; i++) {
		if (line[i] != ':' || line[i - 1] != '"')
			continue;
		e = value_end(line, i + 1);
		for (j = 0; j < sizeof(values) / sizeof(values[0]); j++)
			emit_replaced(line, i + 1, e, values[j]);
		/* The key again at the end, with another value: the last wins. */
		for (j = 0; j < sizeof(values) / sizeof(values[0]); j += 7) {
			size_t k0 = i - 2;

			while (line[k0] != '"')
				k0--;
			snprintf(buf, sizeof(buf), "%.*s,%.*s:%s}", (int)(n - 1), line,
			    (int)(i - k0), line + k0, values[j]);
			emit(buf, strlen(buf));
		}
	}
	/* Random edits. */
	for (k = 0; k < 400 && n < sizeof(buf) - 8; k++) {
		size_t len = n, at;
		int edits = 1 + (int)pick(3), m;

		memcpy(buf, line, n);
		for (m = 0; m < edits; m++) {
			at = pick((unsigned)len);
			switch (pick(3)) {
			case 0:
				buf[at] = noise[pick(sizeof(noise) - 1)];
				break;
			case 1:
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = noise[pick(sizeof(noise) - 1)];
				len++;
				break;
			default:
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			}
		}
		for (at = 0; at < len; at++)
			if (buf[at] == '\n' || buf[at] == '\0')
				buf[at] = ' ';
		emit(buf, len);
	}
}

static void
add_file(const char *path, int mutate)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (fp == NULL)
		return;
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (mutate && strlen(line) == (size_t)n && n > 2 && line[0] == '{')
			variants(line);
		else
			emit(line, (size_t)n);
	}
	free(line);
	fclose(fp);
}

static void
add_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		add_file(path, 0);
	}
	closedir(d);
}

/* Reads f through one path with stderr into a file; returns the
 * messages (malloc'ed). */
static char *
messages(FILE *f, int fast, unsigned long *nfast, unsigned long *nok)
{
	FILE *cap = tmpfile(), *in = fopen(corpus_path, "r");
	struct mdas_export_reader *r;
	const struct mdas_export_rec *rec;
	struct json_object *obj;
	struct mdas_error err;
	long size;
	char *text;
	int saved;

	(void)f;
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(cap), 2);
	r = mdas_export_reader_new(in, "<stdin>");
	*nok = 0;
	if (fast)
		while (mdas_export_next_rec(r, &rec, &err) > 0)
			(*nok)++;
	else
		while (mdas_export_next(r, &obj, &err) > 0)
			(*nok)++;
	*nfast = mdas_export_nfast(r);
	mdas_export_reader_free(r);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fclose(in);
	size = ftell(cap);
	rewind(cap);
	text = calloc(1, (size_t)size + 1);
	if (fread(text, 1, (size_t)size, cap) != (size_t)size)
		abort();
	fclose(cap);
	return text;
}

static int
same_val(const struct mdas_export_val *a, const struct mdas_export_val *b,
    char *why, size_t n)
{
	struct mdas_cell ca, cb;
	const char *sa, *sb;
	size_t la, lb, k;

	if (a->type != b->type)
		return snprintf(why, n, "type %d vs %d", a->type, b->type), 0;
	if (a->len != b->len || memcmp(a->text, b->text, a->len) != 0 || a->text[a->len] != '\0')
		return snprintf(why, n, "text '%s' vs '%s'", a->text, b->text), 0;
	if ((a->type == MDAS_VAL_INT || a->type == MDAS_VAL_DOUBLE) &&
	    (memcmp(&a->d, &b->d, sizeof(double)) != 0 || a->clamped != b->clamped ||
	    a->underflowed != b->underflowed))
		return snprintf(why, n, "number %.17g vs %.17g", a->d, b->d), 0;
	if ((a->type == MDAS_VAL_INT || a->type == MDAS_VAL_BOOL) && a->i != b->i)
		return snprintf(why, n, "integer"), 0;
	if (a->type == MDAS_VAL_STRINGS) {
		if (a->nelems != b->nelems)
			return snprintf(why, n, "elements"), 0;
		for (k = 0; k < a->nelems; k++) {
			sa = mdas_export_val_elem(a, k, &la);
			sb = mdas_export_val_elem(b, k, &lb);
			if (la != lb || memcmp(sa, sb, la) != 0)
				return snprintf(why, n, "element %zu", k), 0;
		}
	}
	sa = mdas_export_val_cell(a, &ca, &la);
	sb = mdas_export_val_cell(b, &cb, &lb);
	if (la != lb || memcmp(sa, sb, la) != 0)
		return snprintf(why, n, "cell '%s' vs '%s'", sa, sb), 0;
	return 1;
}

int
main(void)
{
	const char *top = getenv("top_srcdir");
	struct mdas_export_reader *ra, *rb;
	const struct mdas_export_rec *rec;
	struct mdas_export_rec ja;
	struct json_object *obj;
	struct mdas_error err;
	enum mdas_export_kind ka, kb;
	unsigned long nfast, nok_a, nok_b, nrec = 0, bad_views = 0, bad_cells = 0;
	char path[4096], why[256], *ma, *mb;
	FILE *fa, *fb;
	size_t i;
	int s, devnull, saved;

	mdas_log_init("test-fastrec");
	if (top == NULL)
		top = ".";
	snprintf(corpus_path, sizeof(corpus_path), "%s/test-fastrec.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if ((s = mkstemp(corpus_path)) < 0 || (corpus = fdopen(s, "w+")) == NULL)
		return 99;
	snprintf(path, sizeof(path), "%s/tests/golden/records-sample.ndjson", top);
	add_file(path, 1);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		emit(lines[i], strlen(lines[i]));
	/* Arrays around the fast path's limit of 1024 elements. */
	for (i = 1020; i < 1030; i++) {
		char big[8192];
		size_t at, k;

		at = (size_t)snprintf(big, sizeof(big), "{\"type\":\"bar\",\"imputed\":[");
		for (k = 0; k < i; k++)
			at += (size_t)snprintf(big + at, sizeof(big) - at, "%s\"\"", k ? "," : "");
		at += (size_t)snprintf(big + at, sizeof(big) - at, "],\"x\":[\"a\"]}");
		emit(big, at);
	}
	snprintf(path, sizeof(path), "%s/tests/golden", top);
	add_dir(path);
	snprintf(path, sizeof(path), "%s/tests/fuzz/crashes", top);
	add_dir(path);
	fflush(corpus);
	tap_ok(nlines > 40000, "a corpus of %lu lines", nlines);

	tap_is_int(mdas_export_slot("type"), 0, "slot of type");
	tap_is_int(mdas_export_slot("asset_class"), 3, "slot of asset_class");
	tap_is_int(mdas_export_slot("attempts"), MDAS_EXPORT_NSLOTS - 1, "the last slot");
	tap_is_int(mdas_export_slot("nope"), -1, "no slot");
	for (i = 0, s = 1; i < mdas_export_nfields; i++)
		s &= mdas_export_slot(mdas_export_fields[i].name) == (int)i;
	tap_ok(s, "slot i is mdas_export_fields[i]");
	for (i = 0, s = 1; i < mdas_export_error_nfields; i++)
		s &= mdas_export_slot(mdas_export_error_fields[i].name) >= 0;
	tap_ok(s, "every error field has a slot");

	/* Same verdicts and values, read in lockstep (messages aside). */
	if ((fa = fopen(corpus_path, "r")) == NULL || (fb = fopen(corpus_path, "r")) == NULL)
		return 99;
	ra = mdas_export_reader_new(fa, "<stdin>");
	rb = mdas_export_reader_new(fb, "<stdin>");
	fflush(stderr);
	saved = dup(2);
	devnull = open("/dev/null", 1);
	dup2(devnull, 2);
	for (;;) {
		ka = mdas_export_next(ra, &obj, &err);
		kb = mdas_export_next_rec(rb, &rec, &err);
		if (ka != kb || mdas_export_line(ra) != mdas_export_line(rb)) {
			printf("# line %lu: kind %d vs %d (line %lu)\n", mdas_export_line(ra),
			    ka, kb, mdas_export_line(rb));
			bad_views++;
			break;
		}
		if (ka <= 0)
			break;
		nrec++;
		if (rec->kind != ka || rec->line != mdas_export_line(ra))
			bad_views++;
		mdas_export_rec_from_json(&ja, ka, obj);
		for (i = 0; i < MDAS_EXPORT_NSLOTS; i++) {
			if (same_val(&ja.v[i], &rec->v[i], why, sizeof(why)))
				continue;
			if (bad_views++ < 10)
				printf("# line %lu slot %zu: %s\n", mdas_export_line(ra), i, why);
		}
		/* The cells of json-c's own values, as the exporters render them. */
		for (i = 0; i < mdas_export_nfields; i++) {
			struct mdas_cell c1, c2;
			struct json_object *v = NULL;
			const char *s1, *s2;
			size_t l1, l2;

			json_object_object_get_ex(obj, mdas_export_fields[i].name, &v);
			s1 = mdas_export_cell_value(v, &c1, &l1);
			s2 = mdas_export_val_cell(&rec->v[i], &c2, &l2);
			if ((l1 != l2 || memcmp(s1, s2, l1) != 0) && bad_cells++ < 10)
				printf("# line %lu %s: cell '%s' vs '%s'\n", mdas_export_line(ra),
				    mdas_export_fields[i].name, s1, s2);
		}
	}
	nfast = mdas_export_nfast(rb);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(devnull);
	mdas_export_reader_free(ra);
	mdas_export_reader_free(rb);
	fclose(fa);
	fclose(fb);
	tap_is_int(bad_views, 0, "the same kinds, lines and values for %lu records", nrec);
	tap_is_int(bad_cells, 0, "the same cells as mdas_export_cell_value()");
	tap_ok(nfast * 2 > nrec, "the fast path read %lu of them", nfast);

	/* Same messages, byte for byte. */
	ma = messages(corpus, 0, &nfast, &nok_a);
	mb = messages(corpus, 1, &nfast, &nok_b);
	tap_is_int(nok_b, nok_a, "the same number of records accepted");
	s = strcmp(ma, mb) == 0;
	tap_ok(s, "the same messages (%zu bytes) for the rejected lines", strlen(ma));
	if (!s) {
		for (i = 0; ma[i] == mb[i]; i++)
			;
		while (i > 0 && ma[i - 1] != '\n')
			i--;
		printf("# json-c:    %.*s\n", (int)strcspn(ma + i, "\n"), ma + i);
		printf("# fast path: %.*s\n", (int)strcspn(mb + i, "\n"), mb + i);
	}
	tap_ok(strstr(ma, "invalid UTF-8") != NULL && strstr(ma, "expected an integer") != NULL &&
	    strstr(ma, "too small to represent") != NULL && strstr(ma, "past 64 bits") != NULL &&
	    strstr(ma, "unpaired surrogate") != NULL && strstr(ma, "is below low") != NULL,
	    "the corpus meets the checks");
	free(ma);
	free(mb);
	fclose(corpus);
	unlink(corpus_path);
	tap_plan(tap_n);
	return tap_done();
}
