/* export.h: what mdas-export-csv, mdas-export-json and mdas-export-xlsx
 * share, so the three write files that carry one run ID and hold the same
 * data.  An exporter's main() does, in order:
 *
 *   struct mdas_export_opts o = MDAS_EXPORT_OPTS_INIT;
 *   getopt_long(...) with MDAS_EXPORT_LONGOPTS in its table; every option
 *       code it does not know itself goes to mdas_export_getopt();
 *   x = mdas_export_begin(&o, &status);          NULL: return status
 *   out = mdas_export_out_open(x, ".csv", 1, &err);
 *   r = mdas_export_reader_new(stdin, "<stdin>");
 *   while ((k = mdas_export_next(r, &rec, &err)) > 0)
 *       ... MDAS_EXPORT_RECORD / _EVENT: a data row; _ERROR: kept apart,
 *       cells rendered with mdas_export_cell() ...
 *   mdas_export_out_commit(out, &err);            then print its path
 *   mdas_export_status(x, r) is the exit status (1 when lines were bad).
 *
 * The run ID is --run-id, else $MDAS_RUN_ID, else a new one from
 * mdas_runid_next() in the configured state_dir (a notice says so).
 * Output files are DIR/PREFIX_RUNID<suffix>: DIR is --output-dir, else
 * export.dir (created when missing); PREFIX is export.prefix.  -o FILE
 * names the file exactly (no fallback), -o - is standard output; an
 * existing FIFO or character device, or a link to one, is written as a
 * stream like "-".  A link to anything else, a directory or another
 * kind of file is refused, never followed or replaced.
 *
 * An output is atomic (fsutil.h): written under a temporary name in its
 * directory, fsync'ed, then linked into place.  Opening it also takes an
 * flock on DIR/.NAME.lock (kept: removing a lock file races with its next
 * user), so concurrent writers of one name run one after the other, and
 * removes stale temporaries of dead writers in DIR.  Before the first
 * output in a directory, mdas_publish_recover() finishes or rolls back a
 * publish a killed pipeline left there (publish.h).  An existing final
 * file is an error unless --force.  When DIR cannot be written for lack
 * of permission (EACCES, EPERM, EROFS) and export.fallback_dir is set,
 * the output goes there with a warning.  SIGXFSZ is ignored by
 * mdas_export_begin(), so a file-size limit is a write error that names
 * the path ("File too large"), not a silent death.
 *
 * Like cli.c, this is the exporters' shared main-support layer: fatal
 * problems come back as a status/struct mdas_error for main() to print,
 * but the routine stderr lines every exporter must word identically go
 * through log.h here: the run-ID notice, the fallback warning, and one
 * "prog: <stdin>:LINE: reason" error per bad input line.  Nothing here
 * exits.
 */
#ifndef MDAS_EXPORT_H
#define MDAS_EXPORT_H

#include <stdio.h>

#include <json-c/json.h>

#include "error.h"
#include "schema.h"

struct mdas_settings;

/* ---- Options ---- */

struct mdas_export_opts {
	const char *config_path;  /* --config PATH, or NULL */
	const char *run_id;       /* --run-id ID, or NULL */
	const char *output_dir;   /* --output-dir DIR, or NULL */
	const char *output;       /* -o FILE ("-": stdout), or NULL */
	int force;                /* --force: replace an existing file */
	int no_new_run_id;        /* without --run-id or MDAS_RUN_ID, allocate
	                           * none: mdas_export_run_id() is "" (a store's
	                           * --last reads and writes no run) */
};
#define MDAS_EXPORT_OPTS_INIT { NULL, NULL, NULL, NULL, 0, 0 }

/* getopt codes of the long-only shared options. */
enum {
	MDAS_EXPORT_OPT_CONFIG = 0x1000,
	MDAS_EXPORT_OPT_RUN_ID,
	MDAS_EXPORT_OPT_OUTPUT_DIR,
	MDAS_EXPORT_OPT_FORCE,
};
/* Entries for a struct option table.  -o FILE is a short option: put
 * "o:" in the optstring (xlsx may leave it out). */
#define MDAS_EXPORT_LONGOPTS \
	{ "config", required_argument, NULL, MDAS_EXPORT_OPT_CONFIG }, \
	{ "run-id", required_argument, NULL, MDAS_EXPORT_OPT_RUN_ID }, \
	{ "output-dir", required_argument, NULL, MDAS_EXPORT_OPT_OUTPUT_DIR }, \
	{ "force", no_argument, NULL, MDAS_EXPORT_OPT_FORCE }, \
	{ "output", required_argument, NULL, 'o' }

/* Stores a shared option (the codes above and 'o').  Returns 1 when c was
 * one of them, 0 when the caller must handle c itself. */
int mdas_export_getopt(struct mdas_export_opts *o, int c, const char *arg);

/* ---- Session ---- */

struct mdas_export;

/* Loads the settings (mdas_cli_load_settings), validates --run-id /
 * MDAS_RUN_ID or allocates a run ID, and resolves the output directory
 * and prefix.  Prints its own messages; returns NULL with *status set to
 * the exit status (2: usage or configuration, 1: runtime) on failure.
 * The directory is created by mdas_export_out_open(), not here, so -o
 * never creates export.dir. */
struct mdas_export *mdas_export_begin(const struct mdas_export_opts *o, int *status);
/* Frees x and its settings; NULL is accepted.  Open outputs must have
 * been committed or aborted first. */
void mdas_export_free(struct mdas_export *x);

const char *mdas_export_run_id(const struct mdas_export *x);
struct mdas_settings *mdas_export_settings(const struct mdas_export *x);
/* "market_data_RUNID" (export.prefix and the run ID). */
const char *mdas_export_basename(const struct mdas_export *x);
/* True when -o names a stream: "-" (standard output), or an existing
 * FIFO or character device or a symbolic link to one (/dev/stdout,
 * /dev/null).  Data goes straight there (no temporary, no lock, nothing
 * renamed), no path is printed and nothing is written beside it. */
int mdas_export_to_stdout(const struct mdas_export *x);
/* The -o FILE given (owned by the caller of mdas_export_begin()), or
 * NULL. */
const char *mdas_export_output(const struct mdas_export *x);
/* The same test for a path before mdas_export_begin() (for writers that
 * cannot stream, like the workbook). */
int mdas_export_output_is_stream(const char *path);

/* ---- Output files ---- */

struct mdas_export_out;

/* Opens an output.  With use_o and -o FILE given, the name is FILE (and
 * "-" is standard output: no temporary, no lock).  Otherwise it is
 * DIR/BASENAME<suffix> (suffix like ".csv" or "_errors.csv"), with DIR
 * created when missing and the fallback directory used on permission
 * errors.  Returns NULL with err naming the path and the reason, e.g.
 * "data/x.csv: cannot create a file in data: Permission denied" or
 * "data/x.csv: exists (use --force to replace it)". */
struct mdas_export_out *mdas_export_out_open(struct mdas_export *x,
    const char *suffix, int use_o, struct mdas_error *err);
/* Like mdas_export_out_open() with an explicit final path (no fallback);
 * "-" is standard output. */
struct mdas_export_out *mdas_export_out_open_path(struct mdas_export *x,
    const char *path, struct mdas_error *err);
/* The stream to write to (owned by out). */
FILE *mdas_export_out_fp(struct mdas_export_out *out);
/* The final path ("-" for standard output). */
const char *mdas_export_out_path(const struct mdas_export_out *out);
/* The temporary's path (NULL for standard output).  For writers that
 * must open the file by name, like libxlsxwriter: they may write the
 * whole file there through their own descriptor and never touch
 * mdas_export_out_fp(); commit then fsyncs and renames that file. */
const char *mdas_export_out_tmp_path(const struct mdas_export_out *out);
/* True when the output's stream has seen a write error. */
int mdas_export_out_failed(struct mdas_export_out *out);
/* Flushes, fsyncs and moves the file into place (--force: replacing),
 * releases the lock and frees out, whatever happens.  For standard
 * output only flushes.  Returns 0, or -1 with err naming the path and the
 * reason (nothing then appears under the final name). */
int mdas_export_out_commit(struct mdas_export_out *out, struct mdas_error *err);
/* The same, then, when out was a file (not a stream) and the commit
 * succeeded, its final path on a line of standard output: the exporters'
 * "print the path written". */
int mdas_export_out_commit_print(struct mdas_export_out *out, struct mdas_error *err);
/* Removes the temporary, releases the lock, frees out; NULL is accepted. */
void mdas_export_out_abort(struct mdas_export_out *out);

/* An anonymous, already unlinked scratch file in $TMPDIR (else /tmp) for
 * data collected while streaming (the JSON errors array).  NULL with err
 * on failure. */
FILE *mdas_export_scratch_file(struct mdas_error *err);

/* ---- Reading and routing the record stream ---- */

enum mdas_export_kind {
	MDAS_EXPORT_EOF = 0,
	MDAS_EXPORT_RECORD = 1,   /* "quote" or "bar": mdas_record_fields */
	MDAS_EXPORT_EVENT = 2,    /* "dividend" or "split": mdas_event_fields */
	MDAS_EXPORT_ERROR = 3,    /* "error": kept apart, passed through */
	MDAS_EXPORT_IOERR = -1,   /* reading failed: err says why; stop */
};

struct mdas_export_reader;

/* Reads NDJSON from in (not closed), called name in messages. */
struct mdas_export_reader *mdas_export_reader_new(FILE *in, const char *name);
void mdas_export_reader_free(struct mdas_export_reader *r);

/* The next usable record in *rec (owned by r, valid until the next call).
 * A bad line (not strict UTF-8 or not JSON: ndjson.h; not an object,
 * unknown "type", a known field of the wrong type or outside its range:
 * bounds.h, with times parsed and within years 1970..9999 and
 * schema_version 1) is reported as "prog: <stdin>:LINE: field: reason",
 * counted and skipped.  Keys outside the schema are ignored by every
 * exporter; missing keys read as null. */
enum mdas_export_kind mdas_export_next(struct mdas_export_reader *r,
    struct json_object **rec, struct mdas_error *err);

/* The input line number of the record last returned by
 * mdas_export_next() (for messages about it). */
unsigned long mdas_export_line(const struct mdas_export_reader *r);
unsigned long mdas_export_nbad(const struct mdas_export_reader *r);
unsigned long mdas_export_nrecords(const struct mdas_export_reader *r);  /* quotes and bars */
unsigned long mdas_export_nevents(const struct mdas_export_reader *r);   /* dividends and splits */
unsigned long mdas_export_nerrors(const struct mdas_export_reader *r);   /* error records */

/* The schema table for a record of kind k (RECORD or EVENT) and its
 * length; NULL for other kinds. */
const struct mdas_field *mdas_export_fields_for(enum mdas_export_kind k, size_t *n);

/* Columns of the error table (CSV _errors.csv, the xlsx Errors sheet):
 * stage, source, symbol, http_status, code, message, retryable,
 * attempts, fetched_at.  Error records are not validated, so render
 * their cells by JSON type with mdas_export_cell(), whatever the table's
 * type says (retryable, a boolean, is listed as a string: "true"/"false"). */
extern const struct mdas_field mdas_export_error_fields[];
extern const size_t mdas_export_error_nfields;

/* ---- Cell values ---- */

#define MDAS_EXPORT_CELL_MAX 4096

/* Scratch space for one rendered cell. */
struct mdas_cell {
	char buf[MDAS_EXPORT_CELL_MAX];
};

/* How a value is written as text in a cell: null or missing is "" (the
 * empty cell), a string is itself, an integer in decimal, any other number
 * in shortest round-trip form (mdas_format_double), a boolean as "true" or
 * "false", an array of strings (imputed) joined with ';', anything else
 * as compact JSON.  Returns the text (inside v or scratch, valid while
 * both are) and its length in *len; a joined array longer than
 * MDAS_EXPORT_CELL_MAX - 1 is cut at that length (the reader rejects such
 * records, so it only happens for error records). */
const char *mdas_export_cell_value(struct json_object *v, struct mdas_cell *scratch,
    size_t *len);
/* The cell of field name in rec (missing: ""). */
const char *mdas_export_cell(struct json_object *rec, const char *name,
    struct mdas_cell *scratch, size_t *len);

/* ---- Exit status ---- */

/* MDAS_EXIT_FAILURE when the reader met bad lines, else MDAS_EXIT_OK. */
int mdas_export_status(const struct mdas_export_reader *r);

#endif
