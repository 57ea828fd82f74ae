#include "config.h"

#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csvout.h"
#include "export.h"
#include "jsonget.h"

struct mdas_csvout {
	FILE *fp;
	unsigned char delim;
	int crlf;
	struct mdas_export_out *out;        /* mdas_csvout_table() only */
	const struct mdas_field *fields;
	size_t nfields;
	char *buf;          /* "'" + text, for a neutralized cell */
	size_t cap;
	struct mdas_cell cell;
};

struct mdas_csvout *
mdas_csvout_new(FILE *fp, unsigned char delim, int crlf)
{
	struct mdas_csvout *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fp = fp;
	c->delim = delim;
	c->crlf = crlf;
	return c;
}

int
mdas_csvout_parse_delimiter(const char *s, unsigned char *out)
{
	if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0)
		*out = '\t';
	else if (strlen(s) == 1 && strchr("\"\r\n", s[0]) == NULL)
		*out = (unsigned char)s[0];
	else
		return -1;
	return 0;
}

struct mdas_export_out *
mdas_csvout_open_errors(struct mdas_export *x, struct mdas_error *err)
{
	const char *output = mdas_export_output(x);
	struct mdas_export_out *out;
	size_t n;
	char *path;

	if (output == NULL)
		return mdas_export_out_open(x, "_errors.csv", 0, err);
	if ((path = malloc((n = strlen(output)) + sizeof("_errors.csv"))) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", output);
		return NULL;
	}
	if (n > 4 && strcmp(output + n - 4, ".csv") == 0)
		n -= 4;
	memcpy(path, output, n);
	strcpy(path + n, "_errors.csv");
	out = mdas_export_out_open_path(x, path, err);
	free(path);
	return out;
}

void
mdas_csvout_free(struct mdas_csvout *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	free(c);
}

static int
is_plain_number(const char *s, size_t len)
{
	size_t i = 0, digits = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	}
	return digits > 0 && i == len;
}

int
mdas_csv_is_formula(const char *s, size_t len)
{
	if (len == 0 || strchr("=+-@\t\r", s[0]) == NULL)
		return 0;
	return !is_plain_number(s, len);
}

static int
write_field(struct mdas_csvout *c, const char *s, size_t len, int text)
{
	size_t i;

	if (text && mdas_csv_is_formula(s, len)) {
		if (len + 1 > c->cap) {
			char *p = realloc(c->buf, len + 1);

			if (p == NULL)
				return -1;
			c->buf = p;
			c->cap = len + 1;
		}
		c->buf[0] = '\'';
		memcpy(c->buf + 1, s, len);
		s = c->buf;
		len++;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == c->delim || ch == '"' || ch == '\r' || ch == '\n')
			break;
	}
	if (i < len)
		return csv_fwrite2(c->fp, s, len, '"') == 0 ? 0 : -1;
	return len == 0 || fwrite(s, 1, len, c->fp) == len ? 0 : -1;
}

static int
end_row(struct mdas_csvout *c)
{
	if (c->crlf)
		putc('\r', c->fp);
	putc('\n', c->fp);
	return ferror(c->fp) ? -1 : 0;
}

int
mdas_csvout_header(struct mdas_csvout *c, const struct mdas_field *fields, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			putc(c->delim, c->fp);
		if (write_field(c, fields[i].name, strlen(fields[i].name), 1) != 0)
			return -1;
	}
	return end_row(c);
}

int
mdas_csvout_row(struct mdas_csvout *c, struct json_object *rec,
    const struct mdas_field *fields, size_t n)
{
	struct json_object *v;
	const char *s;
	size_t i, len;
	int text;

	for (i = 0; i < n; i++) {
		if (i > 0)
			putc(c->delim, c->fp);
		v = mdas_json_get(rec, fields[i].name);
		s = mdas_export_cell_value(v, &c->cell, &len);
		/* Only text from JSON strings can smuggle a formula; numbers
		 * (a negative change) are never rewritten. */
		text = json_object_is_type(v, json_type_string) ||
		    json_object_is_type(v, json_type_array) ||
		    json_object_is_type(v, json_type_object);
		if (write_field(c, s, len, text) != 0)
			return -1;
	}
	return end_row(c);
}

/* errno is the reason (a stream error, or ENOMEM from write_field). */
static int
write_failed(struct mdas_export_out *out, struct mdas_error *err)
{
	const char *path = mdas_export_out_path(out);
	int e = errno ? errno : EIO;

	return mdas_error_set(err, "%s: write failed: %s", strcmp(path, "-") == 0 ?
	    "standard output" : path, strerror(e));
}

struct mdas_csvout *
mdas_csvout_table(struct mdas_export_out *out, const struct mdas_field *fields, size_t n,
    const struct mdas_csv_style *style, struct mdas_error *err)
{
	struct mdas_csvout *c = mdas_csvout_new(mdas_export_out_fp(out),
	    style->delim != 0 ? style->delim : ',', !style->lf);

	if (c == NULL) {
		mdas_error_set(err, "%s", strerror(ENOMEM));
		return NULL;
	}
	c->out = out;
	c->fields = fields;
	c->nfields = n;
	if (!style->no_header && mdas_csvout_header(c, fields, n) != 0) {
		write_failed(out, err);
		mdas_csvout_free(c);
		return NULL;
	}
	return c;
}

int
mdas_csvout_add(struct mdas_csvout *c, struct json_object *rec, struct mdas_error *err)
{
	if (mdas_csvout_row(c, rec, c->fields, c->nfields) != 0)
		return write_failed(c->out, err);
	return 0;
}
