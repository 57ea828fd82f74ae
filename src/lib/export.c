#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "cli.h"
#include "export.h"
#include "fsutil.h"
#include "jsonget.h"
#include "jsonw.h"
#include "log.h"
#include "ndjson.h"
#include "publish.h"
#include "runid.h"
#include "settings.h"
#include "timeutil.h"

struct mdas_export {
	struct mdas_settings *settings;
	char run_id[MDAS_RUNID_MAX];
	char *basename;           /* PREFIX_RUNID */
	const char *dir;          /* --output-dir or export.dir */
	const char *fallback;     /* export.fallback_dir or NULL */
	int fell_back;            /* later outputs go straight to fallback */
	const char *output;       /* -o */
	int output_stream;        /* -o names a stream (output_kind) */
	int force;
	char recovered[4096];     /* the directory last recovered, or "" */
};

struct mdas_export_out {
	struct mdas_atomic *atomic;   /* NULL for a stream */
	FILE *stream;                 /* -o FIFO or device; NULL: stdout */
	int lock_fd;
	int force;
	char *final_path;
};

int
mdas_export_getopt(struct mdas_export_opts *o, int c, const char *arg)
{
	switch (c) {
	case MDAS_EXPORT_OPT_CONFIG: o->config_path = arg; return 1;
	case MDAS_EXPORT_OPT_RUN_ID: o->run_id = arg; return 1;
	case MDAS_EXPORT_OPT_OUTPUT_DIR: o->output_dir = arg; return 1;
	case MDAS_EXPORT_OPT_FORCE: o->force = 1; return 1;
	case 'o': o->output = arg; return 1;
	default: return 0;
	}
}

/* What an output path names.  Only a regular file (or nothing, or at a
 * default name a link, which is replaced, never followed) is written
 * through a temporary and renamed into place: renaming over a FIFO or a
 * device (-o /dev/null as root) would replace it with a regular file.
 * stream_ok (-o): a FIFO or character device, or a link to one
 * (/dev/stdout, /dev/fd/N), is written as a stream, like "-"; a link to
 * anything else is neither followed nor replaced, since -o may name a
 * system path (/dev/stdout when standard output is a file). */
enum out_kind { OUT_FILE, OUT_STREAM, OUT_BAD };

static enum out_kind
output_kind(const char *path, int stream_ok)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
		return OUT_STREAM;
	if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
		return OUT_FILE;
	if (S_ISLNK(st.st_mode)) {
		if (!stream_ok)
			return OUT_FILE;
		if (stat(path, &st) != 0)
			return OUT_BAD;
	}
	if (stream_ok && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
		return OUT_STREAM;
	return OUT_BAD;
}

int
mdas_export_output_is_stream(const char *path)
{
	return output_kind(path, 1) == OUT_STREAM;
}

/* Why path (OUT_BAD) is refused. */
static void
output_refused(const char *path, int stream_ok, struct mdas_error *err)
{
	struct stat st;

	if (!stream_ok)
		mdas_error_set(err, "%s: not a regular file; will not replace it", path);
	else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		mdas_error_set(err, "%s: a symbolic link to neither a FIFO nor a character "
		    "device; not followed or replaced", path);
	else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		mdas_error_errno(err, EISDIR, "%s", path);
	else
		mdas_error_set(err, "%s: not a regular file, FIFO or character device", path);
	if (err != NULL && err->errnum == 0)
		err->errnum = EEXIST;
}

struct mdas_export *
mdas_export_begin(const struct mdas_export_opts *o, int *status)
{
	struct mdas_export *x;
	struct mdas_error err;
	const char *id = o->run_id, *prefix;
	size_t n;

	/* A file-size limit must fail a write (EFBIG, reported with the path)
	 * instead of killing us before we can say which file it was. */
	signal(SIGXFSZ, SIG_IGN);
	*status = MDAS_EXIT_USAGE;
	if (id != NULL && !mdas_runid_valid(id)) {
		mdas_errorx("invalid run ID '%s' (1-64 characters of A-Za-z0-9_-)", id);
		return NULL;
	}
	if (id == NULL && (id = getenv("MDAS_RUN_ID")) != NULL) {
		if (*id == '\0')
			id = NULL;
		else if (!mdas_runid_valid(id)) {
			mdas_errorx("MDAS_RUN_ID: invalid run ID '%s' (1-64 characters of A-Za-z0-9_-)", id);
			return NULL;
		}
	}
	if (o->output_dir != NULL && *o->output_dir == '\0') {
		mdas_errorx("--output-dir: empty directory name");
		return NULL;
	}
	if (o->output != NULL && *o->output == '\0') {
		mdas_errorx("-o: empty file name");
		return NULL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		*status = MDAS_EXIT_FAILURE;
		return NULL;
	}
	if ((x->settings = mdas_cli_load_settings(o->config_path)) == NULL)
		goto fail;
	*status = MDAS_EXIT_FAILURE;
	if (id != NULL)
		snprintf(x->run_id, sizeof(x->run_id), "%s", id);
	else if (!o->no_new_run_id) {
		const char *state = mdas_settings_string(x->settings, "state_dir");

		if (mdas_runid_next(state, x->run_id, NULL, &err) != 0) {
			mdas_errorx("%s", err.msg);
			goto fail;
		}
		/* Files of one run share an ID: say which one we made up, so
		 * the other exporters can be given it. */
		mdas_notice("no --run-id or MDAS_RUN_ID: allocated run ID %s", x->run_id);
	}
	prefix = mdas_settings_string(x->settings, "export.prefix");
	if (prefix == NULL)
		prefix = "market_data";
	n = strlen(prefix) + strlen(x->run_id) + 2;
	if ((x->basename = malloc(n)) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		goto fail;
	}
	snprintf(x->basename, n, "%s_%s", prefix, x->run_id);
	x->dir = o->output_dir != NULL ? o->output_dir :
	    mdas_settings_string(x->settings, "export.dir");
	if (x->dir == NULL)
		x->dir = "data/exports";
	x->fallback = mdas_settings_string(x->settings, "export.fallback_dir");
	x->output = o->output;
	x->output_stream = o->output != NULL && output_kind(o->output, 1) == OUT_STREAM;
	x->force = o->force;
	return x;
fail:
	mdas_export_free(x);
	return NULL;
}

void
mdas_export_free(struct mdas_export *x)
{
	if (x == NULL)
		return;
	mdas_settings_free(x->settings);
	free(x->basename);
	free(x);
}

const char *
mdas_export_run_id(const struct mdas_export *x)
{
	return x->run_id;
}

struct mdas_settings *
mdas_export_settings(const struct mdas_export *x)
{
	return x->settings;
}

const char *
mdas_export_basename(const struct mdas_export *x)
{
	return x->basename;
}

int
mdas_export_to_stdout(const struct mdas_export *x)
{
	return x->output_stream;
}

const char *
mdas_export_output(const struct mdas_export *x)
{
	return x->output;
}

static int
is_permission_error(int e)
{
	return e == EACCES || e == EPERM || e == EROFS;
}

/* Opens the temporary and, with it held, the lock; then checks for an
 * existing file.  The temporary comes first so an unwritable directory
 * is reported as "cannot create a file in DIR", naming the final path. */
static void
recover_note(void *ctx, const char *msg)
{
	(void)ctx;
	mdas_notice("%s", msg);
}

/* Like every writer of an export directory, first finish or roll back a
 * publish a killed pipeline left half-way and remove what dead processes
 * left (publish.h); once per directory.  A failure is a warning: our own
 * output does not depend on it. */
static void
recover_dir(struct mdas_export *x, const char *dir)
{
	struct mdas_error e;

	if (strcmp(x->recovered, dir) == 0)
		return;
	snprintf(x->recovered, sizeof(x->recovered), "%s", dir);
	if (mdas_publish_recover(dir, MDAS_RECOVER_SCRATCH, recover_note, NULL, &e) < 0)
		mdas_warn("%s", e.msg);
}

static struct mdas_export_out *
open_in(struct mdas_export *x, const char *path, struct mdas_error *err)
{
	struct mdas_export_out *out;
	const char *base;
	char dir[4096], *lock;
	struct stat st;
	size_t n;

	if ((out = calloc(1, sizeof(*out))) == NULL ||
	    (out->final_path = strdup(path)) == NULL) {
		free(out);
		mdas_error_errno(err, ENOMEM, "%s", path);
		return NULL;
	}
	out->lock_fd = -1;
	out->force = x->force;
	/* Before anything is created beside it (checked again under the
	 * lock below): a FIFO, device or directory is never replaced. */
	if (output_kind(path, 0) == OUT_BAD) {
		output_refused(path, 0, err);
		goto fail;
	}
	if ((out->atomic = mdas_atomic_open(path, err)) == NULL)
		goto fail;
	mdas_dirname(path, dir, sizeof(dir));
	recover_dir(x, dir);
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	n = strlen(dir) + strlen(base) + 16;
	if ((lock = malloc(n)) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", path);
		goto fail;
	}
	snprintf(lock, n, "%s/.%s.lock", dir, base);
	out->lock_fd = mdas_lock_acquire(lock, 1, err);
	free(lock);
	if (out->lock_fd < 0)
		goto fail;
	/* Under the lock, so a crashed writer's leftovers are ours to clean. */
	if (mdas_remove_stale_temps(dir, NULL) > 0)
		mdas_info("%s: removed stale temporary files", dir);
	if (lstat(path, &st) == 0) {
		if (!x->force) {
			mdas_error_set(err, "%s: exists (use --force to replace it)", path);
			if (err != NULL)
				err->errnum = EEXIST;
			goto fail;
		}
		/* The rename would replace a device, a FIFO or a directory's
		 * entry (as root, even /dev/null): --force replaces files only. */
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			mdas_error_set(err, "%s: not a regular file; will not replace it", path);
			if (err != NULL)
				err->errnum = EEXIST;
			goto fail;
		}
	}
	return out;
fail:
	mdas_export_out_abort(out);
	return NULL;
}

static struct mdas_export_out *
open_stdout(struct mdas_error *err)
{
	struct mdas_export_out *out;

	if ((out = calloc(1, sizeof(*out))) == NULL ||
	    (out->final_path = strdup("-")) == NULL) {
		free(out);
		mdas_error_errno(err, ENOMEM, "standard output");
		return NULL;
	}
	out->lock_fd = -1;
	return out;
}

/* A FIFO or character device, written where it is: no temporary, no
 * lock, nothing to rename.  No O_CREAT (it exists) and O_NOFOLLOW unless
 * the name was a link to one; what was opened is checked again, so a
 * regular file swapped in meanwhile is never written in place. */
static struct mdas_export_out *
open_stream(const char *path, struct mdas_error *err)
{
	struct mdas_export_out *out;
	struct stat st;
	int fd, flags = O_WRONLY | O_NOCTTY | O_CLOEXEC;

	if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode))
		flags |= O_NOFOLLOW;
	if ((fd = open(path, flags)) < 0) {
		mdas_error_errno(err, errno, "%s", path);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
		close(fd);
		mdas_error_set(err, "%s: no longer a FIFO or character device", path);
		return NULL;
	}
	if ((out = open_stdout(err)) == NULL) {
		close(fd);
		return NULL;
	}
	free(out->final_path);
	if ((out->final_path = strdup(path)) == NULL ||
	    (out->stream = fdopen(fd, "w")) == NULL) {
		mdas_error_errno(err, errno ? errno : ENOMEM, "%s", path);
		if (out->stream == NULL)
			close(fd);
		mdas_export_out_abort(out);
		return NULL;
	}
	return out;
}

struct mdas_export_out *
mdas_export_out_open_path(struct mdas_export *x, const char *path,
    struct mdas_error *err)
{
	if (strcmp(path, "-") == 0)
		return open_stdout(err);
	switch (output_kind(path, 1)) {
	case OUT_STREAM:
		return open_stream(path, err);
	case OUT_BAD:
		output_refused(path, 1, err);
		return NULL;
	default:
		return open_in(x, path, err);
	}
}

static struct mdas_export_out *
open_in_dir(struct mdas_export *x, const char *dir, const char *suffix,
    struct mdas_error *err)
{
	struct mdas_export_out *out;
	size_t n = strlen(dir) + strlen(x->basename) + strlen(suffix) + 2;
	char *path;

	if ((path = malloc(n)) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", dir);
		return NULL;
	}
	snprintf(path, n, "%s/%s%s", dir, x->basename, suffix);
	if (mdas_mkdir_p(dir, 0777, err) != 0) {
		mdas_error_prefix(err, "%s", path);
		out = NULL;
	} else
		out = open_in(x, path, err);
	free(path);
	return out;
}

struct mdas_export_out *
mdas_export_out_open(struct mdas_export *x, const char *suffix, int use_o,
    struct mdas_error *err)
{
	struct mdas_export_out *out;

	if (use_o && x->output != NULL)
		return mdas_export_out_open_path(x, x->output, err);
	if (x->fell_back)
		return open_in_dir(x, x->fallback, suffix, err);
	out = open_in_dir(x, x->dir, suffix, err);
	if (out == NULL && x->fallback != NULL && err != NULL &&
	    is_permission_error(err->errnum)) {
		mdas_warn("%s; writing to %s instead", err->msg, x->fallback);
		x->fell_back = 1;
		out = open_in_dir(x, x->fallback, suffix, err);
	}
	return out;
}

FILE *
mdas_export_out_fp(struct mdas_export_out *out)
{
	if (out->atomic != NULL)
		return mdas_atomic_fp(out->atomic);
	return out->stream != NULL ? out->stream : stdout;
}

const char *
mdas_export_out_path(const struct mdas_export_out *out)
{
	return out->final_path;
}

const char *
mdas_export_out_tmp_path(const struct mdas_export_out *out)
{
	return out->atomic != NULL ? mdas_atomic_tmp_path(out->atomic) : NULL;
}

int
mdas_export_out_failed(struct mdas_export_out *out)
{
	return ferror(mdas_export_out_fp(out)) != 0;
}

static void
out_free(struct mdas_export_out *out)
{
	if (out->stream != NULL)
		fclose(out->stream);
	mdas_lock_release(out->lock_fd);
	free(out->final_path);
	free(out);
}

/* mdas_export_out_commit() without the free. */
static int
out_commit(struct mdas_export_out *out, struct mdas_error *err)
{
	int rc = 0;

	if (out->stream != NULL) {
		FILE *fp = out->stream;

		out->stream = NULL;
		errno = 0;
		if (ferror(fp) | fclose(fp))
			rc = mdas_error_errno(err, errno ? errno : EIO, "%s", out->final_path);
	} else if (out->atomic == NULL) {
		errno = 0;
		if (fflush(stdout) != 0 || ferror(stdout))
			rc = mdas_error_errno(err, errno ? errno : EIO,
			    "write error on standard output");
	} else {
		rc = mdas_atomic_commit(out->atomic, out->force, err);
		out->atomic = NULL;
	}
	return rc;
}

int
mdas_export_out_commit(struct mdas_export_out *out, struct mdas_error *err)
{
	int rc = out_commit(out, err);

	out_free(out);
	return rc;
}

int
mdas_export_out_commit_print(struct mdas_export_out *out, struct mdas_error *err)
{
	int file = out->atomic != NULL, rc = out_commit(out, err);

	if (rc == 0 && file)
		puts(out->final_path);
	out_free(out);
	return rc;
}

void
mdas_export_out_abort(struct mdas_export_out *out)
{
	if (out == NULL)
		return;
	mdas_atomic_abort(out->atomic);
	out_free(out);
}

FILE *
mdas_export_scratch_file(struct mdas_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	FILE *fp;
	int fd;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(path, sizeof(path), "%s/mdas-export.XXXXXX", tmp);
	if ((fd = mkstemp(path)) < 0) {
		mdas_error_errno(err, errno, "cannot create a scratch file in %s", tmp);
		return NULL;
	}
	/* Unlinked at once: it vanishes with us, whatever happens. */
	unlink(path);
	if ((fp = fdopen(fd, "w+")) == NULL) {
		mdas_error_errno(err, errno, "%s", path);
		close(fd);
	}
	return fp;
}

/* ---- Reader ---- */

struct mdas_export_reader {
	struct mdas_ndjson *nd;
	struct json_object *cur;
	unsigned long nbad, nrecords, nevents, nerrors;
};

const struct mdas_field mdas_export_error_fields[] = {
	{ "stage", MDAS_FIELD_STRING },
	{ "source", MDAS_FIELD_STRING },
	{ "symbol", MDAS_FIELD_STRING },
	{ "http_status", MDAS_FIELD_INT },
	{ "code", MDAS_FIELD_STRING },
	{ "message", MDAS_FIELD_STRING },
	{ "retryable", MDAS_FIELD_STRING },
	{ "attempts", MDAS_FIELD_INT },
	{ "fetched_at", MDAS_FIELD_TIME },
};
const size_t mdas_export_error_nfields =
    sizeof(mdas_export_error_fields) / sizeof(mdas_export_error_fields[0]);

struct mdas_export_reader *
mdas_export_reader_new(FILE *in, const char *name)
{
	struct mdas_export_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->nd = mdas_ndjson_open(in, name, 0)) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
mdas_export_reader_free(struct mdas_export_reader *r)
{
	if (r == NULL)
		return;
	json_object_put(r->cur);
	mdas_ndjson_free(r->nd);
	free(r);
}

const struct mdas_field *
mdas_export_fields_for(enum mdas_export_kind k, size_t *n)
{
	switch (k) {
	case MDAS_EXPORT_RECORD: *n = mdas_record_nfields; return mdas_record_fields;
	case MDAS_EXPORT_EVENT: *n = mdas_event_nfields; return mdas_event_fields;
	default: *n = 0; return NULL;
	}
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* A number's text for a message: as sent, except an integer json-c
 * clamped (its digits are not the ones sent: none are shown). */
static const char *
num_text(struct json_object *v)
{
	if (v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_int) &&
	    (json_object_get_int64(v) == INT64_MAX || json_object_get_int64(v) == INT64_MIN))
		return NULL;
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* What the checks need of each field of a table, found by name once
 * (bounds.c's table and cross-field slots), not for every record. */
struct field_rule {
	enum mdas_bound bound;
	ptrdiff_t cross;          /* offset in struct mdas_bounds_record, or -1 */
	int is_version;           /* schema_version */
};

#define RULES_MAX 64

static const struct field_rule *
rules_for(const struct mdas_field *fields)
{
	static struct field_rule rec[RULES_MAX], ev[RULES_MAX];
	static int ready;
	struct mdas_bounds_record b;
	struct field_rule *r;
	size_t i, k, n;
	double *slot;

	if (!ready) {
		for (k = 0; k < 2; k++) {
			const struct mdas_field *f = k == 0 ? mdas_record_fields : mdas_event_fields;

			n = k == 0 ? mdas_record_nfields : mdas_event_nfields;
			r = k == 0 ? rec : ev;
			for (i = 0; i < n && i < RULES_MAX; i++) {
				r[i].bound = mdas_bound_of(f[i].name);
				slot = mdas_bounds_record_slot(&b, f[i].name);
				r[i].cross = slot != NULL ? (char *)slot - (char *)&b : -1;
				r[i].is_version = strcmp(f[i].name, "schema_version") == 0;
			}
		}
		ready = 1;
	}
	return fields == mdas_record_fields ? rec : ev;
}

/* Why v cannot be the value of field f: its JSON type, then its range
 * (bounds.h: the table and rules mdas-normalize applies before it
 * writes).  *bound is set when the reason is a bound (worded with the
 * value), and *num to a number's value.  future: the record's
 * asset_class is "future". */
static const char *
value_problem(struct json_object *v, const struct mdas_field *f,
    const struct field_rule *rule, int future, int *bound, double *num)
{
	size_t i, n, total = 0;
	int64_t ms;

	*bound = 0;
	switch (f->type) {
	case MDAS_FIELD_STRING:
		return json_object_is_type(v, json_type_string) ? NULL : "expected a string";
	case MDAS_FIELD_TIME:
	case MDAS_FIELD_DATE:
		if (!json_object_is_type(v, json_type_string))
			return "expected a string";
		return mdas_bounds_time_text(json_object_get_string(v),
		    f->type == MDAS_FIELD_DATE, &ms);
	case MDAS_FIELD_INT:
		if (!json_object_is_type(v, json_type_int))
			return "expected an integer";
		if (rule->is_version)
			return json_object_get_int64(v) == MDAS_SCHEMA_VERSION ? NULL :
			    "unsupported (this reader knows version " STR(MDAS_SCHEMA_VERSION) ")";
		*bound = 1;
		*num = (double)json_object_get_int64(v);
		return mdas_bounds_check(rule->bound, *num, future);
	case MDAS_FIELD_NUMBER:
		if (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double))
			return "expected a number";
		*bound = 1;
		/* An integer converts exactly far past the bounds; json-c holds
		 * one past 64 bits clamped, beyond 1e18 too. */
		*num = json_object_is_type(v, json_type_int) ?
		    (double)json_object_get_int64(v) : json_object_get_double(v);
		if (mdas_json_underflowed(v))
			return MDAS_BOUNDS_WHY_TINY;
		if (num_text(v) == NULL && rule->bound == MDAS_BOUND_SIGNED)
			return MDAS_BOUNDS_WHY_CLAMPED;   /* the others are beyond 1e18 */
		return mdas_bounds_check(rule->bound, *num, future);
	case MDAS_FIELD_STRING_ARRAY:
		if (!json_object_is_type(v, json_type_array))
			return "expected an array of strings";
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			if (!json_object_is_type(e, json_type_string))
				return "expected an array of strings";
			total += (size_t)json_object_get_string_len(e) + 1;
		}
		return total < MDAS_EXPORT_CELL_MAX ? NULL : "array too long";
	}
	return "unknown field type";
}

/* mdas_bounds_text_fn for a record read: a member's text as sent. */
static const char *
member_text(void *ctx, const char *field, char *tmp)
{
	struct json_object *v;

	(void)tmp;
	if (!json_object_object_get_ex(ctx, field, &v))
		return NULL;
	return num_text(v);
}

/* Why the record is unusable, into buf; NULL when it is fine. */
static const char *
check_record(struct json_object *rec, enum mdas_export_kind *kind, char *buf, size_t n)
{
	const struct mdas_field *fields;
	const struct field_rule *rules;
	struct json_object *t, *v;
	struct mdas_bounds_record b;
	const char *type, *why;
	double num;
	size_t i, nf;
	int bound, future;

	if (!json_object_is_type(rec, json_type_object))
		return "not a JSON object";
	if (!json_object_object_get_ex(rec, "type", &t))
		return "no \"type\"";
	if (!json_object_is_type(t, json_type_string))
		return "type: expected a string";
	type = json_object_get_string(t);
	if (strcmp(type, "quote") == 0 || strcmp(type, "bar") == 0)
		*kind = MDAS_EXPORT_RECORD;
	else if (strcmp(type, "dividend") == 0 || strcmp(type, "split") == 0)
		*kind = MDAS_EXPORT_EVENT;
	else if (strcmp(type, "error") == 0) {
		/* Error records pass through as they are. */
		*kind = MDAS_EXPORT_ERROR;
		return NULL;
	} else {
		snprintf(buf, n, "unknown record type \"%.64s\"", type);
		return buf;
	}
	future = json_object_object_get_ex(rec, "asset_class", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    mdas_bounds_future(json_object_get_string(v));
	mdas_bounds_record_init(&b, type);
	fields = mdas_export_fields_for(*kind, &nf);
	rules = rules_for(fields);
	for (i = 0; i < nf && i < RULES_MAX; i++) {
		if (!json_object_object_get_ex(rec, fields[i].name, &v) || v == NULL)
			continue;
		if ((why = value_problem(v, &fields[i], &rules[i], future, &bound, &num)) != NULL) {
			if (bound)
				mdas_bounds_why(buf, n, fields[i].name, num_text(v), why);
			else
				snprintf(buf, n, "%s: %s", fields[i].name, why);
			return buf;
		}
		if (bound && rules[i].cross >= 0)
			*(double *)((char *)&b + rules[i].cross) = num;
	}
	return mdas_bounds_check_record(&b, buf, n, member_text, rec);
}

enum mdas_export_kind
mdas_export_next(struct mdas_export_reader *r, struct json_object **rec,
    struct mdas_error *err)
{
	enum mdas_export_kind kind = MDAS_EXPORT_EOF;
	struct mdas_error e;
	char why[256];
	const char *problem;
	int rc;

	for (;;) {
		json_object_put(r->cur);
		r->cur = NULL;
		rc = mdas_ndjson_next(r->nd, &r->cur, &e);
		if (rc == MDAS_NDJSON_EOF)
			return MDAS_EXPORT_EOF;
		if (rc == MDAS_NDJSON_IOERR) {
			if (err != NULL)
				*err = e;
			return MDAS_EXPORT_IOERR;
		}
		if (rc == MDAS_NDJSON_BAD) {
			mdas_errorx("%s", e.msg);
			r->nbad++;
			continue;
		}
		if ((problem = check_record(r->cur, &kind, why, sizeof(why))) != NULL) {
			mdas_errorx("%s:%lu: %s", mdas_ndjson_name(r->nd),
			    mdas_ndjson_lineno(r->nd), problem);
			r->nbad++;
			continue;
		}
		break;
	}
	switch (kind) {
	case MDAS_EXPORT_RECORD: r->nrecords++; break;
	case MDAS_EXPORT_EVENT: r->nevents++; break;
	default: r->nerrors++; break;
	}
	*rec = r->cur;
	return kind;
}

unsigned long mdas_export_line(const struct mdas_export_reader *r) { return mdas_ndjson_lineno(r->nd); }
unsigned long mdas_export_nbad(const struct mdas_export_reader *r) { return r->nbad; }
unsigned long mdas_export_nrecords(const struct mdas_export_reader *r) { return r->nrecords; }
unsigned long mdas_export_nevents(const struct mdas_export_reader *r) { return r->nevents; }
unsigned long mdas_export_nerrors(const struct mdas_export_reader *r) { return r->nerrors; }

int
mdas_export_status(const struct mdas_export_reader *r)
{
	return r->nbad > 0 ? MDAS_EXIT_FAILURE : MDAS_EXIT_OK;
}

/* ---- Cells ---- */

const char *
mdas_export_cell_value(struct json_object *v, struct mdas_cell *scratch, size_t *len)
{
	size_t i, n, at = 0, cap = sizeof(scratch->buf) - 1;
	const char *s;
	int k;

	switch (json_object_get_type(v)) {
	case json_type_null:
		*len = 0;
		return "";
	case json_type_string:
		*len = (size_t)json_object_get_string_len(v);
		return json_object_get_string(v);
	case json_type_int:
		k = snprintf(scratch->buf, sizeof(scratch->buf), "%" PRId64,
		    json_object_get_int64(v));
		*len = (size_t)k;
		return scratch->buf;
	case json_type_double:
		*len = (size_t)mdas_format_double(json_object_get_double(v), scratch->buf);
		return scratch->buf;
	case json_type_boolean:
		s = json_object_get_boolean(v) ? "true" : "false";
		*len = strlen(s);
		return s;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
				break;
		if (i < n)
			break;
		for (i = 0; i < n && at < cap; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			size_t l = (size_t)json_object_get_string_len(e);

			if (i > 0)
				scratch->buf[at++] = ';';
			if (l > cap - at)
				l = cap - at;
			memcpy(scratch->buf + at, json_object_get_string(e), l);
			at += l;
		}
		scratch->buf[at] = '\0';
		*len = at;
		return scratch->buf;
	default:
		break;
	}
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	*len = strlen(s);
	return s;
}

const char *
mdas_export_cell(struct json_object *rec, const char *name, struct mdas_cell *scratch,
    size_t *len)
{
	return mdas_export_cell_value(mdas_json_get(rec, name), scratch, len);
}
