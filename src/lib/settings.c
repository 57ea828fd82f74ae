#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonget.h"
#include "settings.h"
#include "shard.h"
#include "timeutil.h"
#include "utf8.h"

#ifndef MDAS_PKGDATADIR
#define MDAS_PKGDATADIR "/usr/local/share/mdas"
#endif

#define DEFAULT_PATH "config/settings.json"
#define EXAMPLE_NAME "settings_example.json"
#define MAX_PROBLEMS 64

/* No string value may hold a control character (C0, DEL, C1): in a path
 * it fails only at the export stage, in a header (user_agent) it splits
 * the request, and mdas-config get prints values one per line. */
enum kind {
	K_STRING,        /* any non-empty string */
	K_URL,           /* http:// or https:// */
	K_NAME,          /* file-name safe: [A-Za-z0-9._-]+ */
	K_PATH,          /* a non-empty path */
	K_PATH_OR_NULL,  /* a directory, or null for "not set" */
	K_STRING_OR_NULL, /* a non-empty string, or null for "not set" */
	K_IDENT,         /* an SQL identifier: [a-z_][a-z0-9_]{0,62} */
	K_BOOL,
	K_POS_INT,
	K_NONNEG_INT,
	K_POS_NUMBER,
	K_SYMBOL_ARRAY,  /* symbols: no quotes or backslashes either */
	K_ENUM,          /* one of the words in `choices` */
	K_SHARD_OR_NULL, /* "K/N" (shard.h), or null for all symbols */
	K_POS_INT_OR_NULL, /* a positive integer, or null for "not set" */
	K_BACKFILL_OR_NULL, /* a range word or an ISO date (fetch.backfill), or null */
};

struct key_spec {
	const char *path;
	enum kind kind;
	const char *def;         /* default as JSON text; NULL: unset */
	const char *choices;     /* K_ENUM: "a|b|c" */
	const char *env;         /* environment override */
	double max;              /* numbers: the largest accepted; 0: default */
};

/* Beyond these no setting makes sense, and larger integers are where
 * json-c saturates silently (past 64 bits) or doubles stop being exact;
 * numbers become milliseconds or rates in integer arithmetic. */
#define INT_MAX_DEFAULT 9007199254740992.0   /* 2^53 */
#define NUMBER_MAX_DEFAULT 1e9

#define IDENT_EXPECTED "expected a name of lower-case letters, digits and '_', " \
	"not starting with a digit, at most 63 characters"

/* Keep in step with config/settings_example.json (a test compares them). */
static const struct key_spec specs[] = {
	{ "data_sources.symbols", K_SYMBOL_ARRAY, "[\"AAPL\",\"MSFT\",\"BTCUSDT\",\"ETHUSDT\"]", NULL, NULL, 0 },
	{ "data_sources.yahoo.base_url", K_URL, "\"https://query1.finance.yahoo.com\"", NULL, "MDAS_YAHOO_BASE_URL", 0 },
	{ "data_sources.yahoo.cookie_url", K_URL, "\"https://fc.yahoo.com\"", NULL, "MDAS_YAHOO_COOKIE_URL", 0 },
	{ "data_sources.binance.base_url", K_URL, "\"https://api.binance.com\"", NULL, "MDAS_BINANCE_BASE_URL", 0 },
	{ "data_sources.shard", K_SHARD_OR_NULL, "null", NULL, NULL, 0 },
	{ "fetch.mode", K_ENUM, "\"quote\"", "quote|history", NULL, 0 },
	{ "fetch.interval", K_ENUM, "\"1d\"", "1m|2m|5m|15m|30m|60m|90m|1h|4h|1d|5d|1wk|1mo|3mo", NULL, 0 },
	{ "fetch.range", K_ENUM, "\"1mo\"", "1d|5d|1mo|3mo|6mo|1y|2y|5y|10y|ytd|max", NULL, 0 },
	/* The first run of a series with a store (no mark yet); null: fetch.range. */
	{ "fetch.backfill", K_BACKFILL_OR_NULL, "null", "1d|5d|1mo|3mo|6mo|1y|2y|5y|10y|ytd|max", NULL, 0 },
	{ "http.timeout_seconds", K_POS_NUMBER, "20", NULL, NULL, 0 },
	{ "http.connect_timeout_seconds", K_POS_NUMBER, "10", NULL, NULL, 0 },
	{ "http.retries", K_NONNEG_INT, "4", NULL, NULL, 0 },
	{ "http.max_wait_seconds", K_POS_NUMBER, "60", NULL, NULL, 0 },
	{ "http.max_concurrency", K_POS_INT, "8", NULL, NULL, 1000 },   /* as --jobs */
	{ "http.rate_per_second", K_POS_NUMBER, "10", NULL, NULL, 0 },
	{ "http.max_response_bytes", K_POS_INT, "67108864", NULL, NULL, 0 },
	{ "http.user_agent", K_STRING,
	  "\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\"",
	  NULL, NULL, 0 },
	{ "normalize.missing", K_ENUM, "\"ffill\"", "ffill|drop|keep", NULL, 0 },
	{ "normalize.window", K_POS_INT, "20", NULL, NULL, 0 },
	{ "scheduler.enabled", K_BOOL, "false", NULL, NULL, 0 },
	{ "scheduler.interval_seconds", K_POS_INT, "30", NULL, NULL, 0 },
	{ "csv_export.enabled", K_BOOL, "true", NULL, NULL, 0 },
	{ "json_export.enabled", K_BOOL, "true", NULL, NULL, 0 },
	{ "excel_export.enabled", K_BOOL, "true", NULL, NULL, 0 },
	{ "export.dir", K_PATH, "\"data/exports\"", NULL, NULL, 0 },
	{ "export.prefix", K_NAME, "\"market_data\"", NULL, NULL, 0 },
	{ "export.fallback_dir", K_PATH_OR_NULL, "null", NULL, NULL, 0 },
	/* Snapshot retention (mdas-publish(1)): null keeps every run. */
	{ "export.keep_runs", K_POS_INT_OR_NULL, "null", NULL, NULL, 1000000000 },
	{ "export.latest", K_BOOL, "true", NULL, NULL, 0 },
	{ "state_dir", K_PATH, "\"data\"", NULL, "MDAS_STATE_DIR", 0 },
	{ "logging.dir", K_PATH, "\"logs\"", NULL, NULL, 0 },
	{ "logging.format", K_ENUM, "\"text\"", "text|json", NULL, 0 },
	{ "logging.level", K_ENUM, "\"info\"", "debug|info|notice|warning|error", NULL, 0 },
	{ "logging.max_bytes", K_POS_INT, "10485760", NULL, NULL, 0 },
	{ "logging.backup_count", K_NONNEG_INT, "5", NULL, NULL, 0 },
	/* The record store (mdas-store(7)).  store.dsn may hold a password:
	 * no message ever shows a value of this key (none shows any value). */
	{ "store.kind", K_ENUM, "\"sqlite\"", "sqlite|postgresql|none", NULL, 0 },
	{ "store.path", K_PATH, "\"data/mdas.sqlite\"", NULL, NULL, 0 },
	{ "store.dsn", K_STRING_OR_NULL, "null", NULL, NULL, 0 },
	{ "store.schema", K_IDENT, "\"mdas\"", NULL, NULL, 0 },
	/* A day; SQLite takes the timeout as an int of milliseconds. */
	{ "store.busy_timeout_seconds", K_POS_NUMBER, "30", NULL, NULL, 86400 },
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

struct mdas_settings {
	char *path;
	char *created_from;
	struct json_object *root;        /* the file as parsed */
	struct json_object *effective;   /* flat: dotted key -> value */
	struct mdas_settings_problem problems[MAX_PROBLEMS];
	size_t nproblems;
	int has_errors;
};

static void
problem(struct mdas_settings *s, int is_error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
problem(struct mdas_settings *s, int is_error, const char *fmt, ...)
{
	va_list ap;

	if (is_error)
		s->has_errors = 1;
	if (s->nproblems == MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(s->problems[s->nproblems].msg, sizeof(s->problems[0].msg), fmt, ap);
	va_end(ap);
	s->problems[s->nproblems++].is_error = is_error;
}

static const struct key_spec *
spec_find(const char *path)
{
	size_t i;

	for (i = 0; i < NSPECS; i++)
		if (strcmp(specs[i].path, path) == 0)
			return &specs[i];
	return NULL;
}

/* True when path names a section: some known key starts with "path.". */
static int
is_section(const char *path)
{
	size_t i, n = strlen(path);

	for (i = 0; i < NSPECS; i++)
		if (strncmp(specs[i].path, path, n) == 0 && specs[i].path[n] == '.')
			return 1;
	return 0;
}

static int
enum_has(const char *choices, const char *word)
{
	size_t n = strlen(word);
	const char *p = choices;

	while (p != NULL && *p) {
		if (strncmp(p, word, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return 1;
		p = strchr(p, '|');
		if (p != NULL)
			p++;
	}
	return 0;
}

/* The first control character (U+0000..U+001F, U+007F..U+009F) in s,
 * named into buf ("a newline", "U+0001"); NULL when there is none.  s is
 * valid UTF-8 (the whole file was checked). */
static const char *
control_char(const char *s, size_t len, char *buf, size_t n)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < len) {
		if ((k = mdas_utf8_decode(s + i, len - i, &cp)) == 0)
			k = 1, cp = (unsigned char)s[i];
		if (mdas_utf8_is_control(cp)) {
			if (cp == '\n')
				return "a newline";
			if (cp == '\r')
				return "a carriage return";
			if (cp == '\t')
				return "a tab";
			snprintf(buf, n, "control character U+%04X", (unsigned)cp);
			return buf;
		}
		i += k;
	}
	return NULL;
}

/* Why e cannot be a symbol, or NULL. */
static const char *
symbol_problem(struct json_object *e, char *buf, size_t n)
{
	const char *str, *cc;
	char what[32];

	if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0)
		return "expected a non-empty string";
	str = json_object_get_string(e);
	if ((cc = control_char(str, (size_t)json_object_get_string_len(e), what,
	    sizeof(what))) != NULL) {
		snprintf(buf, n, "contains %s (no control characters allowed)", cc);
		return buf;
	}
	/* No symbol has one, and either would break text built from symbols
	 * (the pipeline's manifest, shell-quoted lists). */
	if (strpbrk(str, "\"\\") != NULL)
		return strchr(str, '"') != NULL ? "contains a double quote, which no symbol has" :
		    "contains a backslash, which no symbol has";
	return NULL;
}

/* Returns NULL when v fits the spec, else what was expected. */
static const char *
check_value(const struct key_spec *k, struct json_object *v, char *buf, size_t n)
{
	const char *str, *cc;
	char what[32], item[160];
	size_t i, len;
	double d, max;

	/* Whatever the kind, a string must not hold a control character. */
	if (json_object_is_type(v, json_type_string) && k->kind != K_SYMBOL_ARRAY &&
	    (cc = control_char(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), what, sizeof(what))) != NULL) {
		snprintf(buf, n, "contains %s (no control characters allowed)", cc);
		return buf;
	}
	switch (k->kind) {
	case K_STRING:
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0)
			return "expected a non-empty string";
		return NULL;
	case K_URL:
		if (!json_object_is_type(v, json_type_string))
			return "expected an http:// or https:// URL";
		str = json_object_get_string(v);
		if (strncmp(str, "http://", 7) != 0 && strncmp(str, "https://", 8) != 0)
			return "expected an http:// or https:// URL";
		if (strpbrk(str, " \t\r\n\"'") != NULL)
			return "expected a URL without spaces or quotes";
		return NULL;
	case K_NAME:
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0)
			return "expected a name of letters, digits, '.', '_' and '-'";
		str = json_object_get_string(v);
		if (strspn(str, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(str) ||
		    str[0] == '.' || str[0] == '-')
			return "expected a name of letters, digits, '.', '_' and '-'";
		return NULL;
	case K_PATH:
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0)
			return "expected a non-empty path";
		return NULL;
	case K_PATH_OR_NULL:
		if (v == NULL || json_object_is_type(v, json_type_null))
			return NULL;
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0)
			return "expected a directory path or null";
		return NULL;
	case K_STRING_OR_NULL:
		if (v == NULL || json_object_is_type(v, json_type_null))
			return NULL;
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0)
			return "expected a non-empty string or null";
		return NULL;
	case K_IDENT:
		/* The rule of mdas_store_identifier_ok() (store.h): the name
		 * goes into SQL between double quotes with nothing escaped,
		 * so nothing else is ever accepted. */
		if (!json_object_is_type(v, json_type_string))
			return IDENT_EXPECTED;
		str = json_object_get_string(v);
		len = strlen(str);
		if (len == 0 || len > 63 || !(str[0] == '_' || (str[0] >= 'a' && str[0] <= 'z')) ||
		    strspn(str, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
			return IDENT_EXPECTED;
		return NULL;
	case K_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return "expected true or false";
		return NULL;
	case K_POS_INT_OR_NULL:
		if (v == NULL || json_object_is_type(v, json_type_null))
			return NULL;
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > (int64_t)k->max) {
			snprintf(buf, n, "expected a positive integer up to %.17g or null", k->max);
			return buf;
		}
		return NULL;
	case K_POS_INT:
	case K_NONNEG_INT:
		max = k->max > 0 ? k->max : INT_MAX_DEFAULT;
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < (k->kind == K_POS_INT ? 1 : 0))
			return k->kind == K_POS_INT ? "expected a positive integer" :
			    "expected a non-negative integer";
		if (json_object_get_int64(v) > (int64_t)max) {
			snprintf(buf, n, "expected %s integer up to %.17g",
			    k->kind == K_POS_INT ? "a positive" : "a non-negative", max);
			return buf;
		}
		return NULL;
	case K_POS_NUMBER:
		max = k->max > 0 ? k->max : NUMBER_MAX_DEFAULT;
		if (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double))
			return "expected a positive number";
		d = json_object_get_double(v);
		if (!(d > 0) || !isfinite(d))
			return "expected a positive number";
		if (d > max) {
			snprintf(buf, n, "expected a positive number up to %g", max);
			return buf;
		}
		return NULL;
	case K_SYMBOL_ARRAY:
		/* Problems of an item are "[i]: ...", appended to the key. */
		if (!json_object_is_type(v, json_type_array))
			return "expected an array of strings";
		len = json_object_array_length(v);
		for (i = 0; i < len; i++) {
			if ((str = symbol_problem(json_object_array_get_idx(v, i), item,
			    sizeof(item))) != NULL) {
				snprintf(buf, n, "[%zu]: %s", i, str);
				return buf;
			}
		}
		return NULL;
	case K_SHARD_OR_NULL: {
		int sk, sn;
		char sw[96];

		if (v == NULL || json_object_is_type(v, json_type_null))
			return NULL;
		if (!json_object_is_type(v, json_type_string) ||
		    mdas_shard_parse(json_object_get_string(v), &sk, &sn, sw, sizeof(sw)) < 0) {
			snprintf(buf, n, "expected \"K/N\" (shard K of N, 1 <= K <= N) or null");
			return buf;
		}
		return NULL;
	}
	case K_BACKFILL_OR_NULL: {
		int64_t ms;
		struct mdas_error e;

		if (v == NULL || json_object_is_type(v, json_type_null))
			return NULL;
		if (json_object_is_type(v, json_type_string) &&
		    (enum_has(k->choices, json_object_get_string(v)) ||
		    mdas_parse_iso(json_object_get_string(v), &ms, &e) == 0))
			return NULL;
		return "expected a range (1d, 5d, 1mo, 3mo, 6mo, 1y, 2y, 5y, 10y, ytd, max), "
		    "an ISO 8601 date such as \"2021-01-01\", or null (fetch.range)";
	}
	case K_ENUM:
		if (!json_object_is_type(v, json_type_string) ||
		    !enum_has(k->choices, json_object_get_string(v))) {
			snprintf(buf, n, "expected one of %s", k->choices);
			for (char *p = buf; (p = strchr(p, '|')) != NULL; )
				*p = ',';
			return buf;
		}
		return NULL;
	}
	return "unknown kind";
}

/* Walks the file: type-checks known keys, warns about unknown ones. */
static void
walk(struct mdas_settings *s, struct json_object *obj, const char *prefix)
{
	const struct key_spec *k;
	const char *why;
	char path[256], buf[256];

	json_object_object_foreach(obj, key, val) {
		if (prefix[0] != '\0')
			snprintf(path, sizeof(path), "%s.%s", prefix, key);
		else
			snprintf(path, sizeof(path), "%s", key);
		if ((k = spec_find(path)) != NULL && k->kind == K_SYMBOL_ARRAY &&
		    json_object_is_type(val, json_type_array)) {
			/* Every bad item, each named by its index. */
			size_t i, len = json_object_array_length(val);
			int bad = 0;

			for (i = 0; i < len; i++)
				if ((why = symbol_problem(json_object_array_get_idx(val, i), buf,
				    sizeof(buf))) != NULL) {
					problem(s, 1, "%s[%zu]: %s", path, i, why);
					bad = 1;
				}
			if (!bad)
				json_object_object_add(s->effective, path, json_object_get(val));
		} else if (k != NULL) {
			if ((why = check_value(k, val, buf, sizeof(buf))) != NULL)
				problem(s, 1, "%s%s%s", path, why[0] == '[' ? "" : ": ", why);
			else
				json_object_object_add(s->effective, path, json_object_get(val));
		} else if (is_section(path)) {
			if (!json_object_is_type(val, json_type_object))
				problem(s, 1, "%s: expected an object", path);
			else
				walk(s, val, path);
		} else {
			/* Shown as text on one line, whatever the key holds. */
			for (char *p = path; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7F)
					*p = '?';
			problem(s, 0, "%s: unknown key (ignored)", path);
		}
	}
}

static void
apply_defaults_and_env(struct mdas_settings *s)
{
	struct json_object *v;
	const char *env, *why;
	char buf[256];
	size_t i;

	for (i = 0; i < NSPECS; i++) {
		const struct key_spec *k = &specs[i];

		if (k->env != NULL && (env = getenv(k->env)) != NULL && *env != '\0') {
			v = json_object_new_string(env);
			if ((why = check_value(k, v, buf, sizeof(buf))) != NULL) {
				problem(s, 1, "%s (from %s)%s%s", k->path, k->env,
				    why[0] == '[' ? "" : ": ", why);
				json_object_put(v);
			} else {
				json_object_object_add(s->effective, k->path, v);
				continue;
			}
		}
		if (json_object_object_get_ex(s->effective, k->path, NULL) || k->def == NULL)
			continue;
		v = json_tokener_parse(k->def);
		if (v != NULL)
			json_object_object_add(s->effective, k->path, v);
	}
}

static int
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Finds settings_example.json for a settings file at path. */
static int
find_example(const char *path, char *out, size_t n)
{
	char dir[4096];
	const char *env;

	mdas_dirname(path, dir, sizeof(dir));
	snprintf(out, n, "%s/%s", dir, EXAMPLE_NAME);
	if (file_exists(out))
		return 0;
	if ((env = getenv("MDAS_DATADIR")) != NULL && *env != '\0') {
		snprintf(out, n, "%s/%s", env, EXAMPLE_NAME);
		if (file_exists(out))
			return 0;
	}
	snprintf(out, n, "%s/%s", MDAS_PKGDATADIR, EXAMPLE_NAME);
	if (file_exists(out))
		return 0;
	return -1;
}

static char *
read_small_file(const char *path, size_t *len, struct mdas_error *err)
{
	size_t cap = 8192, n = 0, got;
	char *buf, *p;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		mdas_error_errno(err, errno, "%s", path);
		return NULL;
	}
	if ((buf = malloc(cap)) == NULL)
		goto nomem;
	while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
		n += got;
		if (n + 1 == cap) {
			if (cap >= (8u << 20)) {
				mdas_error_set(err, "%s: larger than 8 MiB", path);
				goto fail;
			}
			if ((p = realloc(buf, cap * 2)) == NULL)
				goto nomem;
			buf = p;
			cap *= 2;
		}
	}
	if (ferror(fp)) {
		mdas_error_errno(err, errno ? errno : EIO, "%s: read error", path);
		goto fail;
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
nomem:
	mdas_error_errno(err, ENOMEM, "%s", path);
fail:
	free(buf);
	fclose(fp);
	return NULL;
}

int
mdas_settings_init_file(const char *path, char *example_used, size_t n,
    struct mdas_error *err)
{
	char example[4096], dir[4096];
	struct mdas_atomic *a;
	size_t len;
	char *text;

	if (file_exists(path))
		return mdas_error_errno(err, EEXIST, "%s", path);
	if (find_example(path, example, sizeof(example)) < 0) {
		mdas_dirname(path, dir, sizeof(dir));
		return mdas_error_set(err,
		    "%s: missing, and no %s to create it from (looked in %s and %s)",
		    path, EXAMPLE_NAME, dir, MDAS_PKGDATADIR);
	}
	if ((text = read_small_file(example, &len, err)) == NULL)
		return -1;
	mdas_dirname(path, dir, sizeof(dir));
	if (mdas_mkdir_p(dir, 0777, err) < 0 || (a = mdas_atomic_open(path, err)) == NULL) {
		free(text);
		return -1;
	}
	if (fwrite(text, 1, len, mdas_atomic_fp(a)) != len) {
		mdas_error_errno(err, errno, "%s: write failed", path);
		mdas_atomic_abort(a);
		free(text);
		return -1;
	}
	free(text);
	/* No overwrite: a concurrent creator may have won; that is fine. */
	if (mdas_atomic_commit(a, 0, err) < 0 && !(err != NULL && err->errnum == EEXIST))
		return -1;
	if (example_used != NULL)
		snprintf(example_used, n, "%s", example);
	return 0;
}

/* "path:LINE: what at byte N" for offset off of text (N counted from 1
 * within the line). */
static void
text_error(struct mdas_error *err, const char *path, const char *text, size_t off,
    const char *what)
{
	size_t line = 1, col = 1, i;

	for (i = 0; i < off; i++, col++)
		if (text[i] == '\n') {
			line++;
			col = 0;
		}
	mdas_error_set(err, "%s:%zu: %s at byte %zu", path, line, what, col);
}

struct mdas_settings *
mdas_settings_load(const char *explicit_path, struct mdas_error *err)
{
	struct mdas_settings *s;
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	char example[4096];
	const char *path, *p;
	size_t len, bad;
	uint32_t cp;
	char *text;

	path = explicit_path;
	if (path == NULL || *path == '\0')
		path = getenv("MDAS_CONFIG");
	if (path == NULL || *path == '\0')
		path = DEFAULT_PATH;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL ||
	    (s->effective = json_object_new_object()) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", path);
		mdas_settings_free(s);
		return NULL;
	}
	if (!file_exists(path)) {
		if (mdas_settings_init_file(path, example, sizeof(example), err) < 0) {
			mdas_settings_free(s);
			return NULL;
		}
		s->created_from = strdup(example);
	}
	if ((text = read_small_file(path, &len, err)) == NULL) {
		mdas_settings_free(s);
		return NULL;
	}
	/* Strict UTF-8 (utf8.h) and no NUL, before json-c, which lets
	 * surrogates and overlong forms through. */
	bad = mdas_utf8_invalid_at(text, len);
	if ((p = memchr(text, '\0', len)) != NULL && (size_t)(p - text) < bad)
		bad = (size_t)(p - text);
	if (bad < len) {
		text_error(err, path, text, bad, text[bad] == '\0' ? "NUL byte" : "invalid UTF-8");
		free(text);
		mdas_settings_free(s);
		return NULL;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	s->root = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success || s->root == NULL) {
		/* Line numbers help people find the typo. */
		size_t off = json_tokener_get_parse_end(tok), line = 1, i;
		for (i = 0; i < off && i < len; i++)
			line += text[i] == '\n';
		mdas_error_set(err, "%s:%zu: invalid JSON: %s", path, line,
		    jerr == json_tokener_success ? "empty file" :
		    jerr == json_tokener_continue ? "unexpected end of file" :
		    json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		free(text);
		mdas_settings_free(s);
		return NULL;
	}
	json_tokener_free(tok);
	if (mdas_json_bad_escape(text, len, &bad, &cp)) {
		text_error(err, path, text, bad, cp == 0 ? "NUL character (\\u0000)" :
		    "invalid JSON: unpaired surrogate escape");
		free(text);
		mdas_settings_free(s);
		return NULL;
	}
	free(text);
	if (!json_object_is_type(s->root, json_type_object))
		problem(s, 1, "(top level): expected an object");
	else
		walk(s, s->root, "");
	apply_defaults_and_env(s);
	return s;
}

void
mdas_settings_free(struct mdas_settings *s)
{
	if (s == NULL)
		return;
	json_object_put(s->root);
	json_object_put(s->effective);
	free(s->created_from);
	free(s->path);
	free(s);
}

const char *
mdas_settings_path(const struct mdas_settings *s)
{
	return s->path;
}

const char *
mdas_settings_created_from(const struct mdas_settings *s)
{
	return s->created_from;
}

size_t
mdas_settings_nproblems(const struct mdas_settings *s)
{
	return s->nproblems;
}

const struct mdas_settings_problem *
mdas_settings_problem(const struct mdas_settings *s, size_t i)
{
	return i < s->nproblems ? &s->problems[i] : NULL;
}

int
mdas_settings_has_errors(const struct mdas_settings *s)
{
	return s->has_errors;
}

struct json_object *
mdas_settings_get(const struct mdas_settings *s, const char *key)
{
	struct json_object *v, *cur;
	char part[256];
	const char *p, *dot;

	if (json_object_object_get_ex(s->effective, key, &v))
		return json_object_is_type(v, json_type_null) ? NULL : v;
	/* Sections and unknown keys: look them up in the file itself. */
	cur = s->root;
	for (p = key; cur != NULL; p = dot + 1) {
		dot = strchr(p, '.');
		snprintf(part, sizeof(part), "%.*s",
		    (int)(dot != NULL ? (size_t)(dot - p) : strlen(p)), p);
		if (!json_object_is_type(cur, json_type_object) ||
		    !json_object_object_get_ex(cur, part, &cur))
			return NULL;
		if (dot == NULL)
			return json_object_is_type(cur, json_type_null) ? NULL : cur;
	}
	return NULL;
}

const char *
mdas_settings_string(const struct mdas_settings *s, const char *key)
{
	struct json_object *v = mdas_settings_get(s, key);

	return v != NULL && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

int64_t
mdas_settings_int(const struct mdas_settings *s, const char *key)
{
	struct json_object *v = mdas_settings_get(s, key);

	return v != NULL ? json_object_get_int64(v) : 0;
}

double
mdas_settings_number(const struct mdas_settings *s, const char *key)
{
	struct json_object *v = mdas_settings_get(s, key);

	return v != NULL ? json_object_get_double(v) : 0;
}

int
mdas_settings_bool(const struct mdas_settings *s, const char *key)
{
	struct json_object *v = mdas_settings_get(s, key);

	return v != NULL && json_object_get_boolean(v);
}

size_t
mdas_settings_array_len(const struct mdas_settings *s, const char *key)
{
	return mdas_json_len(mdas_settings_get(s, key));
}

const char *
mdas_settings_array_string(const struct mdas_settings *s, const char *key, size_t i)
{
	struct json_object *v = mdas_json_at(mdas_settings_get(s, key), i);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
