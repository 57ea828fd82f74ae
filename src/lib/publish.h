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
 *   6. removes the intent and fsyncs the directory.
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
};

struct mdas_publish_result {
	int partial;              /* the manifest's status is "partial" */
	char manifest_path[4096]; /* EXPORT/PREFIX_RUNID.manifest.json */
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
