#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "utf8.h"

#define READ_CHUNK 65536

struct mdas_ndjson {
	FILE *fp;
	char *name;
	size_t max_line;
	json_tokener *tok;

	char *chunk;            /* read buffer */
	size_t chunk_pos, chunk_len;
	int eof;

	char *line;             /* current line, NUL-terminated */
	size_t line_len, line_cap;
	int too_long;

	unsigned long lineno;
	unsigned long long bytes;
};

struct mdas_ndjson *
mdas_ndjson_open(FILE *fp, const char *name, size_t max_line)
{
	struct mdas_ndjson *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->fp = fp;
	r->max_line = max_line ? max_line : MDAS_NDJSON_DEFAULT_MAX_LINE;
	r->name = strdup(name != NULL ? name : "<stdin>");
	r->chunk = malloc(READ_CHUNK);
	r->line_cap = 4096;
	r->line = malloc(r->line_cap);
	r->tok = json_tokener_new();
	if (r->name == NULL || r->chunk == NULL || r->line == NULL || r->tok == NULL) {
		mdas_ndjson_free(r);
		return NULL;
	}
	/* Trailing text is checked by us, for a clearer message. */
	json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
	r->line[0] = '\0';
	return r;
}

void
mdas_ndjson_free(struct mdas_ndjson *r)
{
	if (r == NULL)
		return;
	if (r->tok != NULL)
		json_tokener_free(r->tok);
	free(r->name);
	free(r->chunk);
	free(r->line);
	free(r);
}

static int
line_append(struct mdas_ndjson *r, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (r->too_long)
		return 0;
	if (r->line_len + n > r->max_line) {
		n = r->max_line - r->line_len;
		r->too_long = 1;
	}
	if (r->line_len + n + 1 > r->line_cap) {
		cap = r->line_cap;
		while (r->line_len + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(r->line, cap)) == NULL)
			return -1;
		r->line = p;
		r->line_cap = cap;
	}
	memcpy(r->line + r->line_len, s, n);
	r->line_len += n;
	return 0;
}

/* Fills r->line with the next physical line.  Returns 1, 0 at end of
 * input, -1 on a read or allocation error. */
static int
read_line(struct mdas_ndjson *r)
{
	char *nl;
	size_t n;
	int got = 0;

	r->line_len = 0;
	r->too_long = 0;
	for (;;) {
		if (r->chunk_pos == r->chunk_len) {
			if (r->eof)
				break;
			r->chunk_len = fread(r->chunk, 1, READ_CHUNK, r->fp);
			r->chunk_pos = 0;
			if (r->chunk_len == 0) {
				if (ferror(r->fp))
					return -1;
				r->eof = 1;
				break;
			}
		}
		got = 1;
		n = r->chunk_len - r->chunk_pos;
		nl = memchr(r->chunk + r->chunk_pos, '\n', n);
		if (nl != NULL)
			n = (size_t)(nl - (r->chunk + r->chunk_pos));
		if (line_append(r, r->chunk + r->chunk_pos, n) < 0)
			return -1;
		r->chunk_pos += n;
		r->bytes += n;
		if (nl != NULL) {
			r->chunk_pos++;
			r->bytes++;
			break;
		}
	}
	if (!got)
		return 0;
	if (!r->too_long && r->line_len > 0 && r->line[r->line_len - 1] == '\r')
		r->line_len--;
	r->line[r->line_len] = '\0';
	r->lineno++;
	return 1;
}

/* What json-c accepts without complaint although it is not JSON, or
 * decodes into something else: raw control characters in strings, and
 * the \\u escapes of utf8.h. */
static int
check_escapes(struct mdas_ndjson *r, struct mdas_error *err)
{
	size_t at;
	uint32_t cp;

	if (mdas_json_raw_control(r->line, r->line_len, &at))
		return mdas_error_set(err,
		    "%s:%lu: invalid JSON: control character 0x%02x not escaped at byte %zu",
		    r->name, r->lineno, (unsigned char)r->line[at], at + 1);
	if (!mdas_json_bad_escape(r->line, r->line_len, &at, &cp))
		return 0;
	if (cp == 0)
		return mdas_error_set(err, "%s:%lu: NUL character (\\u0000) at byte %zu",
		    r->name, r->lineno, at + 1);
	return mdas_error_set(err, "%s:%lu: invalid JSON: unpaired surrogate %.6s at byte %zu",
	    r->name, r->lineno, r->line + at, at + 1);
}

static int
is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

int
mdas_ndjson_next_line(struct mdas_ndjson *r, struct mdas_error *err)
{
	size_t end;
	int rc;

	for (;;) {
		rc = read_line(r);
		if (rc < 0) {
			mdas_error_errno(err, errno ? errno : EIO, "%s: read error", r->name);
			return MDAS_NDJSON_IOERR;
		}
		if (rc == 0)
			return MDAS_NDJSON_EOF;
		if (r->too_long)
			break;
		if (!is_blank(r->line, r->line_len))
			break;
	}
	if (r->too_long) {
		mdas_error_set(err, "%s:%lu: line longer than %zu bytes",
		    r->name, r->lineno, r->max_line);
		return MDAS_NDJSON_BAD;
	}

	if (memchr(r->line, '\0', r->line_len) != NULL) {
		mdas_error_set(err, "%s:%lu: NUL byte in line (binary data?)",
		    r->name, r->lineno);
		return MDAS_NDJSON_BAD;
	}
	/* Before json-c, whose own check lets surrogates, overlong forms and
	 * code points past U+10FFFF through (utf8.h). */
	if ((end = mdas_utf8_invalid_at(r->line, r->line_len)) < r->line_len) {
		mdas_error_set(err, "%s:%lu: invalid UTF-8 at byte %zu",
		    r->name, r->lineno, end + 1);
		return MDAS_NDJSON_BAD;
	}
	return MDAS_NDJSON_VALUE;
}

int
mdas_ndjson_parse_line(struct mdas_ndjson *r, struct json_object **out,
    struct mdas_error *err)
{
	enum json_tokener_error jerr;
	struct json_object *obj;
	size_t end;

	*out = NULL;
	/* Including the NUL lets json-c finish a bare number at line end. */
	json_tokener_reset(r->tok);
	obj = json_tokener_parse_ex(r->tok, r->line, (int)r->line_len + 1);
	jerr = json_tokener_get_error(r->tok);
	if (jerr != json_tokener_success) {
		if (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof)
			mdas_error_set(err, "%s:%lu: invalid JSON: unexpected end of line (truncated?)",
			    r->name, r->lineno);
		else
			mdas_error_set(err, "%s:%lu: invalid JSON: %s", r->name,
			    r->lineno, json_tokener_error_desc(jerr));
		json_object_put(obj);
		return MDAS_NDJSON_BAD;
	}
	end = json_tokener_get_parse_end(r->tok);
	if (end < r->line_len && !is_blank(r->line + end, r->line_len - end)) {
		mdas_error_set(err, "%s:%lu: unexpected text after the JSON value",
		    r->name, r->lineno);
		json_object_put(obj);
		return MDAS_NDJSON_BAD;
	}
	if (check_escapes(r, err) < 0) {
		json_object_put(obj);
		return MDAS_NDJSON_BAD;
	}
	*out = obj;
	return MDAS_NDJSON_VALUE;
}

int
mdas_ndjson_next(struct mdas_ndjson *r, struct json_object **out,
    struct mdas_error *err)
{
	int rc;

	*out = NULL;
	if ((rc = mdas_ndjson_next_line(r, err)) != MDAS_NDJSON_VALUE)
		return rc;
	return mdas_ndjson_parse_line(r, out, err);
}

char *
mdas_ndjson_line_mutable(struct mdas_ndjson *r, size_t *len)
{
	*len = r->line_len;
	return r->line;
}

const char *
mdas_ndjson_line(const struct mdas_ndjson *r, size_t *len)
{
	if (len != NULL)
		*len = r->line_len;
	return r->line;
}

unsigned long
mdas_ndjson_lineno(const struct mdas_ndjson *r)
{
	return r->lineno;
}

const char *
mdas_ndjson_name(const struct mdas_ndjson *r)
{
	return r->name;
}

unsigned long long
mdas_ndjson_bytes(const struct mdas_ndjson *r)
{
	return r->bytes;
}
