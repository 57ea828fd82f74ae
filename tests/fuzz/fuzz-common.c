/* fuzz-common.c: the helpers of fuzz.h. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "log.h"

/* MDAS_FUZZ_NO_UTF8=1 turns the strict-text properties off (strict
 * UTF-8, no raw control characters), to fuzz past a known defect of the
 * reader's text checks while its fix is pending. */
static int check_utf8 = 1;

void
fuzz_setup(void)
{
	static const char *const unset[] = {
		"MDAS_CONFIG", "MDAS_STATE_DIR", "MDAS_RUN_ID", "MDAS_LOG_FORMAT",
		"MDAS_LOG_LEVEL", "MDAS_YAHOO_BASE_URL", "MDAS_YAHOO_COOKIE_URL",
		"MDAS_BINANCE_BASE_URL",
	};
	const char *e;
	size_t i;

	for (i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		unsetenv(unset[i]);
	setenv("TZ", "UTC", 1);
	mdas_log_init("mdas-fuzz");
	if ((e = getenv("MDAS_FUZZ_LOG")) == NULL || *e == '\0' || strcmp(e, "0") == 0)
		mdas_log_set_level((enum mdas_log_level)(MDAS_LOG_ERROR + 1));
	if ((e = getenv("MDAS_FUZZ_NO_UTF8")) != NULL && *e != '\0' && strcmp(e, "0") != 0)
		check_utf8 = 0;
}

void
fuzz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "==mdas-fuzz== %s:%d: property failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

FILE *
fuzz_input(const uint8_t *data, size_t size)
{
	FILE *fp;

	/* Not /dev/null for the empty input: what a target reads must come
	 * from its input only, never from the file system. */
	if (size == 0)
		return fuzz_scratch();
	if ((fp = fmemopen((void *)data, size, "r")) == NULL) {
		perror("mdas-fuzz: input stream");
		abort();
	}
	return fp;
}

FILE *
fuzz_scratch(void)
{
	FILE *fp;
	int fd;

	if ((fd = memfd_create("mdas-fuzz", 0)) < 0 || (fp = fdopen(fd, "w+")) == NULL) {
		perror("mdas-fuzz: scratch stream");
		abort();
	}
	return fp;
}

char *
fuzz_take(FILE *fp, size_t *len)
{
	long end;
	char *buf;

	if (fflush(fp) != 0 || fseek(fp, 0, SEEK_END) != 0 || (end = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc((size_t)end + 1)) == NULL ||
	    fread(buf, 1, (size_t)end, fp) != (size_t)end) {
		perror("mdas-fuzz: reading scratch stream");
		abort();
	}
	buf[end] = '\0';
	*len = (size_t)end;
	fclose(fp);
	return buf;
}

void
fuzz_dump(const void *data, size_t size)
{
	const char *path = getenv("MDAS_FUZZ_DUMP");
	FILE *fp;

	if (path == NULL || *path == '\0')
		return;
	if ((fp = fopen(path, "wb")) == NULL || fwrite(data, 1, size, fp) != size ||
	    fclose(fp) != 0) {
		perror(path);
		abort();
	}
	fprintf(stderr, "mdas-fuzz: program input written to %s (%zu bytes)\n", path, size);
}

int
fuzz_utf8_checked(void)
{
	return check_utf8;
}

long
fuzz_utf8_bad(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned long cp, min;

	while (i < len) {
		unsigned char c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else
			return (long)i;
		if (len - i <= n)
			return (long)i;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (long)i;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (long)i;
		i += n + 1;
	}
	return -1;
}

void
fuzz_assert_json(const char *what, const char *s, size_t len)
{
	struct json_tokener *tok;
	struct json_object *v;
	enum json_tokener_error jerr;
	size_t end;
	char *copy;
	long bad;

	if (check_utf8) {
		bad = fuzz_utf8_bad(s, len);
		FUZZ_ASSERT(bad < 0, "%s: not strict UTF-8 at byte %ld: %.*s", what, bad,
		    (int)(len < 300 ? len : 300), s);
		/* RFC 8259: a control character is never JSON text, except
		 * TAB, LF and CR as white space between tokens (json-c accepts
		 * them raw inside strings, even in strict mode). */
		for (end = 0; end < len; end++)
			FUZZ_ASSERT((unsigned char)s[end] >= 0x20 || s[end] == '\t' ||
			    s[end] == '\n' || s[end] == '\r',
			    "%s: raw control character 0x%02x at byte %zu: %.*s", what,
			    (unsigned char)s[end], end, (int)(len < 300 ? len : 300), s);
	}
	/* A NUL after the text ends a number at the very end, as the
	 * settings loader does. */
	if ((tok = json_tokener_new()) == NULL || (copy = malloc(len + 1)) == NULL)
		abort();
	memcpy(copy, s, len);
	copy[len] = '\0';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	v = json_tokener_parse_ex(tok, copy, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	free(copy);
	FUZZ_ASSERT(jerr == json_tokener_success && v != NULL, "%s: not JSON (%s): %.*s",
	    what, json_tokener_error_desc(jerr), (int)(len < 300 ? len : 300), s);
	while (end < len && strchr(" \t\r\n", s[end]) != NULL && s[end] != '\0')
		end++;
	FUZZ_ASSERT(end >= len, "%s: trailing bytes after the JSON value: %.*s", what,
	    (int)(len < 300 ? len : 300), s);
	json_object_put(v);
	json_tokener_free(tok);
}

void
fuzz_assert_json_lines(const char *what, const char *s, size_t len)
{
	const char *p = s, *nl, *end = s + len;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_ASSERT(nl != NULL, "%s: last line has no newline", what);
		FUZZ_ASSERT(nl > p, "%s: blank line", what);
		fuzz_assert_json(what, p, (size_t)(nl - p));
		p = nl + 1;
	}
}
