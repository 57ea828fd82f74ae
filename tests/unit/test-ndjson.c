/* Unit tests for the NDJSON reader: line endings, blanks, errors, caps,
 * strict UTF-8 and \u escapes (and the UTF-8 decoder under it). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "tap.h"
#include "utf8.h"

#define NTESTS (25 + 23 * 3 + 7)

/* The shortest UTF-8 form of cp, written independently of the decoder. */
static size_t
encode(uint32_t cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	b[0] = (unsigned char)(0xF0 | cp >> 18);
	b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	b[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Every 1-, 2- and 3-byte string and every 4-byte string with a lead
 * byte f0..f7: valid exactly when it is the encoding of a scalar value. */
static void
test_decoder_exhaustively(void)
{
	unsigned long wrong = 0, valid = 0;
	unsigned char b[4], e[4];
	uint32_t cp, x;
	size_t k;

	for (x = 0; x < 0x1000000; x++) {
		b[0] = (unsigned char)(x >> 16);
		b[1] = (unsigned char)(x >> 8);
		b[2] = (unsigned char)x;
		cp = 0xFFFFFFFF;
		k = mdas_utf8_decode((const char *)b, 3, &cp);
		if (k > 0) {
			if (encode(cp, e) != k || memcmp(e, b, k) != 0 ||
			    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
				wrong++;
			if (k == 3)
				valid++;
		} else if (b[0] < 0x80)
			wrong++;
	}
	tap_is_int(wrong, 0, "3-byte strings: every accepted prefix is a shortest form");
	/* 16 x 64 x 64 minus the overlong e0 80..9f and surrogates ed a0..bf. */
	tap_is_int(valid, 0x10000 - 0x800 - 0x800, "exactly the 3-byte scalar values are accepted");
	for (cp = 0, wrong = 0; cp <= 0x10FFFF + 0x1000; cp++) {
		uint32_t got = 0xFFFFFFFF;
		int scalar = cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);

		if (cp > 0x10FFFF) {
			/* Above the range: the bits a 4-byte lead f4..f7 can carry. */
			e[0] = (unsigned char)(0xF0 | cp >> 18);
			e[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
			e[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
			e[3] = (unsigned char)(0x80 | (cp & 0x3F));
			k = 4;
		} else
			k = encode(cp, e);
		if ((mdas_utf8_decode((const char *)e, k, &got) == k) != scalar ||
		    (scalar && got != cp))
			wrong++;
		/* Cut short by one byte it is never valid as a whole. */
		if (k > 1 && mdas_utf8_decode((const char *)e, k - 1, &got) != 0)
			wrong++;
	}
	tap_is_int(wrong, 0, "every code point: scalars round-trip, surrogates and > U+10FFFF rejected, truncations rejected");
}

static int
reject_x(uint32_t cp)
{
	return cp == 'x';
}

/* The scan with a predicate and the replacing copy (utf8.h). */
static void
test_scan_and_replace(void)
{
	char buf[16];
	size_t k;

	tap_is_int(mdas_utf8_scan("ab\xc3\xa9x", 5, reject_x), 4, "scan stops at a rejected character");
	tap_is_int(mdas_utf8_scan("ab\xed\xa0\x80x", 6, reject_x), 2, "scan stops at invalid bytes first");
	tap_is_int(mdas_utf8_scan("\x01\x7f\xc2\x85", 4, NULL), 4, "controls are valid UTF-8");
	k = mdas_utf8_replace("x\xffy\xc3", 4, buf, sizeof(buf), reject_x);
	tap_ok(k == 10 && strcmp(buf, "\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd") == 0,
	    "replace: rejected characters and bad bytes become U+FFFD");
	k = mdas_utf8_replace("a\xc3\xa9", 3, buf, 3, NULL);
	tap_ok(k == 1 && strcmp(buf, "a") == 0, "replace: cut before a character that does not fit");
	tap_ok(mdas_utf8_is_control(0x9f) && !mdas_utf8_is_control(0xa0) &&
	    mdas_utf8_is_control(0x7f) && !mdas_utf8_is_control(' '), "controls: C0, DEL, C1");
}

static FILE *
mem(const char *s, size_t n)
{
	return fmemopen((void *)s, n, "r");
}

int
main(void)
{
	static const char input[] =
	    "{\"a\":1}\r\n"          /* 1: CRLF */
	    "\n"                     /* 2: blank */
	    "   \t\n"                /* 3: blank */
	    "{\"a\":2} x\n"          /* 4: trailing garbage */
	    "{\"a\":\n"              /* 5: truncated */
	    "[1,2]  \n"              /* 6: trailing blanks are fine */
	    "{\"a\":tru}\n"           /* 7: not JSON */
	    "42";                    /* 8: no final newline, bare number */
	struct json_object *v;
	struct mdas_ndjson *r;
	struct mdas_error err;
	FILE *fp;
	int rc;

	tap_plan(NTESTS);
	fp = mem(input, sizeof(input) - 1);
	r = mdas_ndjson_open(fp, "in.ndjson", 0);

	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_VALUE, "CRLF line is a value");
	tap_is_int(json_object_get_int(json_object_object_get(v, "a")), 1, "value read");
	json_object_put(v);
	tap_is_str(mdas_ndjson_line(r, NULL), "{\"a\":1}", "line text without CR");

	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_BAD, "trailing garbage is an error");
	tap_is_str(err.msg, "in.ndjson:4: unexpected text after the JSON value", "message names line 4 (blank lines counted)");
	tap_is_int(mdas_ndjson_lineno(r), 4, "lineno is 4");

	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_BAD, "truncated object is an error");
	tap_is_str(err.msg, "in.ndjson:5: invalid JSON: unexpected end of line (truncated?)", "truncation message");

	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_VALUE, "array with trailing blanks");
	json_object_put(v);

	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_BAD, "a misspelt literal is rejected");
	tap_ok(strncmp(err.msg, "in.ndjson:7: invalid JSON: ", 27) == 0, "message names line 7: %s", err.msg);

	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_VALUE, "bare number without final newline");
	tap_is_int(json_object_get_int(v), 42, "number value");
	json_object_put(v);

	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_EOF, "end of input");
	mdas_ndjson_free(r);
	fclose(fp);

	/* A cap of 16 bytes: the long line is an error, the next one is read. */
	static const char capped[] = "{\"x\":\"0123456789abcdef\"}\n{\"y\":1}\n";
	fp = mem(capped, sizeof(capped) - 1);
	r = mdas_ndjson_open(fp, "<stdin>", 16);
	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_BAD, "line over the cap is an error");
	tap_is_str(err.msg, "<stdin>:1: line longer than 16 bytes", "cap message");
	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_VALUE, "next line after an oversized one");
	tap_is_int(mdas_ndjson_lineno(r), 2, "it is line 2");
	json_object_put(v);
	mdas_ndjson_free(r);
	fclose(fp);

	/* Binary: an embedded NUL, then invalid UTF-8. */
	static const char binary[] = "{\"a\":1}\0xx\n\"\xff\xfe\"\n";
	fp = mem(binary, sizeof(binary) - 1);
	r = mdas_ndjson_open(fp, "bin", 0);
	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_BAD, "NUL byte is an error");
	tap_is_str(err.msg, "bin:1: NUL byte in line (binary data?)", "NUL message");
	rc = mdas_ndjson_next(r, &v, &err);
	tap_is_int(rc, MDAS_NDJSON_BAD, "invalid UTF-8 is an error");
	tap_is_str(err.msg, "bin:2: invalid UTF-8 at byte 2", "UTF-8 message names the byte");
	mdas_ndjson_free(r);
	fclose(fp);
	mdas_ndjson_free(NULL);

	test_decoder_exhaustively();
	test_scan_and_replace();

	/* What json-c lets through: each line is rejected with its reason,
	 * and the good line after them is read. */
	static const struct {
		const char *line, *msg;
	} bad[] = {
		{ "\"\xed\xa0\x80\"", "u:1: invalid UTF-8 at byte 2" },            /* U+D800 */
		{ "\"ok\xed\xbf\xbf\"", "u:1: invalid UTF-8 at byte 4" },          /* U+DFFF */
		{ "\"\xc0\xaf\"", "u:1: invalid UTF-8 at byte 2" },                 /* overlong '/' */
		{ "\"\xc1\xbf\"", "u:1: invalid UTF-8 at byte 2" },                 /* overlong */
		{ "\"\xe0\x80\xaf\"", "u:1: invalid UTF-8 at byte 2" },            /* overlong */
		{ "\"\xf0\x80\x80\xaf\"", "u:1: invalid UTF-8 at byte 2" },       /* overlong */
		{ "\"\xf4\x90\x80\x80\"", "u:1: invalid UTF-8 at byte 2" },       /* U+110000 */
		{ "\"\xf8\x88\x80\x80\x80\"", "u:1: invalid UTF-8 at byte 2" },  /* 5 bytes */
		{ "\"\xe2\x82\"", "u:1: invalid UTF-8 at byte 2" },                 /* cut short */
		{ "\"\x80\"", "u:1: invalid UTF-8 at byte 2" },                      /* lone continuation */
		{ "{\"k\xed\xa0\x80\":1}", "u:1: invalid UTF-8 at byte 4" },       /* in a key */
		{ "{\"a\":1} \xff", "u:1: invalid UTF-8 at byte 9" },                /* after the value */
		{ "\"\xe2\x82\xac\xe2\x82", "u:1: invalid UTF-8 at byte 5" },     /* cut at line end */
		{ "[\"\\ud800\"]", "u:1: invalid JSON: unpaired surrogate \\ud800 at byte 3" },
		{ "[\"\\uDBFF\\u0041\"]", "u:1: invalid JSON: unpaired surrogate \\uDBFF at byte 3" },
		{ "{\"x\\udc00\":0}", "u:1: invalid JSON: unpaired surrogate \\udc00 at byte 4" },
		{ "\"\\ud800\\ud800\"", "u:1: invalid JSON: unpaired surrogate \\ud800 at byte 2" },
		{ "\"a\\u0000b\"", "u:1: NUL character (\\u0000) at byte 3" },
		{ "{\"k\\u0000\":1}", "u:1: NUL character (\\u0000) at byte 4" },
		/* RFC 8259: control characters in strings are escaped, tab too. */
		{ "\"a\x01" "b\"", "u:1: invalid JSON: control character 0x01 not escaped at byte 3" },
		{ "{\"m\":\"x\ty\"}", "u:1: invalid JSON: control character 0x09 not escaped at byte 8" },
		{ "{\"k\x1f\":1}", "u:1: invalid JSON: control character 0x1f not escaped at byte 4" },
		{ "[\"\\\"\x0b\"]", "u:1: invalid JSON: control character 0x0b not escaped at byte 5" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[128];
		int n = snprintf(buf, sizeof(buf), "%s\n\"\\\\ud800 \\ud83d\\ude00 \xe2\x82\xac\xf4\x8f\xbf\xbf\"\n",
		    bad[i].line);

		fp = mem(buf, (size_t)n);
		r = mdas_ndjson_open(fp, "u", 0);
		rc = mdas_ndjson_next(r, &v, &err);
		tap_is_int(rc, MDAS_NDJSON_BAD, "rejected: %s", bad[i].msg);
		tap_is_str(rc == MDAS_NDJSON_BAD ? err.msg : "(accepted)", bad[i].msg,
		    "message for case %zu", i);
		if (rc == MDAS_NDJSON_VALUE)
			json_object_put(v);
		rc = mdas_ndjson_next(r, &v, &err);
		tap_ok(rc == MDAS_NDJSON_VALUE && strcmp(json_object_get_string(v),
		    "\\ud800 \xf0\x9f\x98\x80 \xe2\x82\xac\xf4\x8f\xbf\xbf") == 0,
		    "then an escaped backslash, a surrogate pair, U+20AC, U+10FFFF read as such");
		json_object_put(v);
		mdas_ndjson_free(r);
		fclose(fp);
	}
	/* Tab, CR and LF between tokens are white space, not an error. */
	{
		static const char ws[] = "{\t\"a\":\t[1,\t\"\\t\"]}\n";

		fp = mem(ws, sizeof(ws) - 1);
		r = mdas_ndjson_open(fp, "u", 0);
		rc = mdas_ndjson_next(r, &v, &err);
		tap_ok(rc == MDAS_NDJSON_VALUE, "tabs between tokens and an escaped tab are JSON");
		if (rc == MDAS_NDJSON_VALUE)
			json_object_put(v);
		mdas_ndjson_free(r);
		fclose(fp);
	}
	return tap_done();
}
