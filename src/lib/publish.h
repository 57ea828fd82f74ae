/* publish.h: crash-safe publishing of a run into an export directory,
 * its manifest, and the recovery of a publish that was interrupted.
 *
 * A run's exports are written (by the exporters) into a staging
 * directory inside the export directory, on the same file system.
 * mdas_publish_run() then, holding an flock on EXPORT/.mdas-publish.lock:
 *
 *   1. recovers what a dead publisher left (mdas_publish_recover());
 *   2. opens every staged file (never through a symbolic link), fsyncs
 *      it and takes its size and SHA-256; a final name that already
 *      exists is an error;
 *   3. builds the manifest with json-c and writes it, fsync'ed, into the
 *      staging directory;
 *   4. writes the intent record EXPORT/.mdas-publish.RUNID.intent
 *      (staging directory, every file with its size and SHA-256, the
 *      manifest last) atomically: temporary, fsync, rename, fsync of the
 *      directory;
 *   5. renames every staged file to its final name (never replacing),
 *      fsyncs the directory, renames the manifest in last and fsyncs the
 *      directory again: this rename is the commit point;
 *   6. with req.latest, points PREFIX_latest.* at the newest complete
 *      run (see below), the intent still in place;
 *   7. removes the intent and fsyncs the directory;
 *   8. with req.keep_runs, removes the older complete runs (see below).
 *
 * Recovery (under the same lock, so every intent it sees belongs to a
 * dead publisher): when every file the intent names is still staged or
 * already under its final name with the recorded size and checksum, the
 * publish is finished (roll forward); otherwise each final file that
 * still holds the recorded content is removed, the manifest first (roll
 * back).  Either way the intent goes.  Then the staging directories of
 * dead pipelines (.mdas-run-RUNID.pidPID.*), temporaries of dead writers
 * (.NAME.tmp.PID.*) and, on request, the pipeline's scratch directories
 * in $TMPDIR (mdas-pipeline.PID.*) are removed: only our own (uid),
 * never through a symbolic link.  A reused PID reads as alive, which
 * only delays a cleanup.
 *
 * So after a kill -9 at any instant, the export directory holds complete
 * runs with their manifests, plus at most one intent whose run the next
 * recovery completes or removes.
 *
 * Snapshot retention and "latest" (issue 11).  A run is complete when
 * PREFIX_RUNID.manifest.json is a regular file holding a JSON object with
 * that run_id, a status "ok" or "partial", and every file it lists is
 * present as a regular file of the listed size, and no intent record
 * names the run.  Anything else (files without a manifest, a manifest
 * whose files are missing or changed size, a publish in progress) is not
 * complete: never removed, never counted, never pointed to.  Runs are
 * ordered by run ID in version order (strverscmp(3)), which for the IDs
 * of mdas_runid_next() is their allocation order.
 *
 * latest: every file of the newest complete run named PREFIX_RUNID<S>
 * (S starting with '.' or '_') gets a hard link PREFIX_latest<S> (a copy
 * where the file system has no hard links), made under a temporary name
 * (".NAME.tmp.PID.XXXXXX") and rename()d over the old name: a reader
 * sees the old file or the new one, never none or half of one, and a
 * symbolic link planted at the name is replaced, never followed.  Data
 * files first, the manifest PREFIX_latest.manifest.json last, then latest
 * names of earlier runs that this run does not have are removed.  Hard
 * links keep a latest file whole whatever retention removes later.  The
 * intent records PREFIX and latest, so the recovery of a publish killed
 * during the swap repeats it.  Run ID "latest" and "latest_*" are
 * refused.
 *
 * Retention: the complete runs beyond the keep_runs newest are removed,
 * oldest first, each by renaming its manifest to .mdas-retire.MANIFEST
 * (the commit point: from then on the run is no longer complete), fsync,
 * removing each file it lists that still holds the recorded size and
 * SHA-256, fsync, and removing the retire record.  Recovery finishes any
 * retire record it finds the same way.  Files that no manifest or retire
 * record names are never removed by anything here.
 */
#ifndef MDAS_PUBLISH_H
#define MDAS_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

#define MDAS_PUBLISH_LOCK ".mdas-publish.lock"

/* One export of a run. */
struct mdas_publish_file {
	const char *format;       /* "csv", "json", "xlsx" */
	const char *name;         /* its name in the staging and export dirs */
};

struct mdas_publish_req {
	const char *export_dir;
	const char *staged_dir;   /* inside export_dir, same file system */
	const char *run_id;       /* mdas_runid_valid() */
	const char *prefix;       /* the manifest is PREFIX_RUNID.manifest.json */
	const char *config_path;  /* hashed into the manifest; NULL: none */
	const char *mode;         /* fetch.mode, for the manifest */
	const char *records_path; /* the normalized stream; NULL: none */
	const char *stages_path;  /* NDJSON lines {stage,program,exit_status,duration_ms}; NULL */
	int64_t started_ms;       /* when the run started (ms since the epoch) */
	int partial;              /* a stage reported a partial failure */
	const char *const *symbols;   /* requested, in order */
	size_t nsymbols;
	const struct mdas_publish_file *files;
	size_t nfiles;
	/* The record store (mdas-store(7)): the manifest's "store" member.
	 * store_stats: the --stats FILE its program wrote ({"engine",
	 * "database", "status": "stored"|"failed", "reason", "tables",
	 * "rejected"}), used as it is when it is such an object; else, when
	 * store_engine is set, a "failed" object is built from store_engine,
	 * store_database (NULL: null) and store_reason.  Neither set: the
	 * member is null (no store).  A store that did not store, or that
	 * rejected records, makes the run partial. */
	const char *store_stats;
	const char *store_engine;     /* "sqlite", "postgresql" */
	const char *store_database;
	const char *store_reason;     /* any bytes: made valid UTF-8 */
	/* The store's gap lines (mdas-export-sqlite --gaps): the manifest's
	 * "gaps" member (gapsreport.h); NULL: no such member.  gaps_asked:
	 * the gaps this run asked for again (-1: unknown). */
	const char *gaps_path;
	long gaps_asked;
	unsigned pause_ms;        /* test only: sleep after each step of 4-6 */
	int latest;               /* maintain PREFIX_latest.* (step 6) */
	unsigned long keep_runs;  /* keep this many complete runs; 0: all */
};

struct mdas_publish_result {
	int partial;              /* the manifest's status is "partial" */
	char manifest_path[4096]; /* EXPORT/PREFIX_RUNID.manifest.json */
	unsigned removed;         /* runs removed by retention */
	/* Steps 6 and 8 fail after the commit point: the run is published
	 * anyway; nwarnings counts the failures, warning says the first. */
	unsigned nwarnings;
	char warning[MDAS_ERROR_MAX];
};

/* Called for each thing recovery or publishing did that a user should
 * hear about ("DIR: finished the interrupted publish of run ID"). */
typedef void (*mdas_publish_note_fn)(void *ctx, const char *msg);

/* Publishes r as above.  Returns 0 when the run is published (manifest
 * in place; res filled), or -1 with err saying why, and then nothing of
 * the run is under a final name.  note may be NULL. */
int mdas_publish_run(const struct mdas_publish_req *r, struct mdas_publish_result *res,
    mdas_publish_note_fn note, void *ctx, struct mdas_error *err);

/* Builds the manifest of r for files whose sizes and checksums are given
 * (sizes[i], sha256[i] for r->files[i]).  Returns a new object (caller
 * puts it) or NULL with err, also when a string of r that would go into
 * it (symbol, mode, path, file name) is not valid UTF-8, since the
 * manifest must be.  *partial gets the status. */
struct json_object *mdas_manifest_build(const struct mdas_publish_req *r,
    const uint64_t *sizes, char (*sha256)[65], int *partial, struct mdas_error *err);

enum {
	MDAS_RECOVER_SCRATCH = 1, /* also the pipeline's scratch dirs in $TMPDIR */
};

/* Recovers dir as described above.  A missing dir is not an error.
 * Returns the number of things done (0: nothing to do), or -1 when
 * something could not be recovered (err says what; the rest was done). */
int mdas_publish_recover(const char *dir, int flags, mdas_publish_note_fn note,
    void *ctx, struct mdas_error *err);

#endif
