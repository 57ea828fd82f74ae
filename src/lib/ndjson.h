/* ndjson.h: the line reader every filter uses for its input.
 *
 * One JSON value per line.  LF and CRLF endings are accepted, so is a last
 * line without a newline; blank lines are skipped (but counted).  A line
 * longer than the cap, a line with a NUL byte, a line that is not strict
 * UTF-8 (utf8.h: "input:line: invalid UTF-8 at byte N", N counted from 1),
 * a line that is not valid JSON (strict RFC 8259), a string with an
 * unpaired surrogate escape ("\ud800", which json-c would silently turn
 * into U+FFFD) or a \u0000 escape (which C strings would cut at), and a
 * value followed by anything but white space are errors that name
 * "input:line"; reading goes on with the next line.  So every string of
 * a value returned is valid UTF-8 without NUL characters.
 * Memory is bounded by the cap, whatever the size of the input.
 */
#ifndef MDAS_NDJSON_H
#define MDAS_NDJSON_H

#include <stdio.h>

#include <json-c/json.h>

#include "error.h"

#define MDAS_NDJSON_DEFAULT_MAX_LINE ((size_t)16 << 20)   /* 16 MiB */

struct mdas_ndjson;

/* Reads from fp (not closed by the reader), naming it `name` in messages
 * ("<stdin>" by convention for standard input).  max_line 0 means the
 * default.  Returns NULL when out of memory. */
struct mdas_ndjson *mdas_ndjson_open(FILE *fp, const char *name, size_t max_line);
/* Frees r; NULL is accepted. */
void mdas_ndjson_free(struct mdas_ndjson *r);

enum {
	MDAS_NDJSON_VALUE = 1,   /* *out holds a value; the caller owns it */
	MDAS_NDJSON_EOF = 0,     /* no more input */
	MDAS_NDJSON_BAD = -1,    /* this line is bad ("name:line: reason"); call again */
	MDAS_NDJSON_IOERR = -2,  /* reading failed; stop */
};

/* Reads the next value.  Returns one of the codes above. */
int mdas_ndjson_next(struct mdas_ndjson *r, struct json_object **out,
    struct mdas_error *err);

/* mdas_ndjson_next() in two steps, for a reader with its own parser for
 * the common line.  next_line reads the next non-blank line and checks
 * what every line must pass before any parser sees it (the cap, NUL
 * bytes, strict UTF-8): VALUE (the line is in mdas_ndjson_line()), EOF,
 * BAD (err says why; call again) or IOERR.  parse_line then parses that
 * line with json-c and makes every check after that, as
 * mdas_ndjson_next() does: VALUE with *out, or BAD. */
int mdas_ndjson_next_line(struct mdas_ndjson *r, struct mdas_error *err);
int mdas_ndjson_parse_line(struct mdas_ndjson *r, struct json_object **out,
    struct mdas_error *err);
/* The line last read by mdas_ndjson_next_line(), NUL-terminated, which
 * the caller may change in place (its own parser's terminators) once it
 * no longer needs parse_line() on it; valid until the next read. */
char *mdas_ndjson_line_mutable(struct mdas_ndjson *r, size_t *len);

/* The text of the line last returned (without its line ending; for a line
 * over the cap, its first max_line bytes) and its length. */
const char *mdas_ndjson_line(const struct mdas_ndjson *r, size_t *len);
/* 1-based number of the line last returned. */
unsigned long mdas_ndjson_lineno(const struct mdas_ndjson *r);
const char *mdas_ndjson_name(const struct mdas_ndjson *r);
/* Bytes consumed so far. */
unsigned long long mdas_ndjson_bytes(const struct mdas_ndjson *r);

#endif
