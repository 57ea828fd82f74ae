#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "ndjson.h"
#include "gapsreport.h"
#include "publish.h"
#include "runid.h"
#include "sha256.h"
#include "timeutil.h"
#include "utf8.h"

#define INTENT_PREFIX ".mdas-publish."
#define INTENT_SUFFIX ".intent"
#define WORKDIR_PREFIX ".mdas-run-"
#define SCRATCH_PREFIX "mdas-pipeline."
#define INTENT_MAX ((size_t)1 << 20)

static void
notef(mdas_publish_note_fn note, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
notef(mdas_publish_note_fn note, void *ctx, const char *fmt, ...)
{
	char msg[MDAS_ERROR_MAX];
	va_list ap;

	if (note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	note(ctx, msg);
}

static void
pause_ms(unsigned ms)
{
	struct timespec ts;

	if (ms == 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A name we create or remove in a directory: one component, not hidden
 * by accident, no way out of the directory. */
static int
safe_name(const char *s)
{
	return s != NULL && *s != '\0' && *s != '.' && strchr(s, '/') == NULL &&
	    strlen(s) < 256;
}

/* A staging directory relative to the export directory: components that
 * are neither empty, "." nor "..", the first one ours. */
static int
safe_relpath(const char *s)
{
	const char *p = s;

	if (s == NULL || strncmp(s, WORKDIR_PREFIX, strlen(WORKDIR_PREFIX)) != 0 ||
	    strlen(s) >= 1024)
		return 0;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return p[-1] != '/';
}

static int
fsync_fd_dir(int dfd, const char *dir, struct mdas_error *err)
{
	if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
		return mdas_error_errno(err, errno, "%s: fsync failed", dir);
	return 0;
}

/* Moves from (in fromfd) to to (in tofd), never replacing what is there. */
static int
move_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -1;
	/* A file system without RENAME_NOREPLACE: link() never replaces.  A
	 * crash between the two steps leaves both names, which recovery
	 * recognises by the checksum. */
	if (linkat(fromfd, from, tofd, to, 0) != 0)
		return -1;
	unlinkat(fromfd, from, 0);
	return 0;
}

/* Size and SHA-256 of name in dfd (a regular file, not followed), fsync'ed
 * first when sync is set.  Returns 0, 1 when it does not exist, -1. */
static int
hash_at(int dfd, const char *dir, const char *name, int sync, uint64_t *size,
    char hex[MDAS_SHA256_HEX], struct mdas_error *err)
{
	char label[4096];
	int fd, rc, not_regular;

	snprintf(label, sizeof(label), "%s/%s", dir, name);
	if ((fd = mdas_open_regular_at(dfd, name, O_RDONLY, 0, &not_regular)) < 0) {
		if (not_regular)
			return mdas_error_set(err, "%s: not a regular file", label);
		if (errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			return mdas_error_set(err, "%s: is a symbolic link", label);
		return mdas_error_errno(err, errno, "%s", label);
	}
	if (sync && fsync(fd) != 0) {
		rc = errno;
		close(fd);
		return mdas_error_errno(err, rc, "%s: fsync failed", label);
	}
	rc = mdas_sha256_fd(fd, label, hex, size, err);
	close(fd);
	return rc;
}

static int
exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- The manifest ---- */

static const char *
str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
add(struct json_object *o, const char *key, struct json_object *v)
{
	/* json-c takes v even when it fails; a NULL v is JSON null. */
	return json_object_object_add(o, key, v);
}

struct tally {
	int64_t quote, bar, dividend, split, error;
	struct json_object *with_data;   /* set: symbol -> true */
	struct json_object *failed;      /* array of failed entries, in order */
	struct json_object *failed_set;  /* set: symbol -> true */
};

static struct json_object *
failed_entry(const char *sym, const char *stage, struct json_object *http, const char *reason)
{
	struct json_object *e = json_object_new_object();

	add(e, "symbol", json_object_new_string(sym));
	add(e, "stage", stage != NULL ? json_object_new_string(stage) : NULL);
	add(e, "http_status", http);
	add(e, "reason", json_object_new_string(reason != NULL ? reason : ""));
	return e;
}

static void
tally_record(struct tally *t, struct json_object *rec)
{
	const char *type = str_of(rec, "type"), *sym = str_of(rec, "symbol");
	struct json_object *http = NULL, *v;

	if (type == NULL)
		return;
	if (strcmp(type, "error") == 0) {
		t->error++;
		/* The first error record of a symbol says why it failed. */
		if (sym == NULL || *sym == '\0' ||
		    json_object_object_get_ex(t->failed_set, sym, NULL))
			return;
		if (json_object_object_get_ex(rec, "http_status", &v) &&
		    json_object_is_type(v, json_type_int))
			http = json_object_new_int64(json_object_get_int64(v));
		json_object_object_add(t->failed_set, sym, json_object_new_boolean(1));
		json_object_array_add(t->failed,
		    failed_entry(sym, str_of(rec, "stage"), http, str_of(rec, "message")));
		return;
	}
	if (strcmp(type, "quote") == 0)
		t->quote++;
	else if (strcmp(type, "bar") == 0)
		t->bar++;
	else if (strcmp(type, "dividend") == 0)
		t->dividend++;
	else if (strcmp(type, "split") == 0)
		t->split++;
	else
		return;
	if (sym != NULL)
		json_object_object_add(t->with_data, sym, json_object_new_boolean(1));
}

static int
read_records(const char *path, struct tally *t, struct mdas_error *err)
{
	struct mdas_ndjson *nd;
	struct json_object *v;
	struct mdas_error e;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "re")) == NULL)
		return mdas_error_errno(err, errno, "%s", path);
	if ((nd = mdas_ndjson_open(fp, path, 0)) == NULL) {
		fclose(fp);
		return mdas_error_errno(err, ENOMEM, "%s", path);
	}
	while ((rc = mdas_ndjson_next(nd, &v, &e)) != MDAS_NDJSON_EOF) {
		if (rc == MDAS_NDJSON_IOERR) {
			if (err != NULL)
				*err = e;
			break;
		}
		if (rc == MDAS_NDJSON_VALUE) {
			if (json_object_is_type(v, json_type_object))
				tally_record(t, v);
			json_object_put(v);
		}
	}
	mdas_ndjson_free(nd);
	fclose(fp);
	return rc == MDAS_NDJSON_IOERR ? -1 : 0;
}

static struct json_object *
read_stages(const char *path, struct mdas_error *err)
{
	struct json_object *a = json_object_new_array(), *v, *x;
	static const char *const keys[] = { "stage", "program", "exit_status", "duration_ms" };
	struct mdas_ndjson *nd;
	struct mdas_error e;
	FILE *fp;
	size_t i;
	int rc;

	if (path == NULL)
		return a;
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return a;
		json_object_put(a);
		mdas_error_errno(err, errno, "%s", path);
		return NULL;
	}
	if ((nd = mdas_ndjson_open(fp, path, 0)) == NULL) {
		fclose(fp);
		json_object_put(a);
		mdas_error_errno(err, ENOMEM, "%s", path);
		return NULL;
	}
	while ((rc = mdas_ndjson_next(nd, &v, &e)) != MDAS_NDJSON_EOF &&
	    rc != MDAS_NDJSON_IOERR) {
		if (rc != MDAS_NDJSON_VALUE)
			continue;
		if (json_object_is_type(v, json_type_object)) {
			struct json_object *s = json_object_new_object();

			for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
				x = NULL;
				json_object_object_get_ex(v, keys[i], &x);
				add(s, keys[i], json_object_get(x));
			}
			json_object_array_add(a, s);
		}
		json_object_put(v);
	}
	mdas_ndjson_free(nd);
	fclose(fp);
	return a;
}

/* ---- The store's statistics ---- */

#define STATS_MAX ((size_t)16 << 20)   /* per-series lines: about 70000 series */

/* The tables of store.h's enum mdas_store_table, in its order. */
static const char *const store_tables[] = { "series", "bars", "quotes", "events", "errors" };

/* The statistics object in path, or NULL with why (a missing file, not
 * strict UTF-8 JSON, not an object with an engine and a status). */
static struct json_object *
read_store_stats(const char *path, char *why, size_t n)
{
	struct json_object *o = NULL, *v;
	struct json_tokener *tok;
	const char *st;
	char *buf = NULL;
	size_t len = 0, at, end;
	ssize_t k;
	uint32_t cp;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) < 0) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(STATS_MAX + 1)) == NULL) {
		close(fd);
		snprintf(why, n, "%s: %s", path, strerror(ENOMEM));
		return NULL;
	}
	while (len < STATS_MAX && (k = read(fd, buf + len, STATS_MAX - len)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(why, n, "%s: read error: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)k;
	}
	buf[len] = '\0';
	if (len == STATS_MAX || memchr(buf, '\0', len) != NULL ||
	    mdas_utf8_invalid_at(buf, len) != len) {
		snprintf(why, n, "%s: not a statistics object", path);
		goto out;
	}
	/* One value and nothing after it but white space. */
	if ((tok = json_tokener_new()) != NULL) {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		o = json_tokener_parse_ex(tok, buf, (int)len);
		if (o != NULL && (end = json_tokener_get_parse_end(tok)) < len &&
		    strspn(buf + end, " \t\r\n") != len - end) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tok);
	}
	if (!json_object_is_type(o, json_type_object) || mdas_json_bad_escape(buf, len, &at, &cp) ||
	    !json_object_object_get_ex(o, "engine", &v) || !json_object_is_type(v, json_type_string) ||
	    (st = str_of(o, "status")) == NULL ||
	    (strcmp(st, "stored") != 0 && strcmp(st, "failed") != 0)) {
		json_object_put(o);
		o = NULL;
		snprintf(why, n, "%s: not a statistics object", path);
	}
out:
	close(fd);
	free(buf);
	return o;
}

/* The manifest's "store" member for r (NULL: JSON null, no store), and
 * whether it makes the run partial. */
static struct json_object *
store_member(const struct mdas_publish_req *r, int *partial)
{
	struct json_object *o, *t, *c, *v;
	char why[512], *reason;
	const char *st;
	size_t i, n;

	*partial = 0;
	if (r->store_stats == NULL && r->store_engine == NULL)
		return NULL;
	why[0] = '\0';
	if (r->store_stats != NULL &&
	    (o = read_store_stats(r->store_stats, why, sizeof(why))) != NULL) {
		st = str_of(o, "status");
		*partial = strcmp(st, "stored") != 0 ||
		    (json_object_object_get_ex(o, "rejected", &v) && json_object_get_int64(v) != 0);
		return o;
	}
	/* The program left no usable statistics: a failed load, described by
	 * the caller (the pipeline passes the program's last error). */
	*partial = 1;
	o = json_object_new_object();
	add(o, "engine", r->store_engine != NULL ? json_object_new_string(r->store_engine) : NULL);
	add(o, "database", r->store_database != NULL ?
	    json_object_new_string(r->store_database) : NULL);
	add(o, "status", json_object_new_string("failed"));
	if (r->store_reason != NULL && *r->store_reason != '\0') {
		n = strlen(r->store_reason);
		if (n > 1000)
			n = 1000;
		if ((reason = malloc(3 * n + 1)) != NULL) {
			mdas_utf8_replace(r->store_reason, n, reason, 3 * n + 1, mdas_utf8_is_control);
			add(o, "reason", json_object_new_string(reason));
			free(reason);
		}
	} else
		add(o, "reason", json_object_new_string(why[0] != '\0' ? why :
		    "the store program reported nothing"));
	t = json_object_new_object();
	for (i = 0; i < sizeof(store_tables) / sizeof(store_tables[0]); i++) {
		c = json_object_new_object();
		add(c, "inserted", json_object_new_int64(0));
		add(c, "updated", json_object_new_int64(0));
		add(c, "unchanged", json_object_new_int64(0));
		add(t, store_tables[i], c);
	}
	add(o, "tables", t);
	add(o, "rejected", json_object_new_int64(0));
	return o;
}

static int
hash_path(const char *path, char hex[MDAS_SHA256_HEX], struct mdas_error *err)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) < 0)
		return mdas_error_errno(err, errno, "%s", path);
	rc = mdas_sha256_fd(fd, path, hex, NULL, err);
	close(fd);
	return rc;
}

static int
utf8_ok(const char *s)
{
	return s == NULL || mdas_utf8_invalid_at(s, strlen(s)) == strlen(s);
}

/* Every string of the request that goes into the manifest: a JSON file
 * must be UTF-8, and json-c copies the bytes it is given unchecked. */
static int
request_utf8(const struct mdas_publish_req *r, struct mdas_error *err)
{
	size_t i;

	if (!utf8_ok(r->mode))
		return mdas_error_set(err, "--mode: not valid UTF-8");
	if (!utf8_ok(r->config_path))
		return mdas_error_set(err, "the configuration path: not valid UTF-8");
	if (!utf8_ok(r->export_dir))
		return mdas_error_set(err, "the export directory path: not valid UTF-8");
	if (!utf8_ok(r->store_engine) || !utf8_ok(r->store_database))
		return mdas_error_set(err, "the store's engine or database: not valid UTF-8");
	for (i = 0; i < r->nsymbols; i++)
		if (!utf8_ok(r->symbols[i]))
			return mdas_error_set(err, "symbol %zu: not valid UTF-8", i + 1);
	for (i = 0; i < r->nfiles; i++)
		if (!utf8_ok(r->files[i].name) || !utf8_ok(r->files[i].format))
			return mdas_error_set(err, "file %zu: not valid UTF-8", i + 1);
	return 0;
}

struct json_object *
mdas_manifest_build(const struct mdas_publish_req *r, const uint64_t *sizes,
    char (*sha256)[65], int *partial, struct mdas_error *err)
{
	struct tally t = { 0, 0, 0, 0, 0, NULL, NULL, NULL };
	struct json_object *m = NULL, *o, *a, *stages, *store;
	char iso[MDAS_ISO_MAX], hex[MDAS_SHA256_HEX];
	int64_t now = mdas_now_ms();
	int store_partial;
	size_t i;

	if (request_utf8(r, err) != 0)
		return NULL;

	t.with_data = json_object_new_object();
	t.failed = json_object_new_array();
	t.failed_set = json_object_new_object();
	if (t.with_data == NULL || t.failed == NULL || t.failed_set == NULL)
		goto nomem;
	if (r->records_path != NULL && read_records(r->records_path, &t, err) != 0)
		goto fail;
	if ((stages = read_stages(r->stages_path, err)) == NULL)
		goto fail;
	/* A requested symbol that produced neither data nor an error record
	 * vanished somewhere: that is a failure too, never a success. */
	for (i = 0; i < r->nsymbols; i++) {
		const char *s = r->symbols[i];

		if (json_object_object_get_ex(t.failed_set, s, NULL))
			continue;
		if (json_object_object_get_ex(t.with_data, s, NULL))
			continue;
		json_object_object_add(t.failed_set, s, json_object_new_boolean(1));
		json_object_array_add(t.failed, failed_entry(s, NULL, NULL, "no records"));
	}
	store = store_member(r, &store_partial);
	*partial = r->partial || t.error > 0 || json_object_array_length(t.failed) > 0 ||
	    store_partial;

	if ((m = json_object_new_object()) == NULL) {
		json_object_put(stages);
		json_object_put(store);
		goto nomem;
	}
	add(m, "run_id", json_object_new_string(r->run_id));
	add(m, "status", json_object_new_string(*partial ? "partial" : "ok"));
	mdas_format_iso_ms(r->started_ms, iso);
	add(m, "started_at", json_object_new_string(iso));
	mdas_format_iso_ms(now, iso);
	add(m, "finished_at", json_object_new_string(iso));
	add(m, "duration_ms", json_object_new_int64(now - r->started_ms));
	add(m, "mode", r->mode != NULL ? json_object_new_string(r->mode) : NULL);
	o = json_object_new_object();
	add(o, "path", r->config_path != NULL ? json_object_new_string(r->config_path) : NULL);
	if (r->config_path != NULL) {
		if (hash_path(r->config_path, hex, err) != 0) {
			json_object_put(o);
			json_object_put(stages);
			json_object_put(store);
			goto fail;
		}
		add(o, "sha256", json_object_new_string(hex));
	} else
		add(o, "sha256", NULL);
	add(m, "config", o);
	add(m, "export_dir", json_object_new_string(r->export_dir));
	add(m, "program_version", json_object_new_string(PACKAGE_VERSION));
	o = json_object_new_object();
	add(o, "quote", json_object_new_int64(t.quote));
	add(o, "bar", json_object_new_int64(t.bar));
	add(o, "dividend", json_object_new_int64(t.dividend));
	add(o, "split", json_object_new_int64(t.split));
	add(o, "error", json_object_new_int64(t.error));
	add(m, "records", o);
	a = json_object_new_array();
	for (i = 0; i < r->nfiles; i++) {
		/* The exporters keep error records apart (PREFIX_RUNID_errors.csv);
		 * every other file holds the data records. */
		int64_t n = strstr(r->files[i].name, "_errors.") != NULL ? t.error :
		    t.quote + t.bar + t.dividend + t.split;

		o = json_object_new_object();
		add(o, "name", json_object_new_string(r->files[i].name));
		add(o, "format", json_object_new_string(r->files[i].format));
		add(o, "size", json_object_new_int64((int64_t)sizes[i]));
		add(o, "sha256", json_object_new_string(sha256[i]));
		add(o, "records", json_object_new_int64(n));
		json_object_array_add(a, o);
	}
	add(m, "files", a);
	o = json_object_new_object();
	a = json_object_new_array();
	for (i = 0; i < r->nsymbols; i++)
		json_object_array_add(a, json_object_new_string(r->symbols[i]));
	add(o, "requested", a);
	a = json_object_new_array();
	for (i = 0; i < r->nsymbols; i++)
		if (!json_object_object_get_ex(t.failed_set, r->symbols[i], NULL))
			json_object_array_add(a, json_object_new_string(r->symbols[i]));
	add(o, "succeeded", a);
	add(o, "failed", json_object_get(t.failed));
	add(m, "symbols", o);
	add(m, "stages", stages);
	add(m, "store", store);
	if (r->gaps_path != NULL)
		add(m, "gaps", mdas_gaps_member(r->gaps_path, r->gaps_asked));
	json_object_put(t.with_data);
	json_object_put(t.failed);
	json_object_put(t.failed_set);
	return m;
nomem:
	mdas_error_errno(err, ENOMEM, "manifest");
fail:
	json_object_put(t.with_data);
	json_object_put(t.failed);
	json_object_put(t.failed_set);
	json_object_put(m);
	return NULL;
}

/* ---- Intent records ---- */

static const char *
to_text(struct json_object *o, int pretty)
{
	return json_object_to_json_string_ext(o, (pretty ? JSON_C_TO_STRING_PRETTY :
	    JSON_C_TO_STRING_PLAIN) | JSON_C_TO_STRING_NOSLASHESCAPE);
}

struct entry {
	const char *name;
	uint64_t size;
	const char *sha256;
};

struct intent {
	struct json_object *root;
	const char *run_id;
	const char *staged;       /* relative to the export directory */
	struct entry *e;
	size_t n;                 /* the manifest is e[n - 1] */
	const char *prefix;       /* PREFIX of PREFIX_RUNID.manifest.json, or NULL */
	int latest;               /* the publish maintains PREFIX_latest.* */
};

static void
intent_free(struct intent *in)
{
	json_object_put(in->root);
	free(in->e);
	memset(in, 0, sizeof(*in));
}

/* True when name is PREFIX_RUNID.manifest.json for this run ID. */
static int
names_manifest(const char *name, const char *run_id)
{
	static const char tail[] = ".manifest.json";
	size_t n = strlen(name), r = strlen(run_id), t = sizeof(tail) - 1;

	return n > r + t + 1 && strcmp(name + n - t, tail) == 0 &&
	    name[n - t - r - 1] == '_' && strncmp(name + n - t - r, run_id, r) == 0;
}

/* Reads and checks the intent name in dfd.  Returns 0, or -1 with err. */
static int
intent_read(int dfd, const char *dir, const char *name, struct intent *in,
    struct mdas_error *err)
{
	struct json_object *files, *f, *v;
	char *buf = NULL;
	size_t len = 0, i;
	ssize_t k;
	int fd, not_regular;

	memset(in, 0, sizeof(*in));
	if ((fd = mdas_open_regular_at(dfd, name, O_RDONLY, 0, &not_regular)) < 0) {
		if (not_regular)
			return mdas_error_set(err, "%s/%s: not a regular file", dir, name);
		return mdas_error_errno(err, errno, "%s/%s", dir, name);
	}
	if ((buf = malloc(INTENT_MAX + 1)) == NULL) {
		close(fd);
		return mdas_error_errno(err, ENOMEM, "%s/%s", dir, name);
	}
	while (len < INTENT_MAX && (k = read(fd, buf + len, INTENT_MAX - len)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	in->root = json_tokener_parse(buf);
	free(buf);
	if (!json_object_is_type(in->root, json_type_object))
		goto bad;
	in->run_id = str_of(in->root, "run_id");
	in->staged = str_of(in->root, "staged_dir");
	if (in->run_id == NULL || !mdas_runid_valid(in->run_id) || !safe_relpath(in->staged) ||
	    !json_object_object_get_ex(in->root, "files", &files) ||
	    !json_object_is_type(files, json_type_array) ||
	    (in->n = json_object_array_length(files)) == 0 || in->n > 4096)
		goto bad;
	if ((in->e = calloc(in->n, sizeof(*in->e))) == NULL)
		goto bad;
	for (i = 0; i < in->n; i++) {
		f = json_object_array_get_idx(files, i);
		if (!json_object_is_type(f, json_type_object))
			goto bad;
		in->e[i].name = str_of(f, "name");
		in->e[i].sha256 = str_of(f, "sha256");
		if (!safe_name(in->e[i].name) || in->e[i].sha256 == NULL ||
		    strlen(in->e[i].sha256) != 64 ||
		    !json_object_object_get_ex(f, "size", &v) ||
		    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
			goto bad;
		in->e[i].size = (uint64_t)json_object_get_int64(v);
	}
	/* The last entry is the run's manifest (the commit point); an intent
	 * whose last file is anything else was not written by a publisher. */
	if (!names_manifest(in->e[in->n - 1].name, in->run_id))
		goto bad;
	/* Optional (issue 11): the prefix, which must be the manifest's. */
	if ((in->prefix = str_of(in->root, "prefix")) != NULL &&
	    (strlen(in->prefix) + 1 + strlen(in->run_id) + strlen(".manifest.json") !=
	    strlen(in->e[in->n - 1].name) ||
	    strncmp(in->e[in->n - 1].name, in->prefix, strlen(in->prefix)) != 0))
		goto bad;
	in->latest = in->prefix != NULL && json_object_object_get_ex(in->root, "latest", &v) &&
	    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	return 0;
bad:
	intent_free(in);
	return mdas_error_set(err, "%s/%s: not a valid intent record", dir, name);
}

/* 1 when name in dfd holds exactly the recorded content, 0 when it does
 * not exist or differs, -1 on error. */
static int
holds(int dfd, const char *dir, const struct entry *e, struct mdas_error *err)
{
	char hex[MDAS_SHA256_HEX];
	uint64_t size;
	int rc;

	if (dfd < 0)
		return 0;
	rc = hash_at(dfd, dir, e->name, 0, &size, hex, err);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	return size == e->size && strcmp(hex, e->sha256) == 0;
}

/* The directory rel (components separated by '/') below dfd, opened one
 * component at a time, none of them a symbolic link: O_NOFOLLOW on the
 * whole path would only cover its last component, and a link anywhere in
 * it would take recovery out of the export directory.  -1 when any
 * component is missing, a link or not a directory. */
static int
open_below(int dfd, const char *rel)
{
	char comp[256];
	const char *p = rel;
	int fd = dfd, next;

	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n == 0 || n >= sizeof(comp)) {
			next = -1;
		} else {
			memcpy(comp, p, n);
			comp[n] = '\0';
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd != dfd)
			close(fd);
		if (next < 0)
			return -1;
		fd = next;
		p += n;
		if (*p == '/')
			p++;
	}
	return fd != dfd ? fd : -1;
}

/* 1 when name is one file under both directories (a link() fallback
 * interrupted between its two steps). */
static int
same_file(int afd, int bfd, const char *name)
{
	struct stat a, b;

	return fstatat(afd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(bfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(a.st_mode) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ---- Snapshot retention and PREFIX_latest.* (publish.h) ---- */

#define RETIRE_PREFIX ".mdas-retire."
#define MANIFEST_TAIL ".manifest.json"
#define LATEST_ID "latest"
#define MANIFEST_MAX ((size_t)64 << 20)

/* What the exporters write besides the manifest: latest names of these
 * suffixes that the newest run lacks are stale (an errors file of an
 * earlier run, a format since disabled). */
static const char *const export_suffixes[] = { ".csv", "_errors.csv", ".json", ".xlsx" };

/* Run IDs whose files would take a latest name: "latest", "latest_*". */
static int
reserved_id(const char *id)
{
	size_t n = strlen(LATEST_ID);

	return strncmp(id, LATEST_ID, n) == 0 && (id[n] == '\0' || id[n] == '_');
}

/* True when name is PREFIX_latest followed by '.' or '_'. */
static int
latest_name(const char *prefix, const char *name)
{
	size_t n = strlen(prefix), k = strlen(LATEST_ID);

	return strncmp(name, prefix, n) == 0 && name[n] == '_' &&
	    strncmp(name + n + 1, LATEST_ID, k) == 0 &&
	    (name[n + 1 + k] == '.' || name[n + 1 + k] == '_');
}

/* The suffix S of PREFIX_ID<S> (S starting with '.' or '_'), or NULL. */
static const char *
run_suffix(const char *prefix, const char *id, const char *name)
{
	size_t n = strlen(prefix), k = strlen(id);

	if (strncmp(name, prefix, n) != 0 || name[n] != '_' || strncmp(name + n + 1, id, k) != 0)
		return NULL;
	name += n + 1 + k;
	return *name == '.' || *name == '_' ? name : NULL;
}

/* A JSON object read from name in dfd: a regular file, not followed, at
 * most max bytes.  NULL when it is anything else. */
static struct json_object *
read_object_at(int dfd, const char *name, size_t max)
{
	struct json_object *o;
	char *buf;
	size_t len = 0;
	ssize_t k;
	int fd;

	if ((fd = mdas_open_regular_at(dfd, name, O_RDONLY, 0, NULL)) < 0)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (len < max && (k = read(fd, buf + len, max - len)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	o = len < max && memchr(buf, '\0', len) == NULL ? json_tokener_parse(buf) : NULL;
	free(buf);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* The files a manifest (or retire record) lists, checked as intent_read()
 * checks an intent's.  Returns the count (entries point into m; caller
 * frees *e), or -1 when the list is not well-formed. */
static ssize_t
manifest_entries(struct json_object *m, struct entry **e)
{
	struct json_object *files, *f, *v;
	size_t n, i;

	*e = NULL;
	if (!json_object_object_get_ex(m, "files", &files) ||
	    !json_object_is_type(files, json_type_array) ||
	    (n = json_object_array_length(files)) > 4096)
		return -1;
	if ((*e = calloc(n + 1, sizeof(**e))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(files, i);
		if (!json_object_is_type(f, json_type_object))
			goto bad;
		(*e)[i].name = str_of(f, "name");
		(*e)[i].sha256 = str_of(f, "sha256");
		if (!safe_name((*e)[i].name) || (*e)[i].sha256 == NULL ||
		    strlen((*e)[i].sha256) != 64 || !json_object_object_get_ex(f, "size", &v) ||
		    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
			goto bad;
		(*e)[i].size = (uint64_t)json_object_get_int64(v);
	}
	return (ssize_t)n;
bad:
	free(*e);
	*e = NULL;
	return -1;
}

struct run {
	char *id;
	char *mname;              /* PREFIX_ID.manifest.json */
};

struct runs {
	struct run *v;
	size_t n;
	char **busy;              /* run IDs the intents present name */
	size_t nbusy;
	int unreadable;           /* an intent present could not be read */
};

static void
runs_free(struct runs *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->v[i].id);
		free(rs->v[i].mname);
	}
	for (i = 0; i < rs->nbusy; i++)
		free(rs->busy[i]);
	free(rs->v);
	free(rs->busy);
	memset(rs, 0, sizeof(*rs));
}

static int
newest_first(const void *a, const void *b)
{
	return strverscmp(((const struct run *)b)->id, ((const struct run *)a)->id);
}

static int
push_str(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* The manifests of prefix's runs in dir, newest first (by the run ID in
 * the name; the content is checked by run_complete()), and the run IDs
 * that intent records name, except own (NULL: none). */
static int
runs_scan(int dfd, const char *dir, const char *prefix, const char *own, struct runs *rs,
    struct mdas_error *err)
{
	size_t np = strlen(prefix), nt = strlen(MANIFEST_TAIL);
	struct dirent *de;
	struct intent in;
	DIR *d;
	int fd;

	memset(rs, 0, sizeof(*rs));
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return mdas_error_errno(err, errno, "%s", dir);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t len = strlen(name);

		if (strncmp(name, INTENT_PREFIX, strlen(INTENT_PREFIX)) == 0 &&
		    ends_with(name, INTENT_SUFFIX)) {
			if (intent_read(dfd, dir, name, &in, NULL) != 0) {
				rs->unreadable = 1;
				continue;
			}
			if ((own == NULL || strcmp(in.run_id, own) != 0) &&
			    push_str(&rs->busy, &rs->nbusy, in.run_id) != 0) {
				intent_free(&in);
				goto nomem;
			}
			intent_free(&in);
			continue;
		}
		if (len <= np + 1 + nt || strncmp(name, prefix, np) != 0 || name[np] != '_' ||
		    !ends_with(name, MANIFEST_TAIL))
			continue;
		char id[256];

		if (len - np - 1 - nt >= sizeof(id))
			continue;
		memcpy(id, name + np + 1, len - np - 1 - nt);
		id[len - np - 1 - nt] = '\0';
		if (!mdas_runid_valid(id) || reserved_id(id))
			continue;
		struct run *nv = realloc(rs->v, (rs->n + 1) * sizeof(*nv));

		if (nv == NULL)
			goto nomem;
		rs->v = nv;
		nv[rs->n].id = strdup(id);
		nv[rs->n].mname = strdup(name);
		rs->n++;
		if (nv[rs->n - 1].id == NULL || nv[rs->n - 1].mname == NULL)
			goto nomem;
	}
	closedir(d);
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof(*rs->v), newest_first);
	return 0;
nomem:
	closedir(d);
	runs_free(rs);
	return mdas_error_errno(err, ENOMEM, "%s", dir);
}

static int
run_busy(const struct runs *rs, const char *id)
{
	size_t i;

	for (i = 0; i < rs->nbusy; i++)
		if (strcmp(rs->busy[i], id) == 0)
			return 1;
	return 0;
}

/* The manifest of run (a new object) when the run is complete, else NULL. */
static struct json_object *
run_complete(int dfd, const struct runs *rs, const struct run *run)
{
	struct json_object *m;
	struct entry *e = NULL;
	const char *id, *status;
	struct stat st;
	ssize_t n, i;

	if (run_busy(rs, run->id) || (m = read_object_at(dfd, run->mname, MANIFEST_MAX)) == NULL)
		return NULL;
	id = str_of(m, "run_id");
	status = str_of(m, "status");
	if (id == NULL || strcmp(id, run->id) != 0 || status == NULL ||
	    (strcmp(status, "ok") != 0 && strcmp(status, "partial") != 0) ||
	    (n = manifest_entries(m, &e)) < 0)
		goto no;
	for (i = 0; i < n; i++)
		if (fstatat(dfd, e[i].name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e[i].size)
			goto no;
	free(e);
	return m;
no:
	free(e);
	json_object_put(m);
	return NULL;
}

/* A fresh temporary name for final in the shape mdas_remove_stale_temps()
 * recognises: ".FINAL.tmp.PID.XXXXXX". */
static void
tmp_name(char *buf, size_t n, const char *final)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned long seq;
	unsigned char r[6];
	char x[7];
	size_t i;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		unsigned long v = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16) ^ ++seq;

		for (i = 0; i < sizeof(r); i++, v = v * 6364136223846793005UL + 1442695040888963407UL)
			r[i] = (unsigned char)(v >> 33);
	}
	for (i = 0; i < 6; i++)
		x[i] = set[r[i] % (sizeof(set) - 1)];
	x[6] = '\0';
	snprintf(buf, n, ".%s.tmp.%ld.%s", final, (long)getpid(), x);
}

/* Copies src (in dfd) to the new file tmp. */
static int
copy_at(int dfd, const char *dir, const char *src, const char *tmp, struct mdas_error *err)
{
	char buf[65536];
	ssize_t k, w;
	int in, out, rc = 0;

	if ((in = mdas_open_regular_at(dfd, src, O_RDONLY, 0, NULL)) < 0)
		return mdas_error_errno(err, errno, "%s/%s", dir, src);
	if ((out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0666)) < 0) {
		rc = errno;
		close(in);
		errno = rc;
		return -2;
	}
	while (rc == 0 && (k = read(in, buf, sizeof(buf))) != 0) {
		if (k < 0) {
			if (errno != EINTR)
				rc = mdas_error_errno(err, errno, "%s/%s: read error", dir, src);
			continue;
		}
		for (ssize_t off = 0; off < k && rc == 0; off += w)
			if ((w = write(out, buf + off, (size_t)(k - off))) <= 0 && errno != EINTR)
				rc = mdas_error_errno(err, errno, "%s/%s: write failed", dir, tmp);
			else if (w < 0)
				w = 0;
	}
	if (rc == 0 && fsync(out) != 0)
		rc = mdas_error_errno(err, errno, "%s/%s: fsync failed", dir, tmp);
	if (close(out) != 0 && rc == 0)
		rc = mdas_error_errno(err, errno, "%s/%s: close failed", dir, tmp);
	close(in);
	if (rc != 0)
		unlinkat(dfd, tmp, 0);
	return rc;
}

/* Makes alias name the same file as src (a regular file in dfd): a hard
 * link (or a copy) under a temporary name, rename()d over alias, which
 * replaces whatever is there (a symbolic link is replaced, never
 * followed).  Nothing to do when alias already is src. */
static int
alias_at(int dfd, const char *dir, const char *src, const char *alias, struct mdas_error *err)
{
	struct stat a, b;
	char tmp[512];
	int tries, rc = -1;

	if (fstatat(dfd, src, &a, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(a.st_mode))
		return mdas_error_set(err, "%s/%s: not a regular file", dir, src);
	if (fstatat(dfd, alias, &b, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(b.st_mode) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	for (tries = 0; tries < 64 && rc != 0; tries++) {
		tmp_name(tmp, sizeof(tmp), alias);
		if (linkat(dfd, src, dfd, tmp, 0) == 0) {
			rc = 0;
			break;
		}
		if (errno == EEXIST)
			continue;
		if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != EMLINK &&
		    errno != EXDEV && errno != ENOSYS)
			return mdas_error_errno(err, errno, "%s/%s: cannot link", dir, tmp);
		/* No hard links here: a copy, the same way. */
		if ((rc = copy_at(dfd, dir, src, tmp, err)) == -2) {
			if (errno == EEXIST) {
				rc = -1;
				continue;
			}
			return mdas_error_errno(err, errno, "%s/%s: cannot create", dir, tmp);
		}
		if (rc != 0)
			return -1;
	}
	if (rc != 0)
		return mdas_error_set(err, "%s/%s: no free temporary name", dir, alias);
	if (renameat(dfd, tmp, dfd, alias) != 0) {
		rc = errno;
		unlinkat(dfd, tmp, 0);
		return mdas_error_errno(err, rc, "%s/%s: cannot replace", dir, alias);
	}
	return 0;
}

static void
warnf(struct mdas_publish_result *res, const char *msg)
{
	if (res == NULL)
		return;
	if (res->nwarnings++ == 0)
		snprintf(res->warning, sizeof(res->warning), "%s", msg);
}

/* Points prefix's latest names in dir at its newest complete run (own:
 * the run being published, whose intent does not count as in progress).
 * No complete run: nothing changes.  Returns 0 or -1 with err. */
static int
latest_point(int dfd, const char *dir, const char *prefix, const char *own,
    mdas_publish_note_fn note, void *ctx, struct mdas_error *err)
{
	struct json_object *m = NULL, *prev;
	struct entry *e = NULL, *pe = NULL;
	char alias[512], mname[512];
	const char *target = NULL, *s, *pid;
	char **stale = NULL, **fresh = NULL;
	size_t nstale = 0, nfresh = 0, i, j;
	ssize_t n = 0, pn;
	struct runs rs;
	int rc = 0;

	if (runs_scan(dfd, dir, prefix, own, &rs, err) != 0)
		return -1;
	for (i = 0; i < rs.n && m == NULL; i++)
		if ((m = run_complete(dfd, &rs, &rs.v[i])) != NULL)
			target = rs.v[i].id;
	if (m == NULL)
		goto out;
	if ((n = manifest_entries(m, &e)) < 0) {
		rc = mdas_error_set(err, "%s/%s_%s" MANIFEST_TAIL ": unusable", dir, prefix, target);
		goto out;
	}
	/* What the latest names held so far (their manifest says), so that
	 * names this run lacks can go. */
	for (i = 0; i < sizeof(export_suffixes) / sizeof(export_suffixes[0]); i++)
		if (push_str(&stale, &nstale, export_suffixes[i]) != 0)
			goto nomem;
	snprintf(alias, sizeof(alias), "%s_" LATEST_ID MANIFEST_TAIL, prefix);
	if ((prev = read_object_at(dfd, alias, MANIFEST_MAX)) != NULL) {
		if ((pid = str_of(prev, "run_id")) != NULL && (pn = manifest_entries(prev, &pe)) > 0)
			for (j = 0; j < (size_t)pn; j++)
				if ((s = run_suffix(prefix, pid, pe[j].name)) != NULL &&
				    strcmp(s, MANIFEST_TAIL) != 0 && push_str(&stale, &nstale, s) != 0) {
					json_object_put(prev);
					goto nomem;
				}
		free(pe);
		json_object_put(prev);
	}
	/* The data files first, durable before the manifest names them. */
	for (i = 0; i < (size_t)n && rc == 0; i++) {
		if ((s = run_suffix(prefix, target, e[i].name)) == NULL ||
		    strcmp(s, MANIFEST_TAIL) == 0)
			continue;
		snprintf(alias, sizeof(alias), "%s_" LATEST_ID "%s", prefix, s);
		if (push_str(&fresh, &nfresh, s) != 0)
			goto nomem;
		rc = alias_at(dfd, dir, e[i].name, alias, err);
	}
	if (rc == 0)
		rc = fsync_fd_dir(dfd, dir, err);
	if (rc == 0) {
		snprintf(mname, sizeof(mname), "%s_%s" MANIFEST_TAIL, prefix, target);
		snprintf(alias, sizeof(alias), "%s_" LATEST_ID MANIFEST_TAIL, prefix);
		rc = alias_at(dfd, dir, mname, alias, err);
	}
	/* Then the latest names of earlier runs that this one does not have. */
	for (i = 0; i < nstale && rc == 0; i++) {
		struct stat st;

		for (j = 0; j < nfresh && strcmp(fresh[j], stale[i]) != 0; j++)
			;
		if (j < nfresh)
			continue;
		snprintf(alias, sizeof(alias), "%s_" LATEST_ID "%s", prefix, stale[i]);
		if (fstatat(dfd, alias, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
			continue;
		if (unlinkat(dfd, alias, 0) != 0)
			rc = mdas_error_errno(err, errno, "%s/%s: cannot remove", dir, alias);
	}
	if (rc == 0)
		rc = fsync_fd_dir(dfd, dir, err);
	goto out;
nomem:
	rc = mdas_error_errno(err, ENOMEM, "%s", dir);
out:
	for (i = 0; i < nstale; i++)
		free(stale[i]);
	for (i = 0; i < nfresh; i++)
		free(fresh[i]);
	free(stale);
	free(fresh);
	free(e);
	json_object_put(m);
	runs_free(&rs);
	return rc;
}

/* Removes the files the retire record rname (a run's manifest, moved
 * aside) lists that still hold the recorded content, then the record.
 * Never a latest name of prefix. */
static int
retire_finish(int dfd, const char *dir, const char *rname, const char *prefix,
    struct json_object *m, mdas_publish_note_fn note, void *ctx, struct mdas_error *err)
{
	const char *mname = rname + strlen(RETIRE_PREFIX);
	struct entry *e;
	struct stat a, b;
	ssize_t n, i;
	int rc = 0, k;

	if ((n = manifest_entries(m, &e)) < 0)
		return mdas_error_set(err, "%s/%s: not a valid retire record", dir, rname);
	/* A link() fallback of the move aside cut short leaves the manifest
	 * under both names: it goes first, before any file it lists. */
	if (fstatat(dfd, rname, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dfd, mname, &b, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(b.st_mode) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		if (unlinkat(dfd, mname, 0) != 0 || fsync_fd_dir(dfd, dir, err) != 0) {
			free(e);
			return mdas_error_errno(err, errno, "%s/%s: cannot remove", dir, mname);
		}
	}
	for (i = 0; i < n; i++) {
		if (latest_name(prefix, e[i].name))
			continue;
		if ((k = holds(dfd, dir, &e[i], NULL)) == 1) {
			if (unlinkat(dfd, e[i].name, 0) != 0 && errno != ENOENT)
				rc = mdas_error_errno(err, errno, "%s/%s: cannot remove", dir,
				    e[i].name);
		} else if (exists_at(dfd, e[i].name))
			notef(note, ctx, "%s/%s: changed since its run was published; left in place",
			    dir, e[i].name);
	}
	free(e);
	if (rc == 0)
		rc = fsync_fd_dir(dfd, dir, err);
	if (rc == 0 && unlinkat(dfd, rname, 0) != 0)
		rc = mdas_error_errno(err, errno, "%s/%s: cannot remove", dir, rname);
	if (rc == 0)
		rc = fsync_fd_dir(dfd, dir, err);
	return rc;
}

/* Finishes the removal of a run whose retire record rname recovery found. */
static int
recover_retire(int dfd, const char *dir, const char *rname, mdas_publish_note_fn note,
    void *ctx, struct mdas_error *err)
{
	const char *mname = rname + strlen(RETIRE_PREFIX), *id;
	struct json_object *m;
	char prefix[256];
	size_t n;
	int rc;

	if ((m = read_object_at(dfd, rname, MANIFEST_MAX)) == NULL ||
	    (id = str_of(m, "run_id")) == NULL || !mdas_runid_valid(id) ||
	    !names_manifest(mname, id) ||
	    (n = strlen(mname) - strlen(id) - strlen(MANIFEST_TAIL) - 1) >= sizeof(prefix)) {
		json_object_put(m);
		return mdas_error_set(err, "%s/%s: not a valid retire record", dir, rname);
	}
	memcpy(prefix, mname, n);
	prefix[n] = '\0';
	rc = retire_finish(dfd, dir, rname, prefix, m, note, ctx, err);
	if (rc == 0)
		notef(note, ctx, "%s: finished the interrupted removal of run %s", dir, id);
	json_object_put(m);
	return rc;
}

/* Every retire record in dir.  Returns how many were finished, or -1
 * with err (the first failure; the others were tried). */
static int
recover_retires(int dfd, const char *dir, mdas_publish_note_fn note, void *ctx,
    struct mdas_error *err)
{
	char **names = NULL;
	size_t n = 0, i;
	struct dirent *de;
	struct mdas_error e;
	int fd, rc = 0, done = 0;
	DIR *d;

	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return mdas_error_errno(err, errno, "%s", dir);
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, RETIRE_PREFIX, strlen(RETIRE_PREFIX)) == 0 &&
		    push_str(&names, &n, de->d_name) != 0) {
			rc = mdas_error_errno(err, ENOMEM, "%s", dir);
			break;
		}
	closedir(d);
	for (i = 0; i < n; i++) {
		if (recover_retire(dfd, dir, names[i], note, ctx, &e) != 0) {
			if (rc == 0 && err != NULL)
				*err = e;
			rc = -1;
		} else
			done++;
		free(names[i]);
	}
	free(names);
	return rc < 0 ? -1 : done;
}

/* Removes prefix's complete runs in dir beyond the keep newest, oldest
 * first.  Returns how many went, or -1 with err (those before went). */
static int
retain(int dfd, const char *dir, const char *prefix, unsigned long keep, unsigned pause,
    mdas_publish_note_fn note, void *ctx, struct mdas_error *err)
{
	struct json_object *m;
	char rname[600];
	unsigned long complete = 0;
	size_t i, k, nold = 0;
	struct runs rs;
	int removed = 0, rc = 0;
	size_t *old = NULL;

	if (runs_scan(dfd, dir, prefix, NULL, &rs, err) != 0)
		return -1;
	if (rs.unreadable) {
		runs_free(&rs);
		return mdas_error_set(err, "%s: an intent record cannot be read; no run removed",
		    dir);
	}
	if ((old = calloc(rs.n + 1, sizeof(*old))) == NULL) {
		runs_free(&rs);
		return mdas_error_errno(err, ENOMEM, "%s", dir);
	}
	for (i = 0; i < rs.n; i++) {
		if ((m = run_complete(dfd, &rs, &rs.v[i])) == NULL)
			continue;
		json_object_put(m);
		if (++complete > keep)
			old[nold++] = i;
	}
	/* Oldest first: a removal cut short leaves the newest ones. */
	for (k = nold; k-- > 0 && rc == 0;) {
		const struct run *run = &rs.v[old[k]];

		if ((m = read_object_at(dfd, run->mname, MANIFEST_MAX)) == NULL)
			continue;
		snprintf(rname, sizeof(rname), RETIRE_PREFIX "%s", run->mname);
		/* The commit point: the manifest aside, the run no longer complete. */
		if (move_noreplace(dfd, run->mname, dfd, rname) != 0)
			rc = mdas_error_errno(err, errno, "%s/%s: cannot move aside", dir, run->mname);
		else if ((rc = fsync_fd_dir(dfd, dir, err)) == 0 &&
		    (pause_ms(pause), 1) &&
		    (rc = retire_finish(dfd, dir, rname, prefix, m, note, ctx, err)) == 0) {
			notef(note, ctx, "%s: removed run %s (export.keep_runs %lu)", dir, run->id,
			    keep);
			removed++;
		}
		json_object_put(m);
	}
	free(old);
	runs_free(&rs);
	return rc < 0 ? -1 : removed;
}

/* Finishes or undoes the publish described by intent name in dfd.  It
 * only ever touches, in the export directory, names that hold exactly
 * what the intent recorded, and only moves in a staged file where the
 * final name is free: a name taken by anything else (another file, a
 * FIFO) means the publish cannot be finished as recorded. */
static int
recover_intent(int dfd, const char *dir, const char *name, char *latest_prefix, size_t lpn,
    mdas_publish_note_fn note, void *ctx, struct mdas_error *err)
{
	struct intent in;
	char sdir[4096];
	size_t i;
	int sfd, forward = 1, rc = 0;

	if (intent_read(dfd, dir, name, &in, err) != 0)
		return -1;
	snprintf(sdir, sizeof(sdir), "%s/%s", dir, in.staged);
	sfd = open_below(dfd, in.staged);
	for (i = 0; i < in.n && forward; i++) {
		if (holds(dfd, dir, &in.e[i], NULL) == 1)
			continue;
		if (exists_at(dfd, in.e[i].name) || holds(sfd, sdir, &in.e[i], NULL) != 1)
			forward = 0;
	}
	if (forward) {
		for (i = 0; i < in.n && rc == 0; i++) {
			if (sfd < 0 || !exists_at(sfd, in.e[i].name))
				continue;
			if (exists_at(dfd, in.e[i].name)) {
				/* Final name in place (it holds the recorded content):
				 * a staged name that is the same file is what an
				 * interrupted link() fallback left; anything else
				 * staged stays for the work directory's cleaner. */
				if (same_file(sfd, dfd, in.e[i].name))
					unlinkat(sfd, in.e[i].name, 0);
				continue;
			}
			/* Every data file durable before the manifest appears. */
			if (i == in.n - 1 && fsync_fd_dir(dfd, dir, err) != 0)
				rc = -1;
			else if (move_noreplace(sfd, in.e[i].name, dfd, in.e[i].name) != 0)
				rc = mdas_error_errno(err, errno, "%s/%s: cannot move into place",
				    dir, in.e[i].name);
		}
		if (rc == 0)
			notef(note, ctx, "%s: finished the interrupted publish of run %s",
			    dir, in.run_id);
	} else {
		/* The manifest first, so no moment shows it without its files. */
		for (i = in.n; i-- > 0;)
			if (holds(dfd, dir, &in.e[i], NULL) == 1 &&
			    unlinkat(dfd, in.e[i].name, 0) != 0)
				rc = mdas_error_errno(err, errno, "%s/%s: cannot remove", dir,
				    in.e[i].name);
		if (rc == 0)
			notef(note, ctx, "%s: rolled back the interrupted publish of run %s "
			    "(its staged files were incomplete)", dir, in.run_id);
	}
	if (sfd >= 0)
		close(sfd);
	if (rc == 0 && fsync_fd_dir(dfd, dir, err) == 0 && unlinkat(dfd, name, 0) != 0)
		rc = mdas_error_errno(err, errno, "%s/%s: cannot remove", dir, name);
	if (rc == 0)
		rc = fsync_fd_dir(dfd, dir, err);
	/* Its latest names may be half-swapped: the caller repeats the swap. */
	if (rc == 0 && in.latest)
		snprintf(latest_prefix, lpn, "%s", in.prefix);
	intent_free(&in);
	return rc;
}

/* ---- Stale files of dead processes ---- */

/* The PID in "...<tag><digits>.<more>" or -1. */
static long
pid_after(const char *name, const char *tag)
{
	const char *p = strstr(name, tag);
	char *end;
	long pid;

	if (p == NULL)
		return -1;
	p += strlen(tag);
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno != 0 || *end != '.' || pid <= 0)
		return -1;
	return pid;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) != 0 && errno != ENOENT;
	return unlink(path) != 0 && errno != ENOENT;
}

/* rm -rf of dir/name, never following a symbolic link. */
static int
remove_tree(const char *dir, const char *name, struct mdas_error *err)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return mdas_error_set(err, "%s/%s: path too long", dir, name);
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return mdas_error_errno(err, errno, "%s: cannot remove", path);
	return 0;
}

/* Our own real directory (not a link, our uid) in dfd. */
static int
own_dir(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == getuid();
}

/* Removes directories "<prefix>...<tag>PID.*" of dead PIDs in dir. */
static int
remove_dead_dirs(const char *dir, const char *prefix, const char *tag, const char *what,
    mdas_publish_note_fn note, void *ctx, struct mdas_error *err)
{
	struct dirent *de;
	DIR *d;
	long pid;
	int n = 0, rc = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : mdas_error_errno(err, errno, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    (pid = pid_after(de->d_name, tag)) < 0 || mdas_pid_alive(pid) ||
		    !own_dir(dirfd(d), de->d_name))
			continue;
		if (remove_tree(dir, de->d_name, err) != 0) {
			rc = -1;
			continue;
		}
		notef(note, ctx, "removed the %s of an interrupted run: %s/%s", what, dir,
		    de->d_name);
		n++;
	}
	closedir(d);
	return rc < 0 ? -1 : n;
}

/* Names of the intents in dir (NULL-terminated, caller frees), NULL with
 * *count -1 on error. */
static int
scan(const char *dir, char ***intents, int *workdirs, int *retires, struct mdas_error *err)
{
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	DIR *d;

	*intents = NULL;
	*workdirs = 0;
	*retires = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : mdas_error_errno(err, errno, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, WORKDIR_PREFIX, strlen(WORKDIR_PREFIX)) == 0) {
			long pid = pid_after(de->d_name, ".pid");

			if (pid > 0 && !mdas_pid_alive(pid))
				(*workdirs)++;
			continue;
		}
		if (strncmp(de->d_name, RETIRE_PREFIX, strlen(RETIRE_PREFIX)) == 0) {
			(*retires)++;
			continue;
		}
		if (strncmp(de->d_name, INTENT_PREFIX, strlen(INTENT_PREFIX)) != 0 ||
		    !ends_with(de->d_name, INTENT_SUFFIX))
			continue;
		char **nv = realloc(v, (n + 2) * sizeof(*v));

		if (nv == NULL || (nv[n] = strdup(de->d_name)) == NULL) {
			free(nv != NULL ? nv : v);
			v = NULL;
			closedir(d);
			return mdas_error_errno(err, ENOMEM, "%s", dir);
		}
		v = nv;
		v[++n] = NULL;
	}
	closedir(d);
	*intents = v;
	return (int)n;
}

static void
free_names(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Recovery proper, with the lock held (lock_fd >= 0) or not needed. */
static int
recover_locked(const char *dir, int dfd, mdas_publish_note_fn note, void *ctx,
    struct mdas_error *err)
{
	char **names, **latest = NULL, lp[256];
	int workdirs, retires, n, rc = 0, done = 0;
	size_t i, j, nlatest = 0;
	struct mdas_error e;

	if ((n = scan(dir, &names, &workdirs, &retires, err)) < 0)
		return -1;
	for (i = 0; names != NULL && names[i] != NULL; i++) {
		lp[0] = '\0';
		if (recover_intent(dfd, dir, names[i], lp, sizeof(lp), note, ctx, &e) != 0) {
			if (rc == 0 && err != NULL)
				*err = e;
			rc = -1;
		} else
			done++;
		for (j = 0; j < nlatest && strcmp(latest[j], lp) != 0; j++)
			;
		if (lp[0] != '\0' && j == nlatest && push_str(&latest, &nlatest, lp) != 0)
			rc = mdas_error_errno(err, ENOMEM, "%s", dir);
	}
	free_names(names);
	if (retires > 0 && (n = recover_retires(dfd, dir, note, ctx, &e)) != 0) {
		if (n < 0) {
			if (rc == 0 && err != NULL)
				*err = e;
			rc = -1;
		} else
			done += n;
	}
	/* A publish killed while it swapped its latest names: again, now that
	 * its run is finished or gone. */
	for (j = 0; j < nlatest; j++) {
		if (latest_point(dfd, dir, latest[j], NULL, note, ctx, &e) != 0) {
			if (rc == 0 && err != NULL)
				*err = e;
			rc = -1;
		}
		free(latest[j]);
	}
	free(latest);
	/* Only now: a staging directory may hold what an intent still needs. */
	if (rc == 0 && workdirs > 0) {
		n = remove_dead_dirs(dir, WORKDIR_PREFIX, ".pid", "work directory", note, ctx, err);
		if (n < 0)
			rc = -1;
		else
			done += n;
	}
	return rc < 0 ? -1 : done;
}

int
mdas_publish_recover(const char *dir, int flags, mdas_publish_note_fn note, void *ctx,
    struct mdas_error *err)
{
	char lock[4096], **names;
	int workdirs, retires, n, dfd, lfd, rc, done = 0;

	if ((n = scan(dir, &names, &workdirs, &retires, err)) < 0)
		return -1;
	free_names(names);
	rc = 0;
	if (n > 0 || workdirs > 0 || retires > 0) {
		/* A live publisher holds the lock from before its intent exists
		 * until after it is gone: with the lock, every intent is dead. */
		snprintf(lock, sizeof(lock), "%s/" MDAS_PUBLISH_LOCK, dir);
		if ((lfd = mdas_lock_acquire(lock, 1, err)) < 0)
			return -1;
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			rc = mdas_error_errno(err, errno, "%s", dir);
		else {
			rc = recover_locked(dir, dfd, note, ctx, err);
			close(dfd);
		}
		mdas_lock_release(lfd);
		if (rc < 0)
			return -1;
		done += rc;
	}
	if ((n = mdas_remove_stale_temps(dir, NULL)) > 0) {
		notef(note, ctx, "%s: removed %d stale temporary file%s", dir, n, n == 1 ? "" : "s");
		done += n;
	}
	if (flags & MDAS_RECOVER_SCRATCH) {
		const char *tmp = getenv("TMPDIR");

		if (tmp == NULL || *tmp == '\0')
			tmp = "/tmp";
		n = remove_dead_dirs(tmp, SCRATCH_PREFIX, SCRATCH_PREFIX, "scratch directory",
		    note, ctx, NULL);
		if (n > 0)
			done += n;
	}
	return done;
}

/* ---- Publishing ---- */

/* The staging directory's path relative to the export directory, into
 * buf; -1 when it is not strictly inside it. */
static int
relative_to(const char *export_dir, const char *staged, char *buf, size_t n,
    struct mdas_error *err)
{
	char *e = realpath(export_dir, NULL), *s = realpath(staged, NULL);
	size_t k;
	int rc = -1;

	if (e == NULL || s == NULL)
		mdas_error_errno(err, errno, "%s", e == NULL ? export_dir : staged);
	else if ((k = strlen(e)) > 0 && strncmp(s, e, k) == 0 &&
	    (s[k] == '/' || (k == 1 && e[0] == '/')) &&
	    safe_relpath(s + (k == 1 ? 1 : k + 1)) &&
	    snprintf(buf, n, "%s", s + (k == 1 ? 1 : k + 1)) < (int)n)
		rc = 0;
	else
		mdas_error_set(err, "%s: the staging directory must be a %s* directory inside %s",
		    staged, WORKDIR_PREFIX, export_dir);
	free(e);
	free(s);
	return rc;
}

static int
write_manifest(const char *staged_dir, const char *name, struct json_object *m,
    struct mdas_error *err)
{
	char path[4096];
	const char *text = to_text(m, 1);
	size_t len = strlen(text);
	struct mdas_atomic *a;

	snprintf(path, sizeof(path), "%s/%s", staged_dir, name);
	if ((a = mdas_atomic_open(path, err)) == NULL)
		return -1;
	if (fwrite(text, 1, len, mdas_atomic_fp(a)) != len || fputc('\n', mdas_atomic_fp(a)) == EOF) {
		mdas_error_errno(err, errno, "%s: write failed", path);
		mdas_atomic_abort(a);
		return -1;
	}
	return mdas_atomic_commit(a, 1, err);
}

static int
publish_locked(const struct mdas_publish_req *r, int dfd, struct mdas_publish_result *res,
    mdas_publish_note_fn note, void *ctx, struct mdas_error *err)
{
	char rel[1024], mname[512], iname[512], ipath[4096];
	char (*sha)[65] = NULL;
	uint64_t *sizes = NULL;
	struct json_object *m = NULL, *intent = NULL, *files, *f;
	size_t i, moved = 0;
	int sfd = -1, rc = -1, intent_written = 0, partial = 0, k;
	const char *text;

	if (relative_to(r->export_dir, r->staged_dir, rel, sizeof(rel), err) != 0)
		return -1;
	if ((sfd = open(r->staged_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return mdas_error_errno(err, errno, "%s", r->staged_dir);
	snprintf(mname, sizeof(mname), "%s_%s.manifest.json", r->prefix, r->run_id);
	snprintf(iname, sizeof(iname), INTENT_PREFIX "%s" INTENT_SUFFIX, r->run_id);
	snprintf(ipath, sizeof(ipath), "%s/%s", r->export_dir, iname);
	snprintf(res->manifest_path, sizeof(res->manifest_path), "%s/%s", r->export_dir, mname);
	if (!safe_name(mname)) {
		mdas_error_set(err, "%s: not a usable manifest name", mname);
		goto out;
	}
	sizes = calloc(r->nfiles + 1, sizeof(*sizes));
	sha = calloc(r->nfiles + 1, sizeof(*sha));
	if (sizes == NULL || sha == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", r->export_dir);
		goto out;
	}
	for (i = 0; i < r->nfiles; i++) {
		const char *name = r->files[i].name;
		size_t j;

		if (!safe_name(name) || strcmp(name, mname) == 0 || latest_name(r->prefix, name)) {
			mdas_error_set(err, "%s: not a usable export file name", name);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(r->files[j].name, name) == 0) {
				mdas_error_set(err, "%s: named twice", name);
				goto out;
			}
		if ((k = hash_at(sfd, r->staged_dir, name, 1, &sizes[i], sha[i], err)) != 0) {
			if (k > 0)
				mdas_error_set(err, "%s/%s: no such staged file", r->staged_dir, name);
			goto out;
		}
		if (exists_at(dfd, name)) {
			mdas_error_set(err, "%s/%s: exists; will not overwrite", r->export_dir, name);
			goto out;
		}
	}
	if (exists_at(dfd, mname)) {
		mdas_error_set(err, "%s: exists; will not overwrite", res->manifest_path);
		goto out;
	}
	if ((m = mdas_manifest_build(r, sizes, sha, &partial, err)) == NULL)
		goto out;
	if (write_manifest(r->staged_dir, mname, m, err) != 0)
		goto out;
	if ((k = hash_at(sfd, r->staged_dir, mname, 1, &sizes[r->nfiles], sha[r->nfiles],
	    err)) != 0) {
		if (k > 0)
			mdas_error_set(err, "%s/%s: vanished", r->staged_dir, mname);
		goto out;
	}

	/* The intent: everything recovery needs to finish or undo this. */
	intent = json_object_new_object();
	add(intent, "mdas_publish_intent", json_object_new_int(1));
	add(intent, "run_id", json_object_new_string(r->run_id));
	add(intent, "staged_dir", json_object_new_string(rel));
	add(intent, "prefix", json_object_new_string(r->prefix));
	add(intent, "latest", json_object_new_boolean(r->latest != 0));
	files = json_object_new_array();
	for (i = 0; i <= r->nfiles; i++) {
		f = json_object_new_object();
		add(f, "name", json_object_new_string(i < r->nfiles ? r->files[i].name : mname));
		add(f, "size", json_object_new_int64((int64_t)sizes[i]));
		add(f, "sha256", json_object_new_string(sha[i]));
		json_object_array_add(files, f);
	}
	add(intent, "files", files);
	text = to_text(intent, 0);
	if (mdas_write_file_atomic(ipath, text, strlen(text), err) != 0)
		goto out;
	intent_written = 1;
	pause_ms(r->pause_ms);

	for (i = 0; i < r->nfiles; i++) {
		if (move_noreplace(sfd, r->files[i].name, dfd, r->files[i].name) != 0) {
			mdas_error_errno(err, errno, "%s/%s: cannot move into place",
			    r->export_dir, r->files[i].name);
			goto out;
		}
		moved++;
		pause_ms(r->pause_ms);
	}
	if (fsync_fd_dir(dfd, r->export_dir, err) != 0)
		goto out;
	if (move_noreplace(sfd, mname, dfd, mname) != 0) {
		mdas_error_errno(err, errno, "%s: cannot move into place", res->manifest_path);
		goto out;
	}
	/* Committed: from here on the run is published, whatever fails. */
	rc = 0;
	res->partial = partial;
	if (fsync_fd_dir(dfd, r->export_dir, err) != 0)
		notef(note, ctx, "%s", err->msg);
	pause_ms(r->pause_ms);
	/* With the intent still in place: a kill here is repeated by recovery. */
	if (r->latest) {
		struct mdas_error e;

		if (latest_point(dfd, r->export_dir, r->prefix, r->run_id, note, ctx, &e) != 0)
			warnf(res, e.msg);
		pause_ms(r->pause_ms);
	}
	if (unlinkat(dfd, iname, 0) != 0 || fsync_fd_dir(dfd, r->export_dir, NULL) != 0)
		notef(note, ctx, "%s: cannot remove the intent record (the next start will): %s",
		    ipath, strerror(errno));
	intent_written = 0;
	if (r->keep_runs > 0) {
		struct mdas_error e;

		if ((k = retain(dfd, r->export_dir, r->prefix, r->keep_runs, r->pause_ms, note, ctx,
		    &e)) < 0)
			warnf(res, e.msg);
		else
			res->removed = (unsigned)k;
	}
out:
	if (rc != 0) {
		/* Undo in reverse: nothing of this run under a final name. */
		while (moved-- > 0)
			if (renameat(dfd, r->files[moved].name, sfd, r->files[moved].name) != 0)
				unlinkat(dfd, r->files[moved].name, 0);
		if (intent_written) {
			fsync_fd_dir(dfd, r->export_dir, NULL);
			unlinkat(dfd, iname, 0);
			fsync_fd_dir(dfd, r->export_dir, NULL);
		}
	}
	json_object_put(m);
	json_object_put(intent);
	free(sizes);
	free(sha);
	if (sfd >= 0)
		close(sfd);
	return rc;
}

int
mdas_publish_run(const struct mdas_publish_req *r, struct mdas_publish_result *res,
    mdas_publish_note_fn note, void *ctx, struct mdas_error *err)
{
	char lock[4096];
	int lfd, dfd, rc;

	memset(res, 0, sizeof(*res));
	if (!mdas_runid_valid(r->run_id))
		return mdas_error_set(err, "invalid run ID '%s'", r->run_id);
	if (reserved_id(r->run_id))
		return mdas_error_set(err, "run ID '%s' is reserved (PREFIX_latest.* name the "
		    "newest run)", r->run_id);
	if (r->prefix == NULL || !safe_name(r->prefix))
		return mdas_error_set(err, "%s: not a usable prefix", r->prefix != NULL ?
		    r->prefix : "(none)");
	snprintf(lock, sizeof(lock), "%s/" MDAS_PUBLISH_LOCK, r->export_dir);
	if ((lfd = mdas_lock_acquire(lock, 1, err)) < 0)
		return -1;
	if ((dfd = open(r->export_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = mdas_error_errno(err, errno, "%s", r->export_dir);
	} else {
		struct mdas_error e;

		if (recover_locked(r->export_dir, dfd, note, ctx, &e) < 0)
			notef(note, ctx, "%s", e.msg);
		rc = publish_locked(r, dfd, res, note, ctx, err);
		close(dfd);
	}
	mdas_lock_release(lfd);
	return rc;
}
