/* Unit tests for the NDJSON reader: line endings, blanks, errors, caps. */
#include "config.h"

#include <stdlib.h>

#include "ndjson.h"
#include "tap.h"

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

	tap_plan(22);
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
	tap_ok(strncmp(err.msg, "bin:2: invalid JSON: ", 21) == 0, "UTF-8 message: %s", err.msg);
	mdas_ndjson_free(r);
	fclose(fp);
	mdas_ndjson_free(NULL);
	return tap_done();
}
