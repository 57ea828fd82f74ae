/* store.h: the record store, one schema for SQLite and PostgreSQL.
 *
 * mdas-export-sqlite and mdas-export-pg keep the records of every run in
 * one database so that history accumulates (mdas-store(7)).  This file
 * is what both share and what neither engine may word differently:
 *
 *   - the tables and their columns (mdas_store_tables), from which each
 *     engine builds its CREATE TABLE and upsert statements; SQL is only
 *     ever made of these constants, placeholders and COPY data, never of
 *     a value from the input;
 *   - how a record becomes rows (mdas_store_map_record), and which
 *     records cannot be stored ("a bar needs an interval");
 *   - the upsert rule (mdas_store_sql_conflict): a row is replaced only
 *     when one of its data columns differs, and an imputed row never
 *     replaces a real one, so loading the same stream twice changes
 *     nothing and a re-fetched (formerly forming) bar replaces the stored
 *     one;
 *   - the schema version check and the "--last" output line.
 *
 * An engine (store-sqlite.c, store-pg.c) is a struct mdas_store_engine;
 * each is linked only into its own program, so mdas-export-sqlite never
 * links libpq and mdas-export-pg never links libsqlite3.
 */
#ifndef MDAS_STORE_H
#define MDAS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "error.h"
#include "export.h"
#include "sink.h"

/* The schema this mdas writes; a database at a higher version is refused
 * (MDAS_SINK_REFUSED, exit 2) and never altered. */
#define MDAS_STORE_SCHEMA_VERSION 1

/* Tables that records are mapped to.  The engines also keep
 * schema_version and runs, with constant SQL of their own. */
enum mdas_store_table {
	MDAS_ST_SERIES,   /* source, symbol, interval ('' for quotes) + metadata */
	MDAS_ST_BARS,     /* key source, symbol, interval, ts_ms */
	MDAS_ST_QUOTES,   /* key source, symbol, ts_ms */
	MDAS_ST_EVENTS,   /* key source, symbol, kind, ts_ms */
	MDAS_ST_ERRORS,   /* key run_id, seq (the input line) */
	MDAS_ST_COUNT
};

/* Column types, and what each engine makes of them. */
enum mdas_store_type {
	MDAS_SQL_TEXT,     /* TEXT / text */
	MDAS_SQL_BIGINT,   /* INTEGER / bigint */
	MDAS_SQL_NUMERIC,  /* REAL / numeric: prices, sizes, volumes, exactly as sent */
	MDAS_SQL_DOUBLE,   /* REAL / double precision: derived metrics */
	MDAS_SQL_TIME,     /* TEXT (ISO 8601 UTC, ms) / timestamptz */
	MDAS_SQL_DATE,     /* TEXT (YYYY-MM-DD) / date */
	MDAS_SQL_BOOL,     /* INTEGER 0|1 / boolean */
};

/* mdas_store_col.flags */
#define MDAS_SC_KEY      0x01  /* part of the primary key (implies NOT NULL) */
#define MDAS_SC_NOTNULL  0x02
#define MDAS_SC_DATA     0x04  /* compared by the upsert: a conflicting row
                                * is updated only when one of these differs */

struct mdas_store_col {
	const char *name;            /* column name (a constant, safe as SQL) */
	enum mdas_store_type type;
	unsigned flags;
};

struct mdas_store_table_def {
	const char *name;            /* "bars" */
	const struct mdas_store_col *cols;
	size_t ncols;
	/* CHECK constraints, as SQL both engines accept ("high >= low"), or
	 * NULL-terminated empty; mdas_store_map_record() checks the same so
	 * that a row is rejected with its line before the database sees it. */
	const char *const *checks;
};

extern const struct mdas_store_table_def mdas_store_tables[MDAS_ST_COUNT];

/* ---- Records to rows ---- */

#define MDAS_STORE_MAXCOLS 40
#define MDAS_STORE_ROWBUF  16384

/* One row's values, as text: numbers exactly as the input wrote them
 * (Binance's "60755.18000000" keeps its digits), integers in decimal,
 * times as ISO 8601 text, booleans "true"/"false", imputed joined with
 * ';' (NULL when nothing was imputed).  val[i] is column i of the table,
 * NUL-terminated, or NULL for SQL NULL. */
struct mdas_store_row {
	enum mdas_store_table table;
	unsigned long line;          /* input line it came from */
	const char *val[MDAS_STORE_MAXCOLS];
	size_t len[MDAS_STORE_MAXCOLS];
	char buf[MDAS_STORE_ROWBUF];
	size_t used;
};

struct mdas_store_map;

/* run_id: the load's run ID (--run-id, $MDAS_RUN_ID or allocated);
 * rows of records that carry no run_id get it, and so do error rows. */
struct mdas_store_map *mdas_store_map_new(const char *run_id);
void mdas_store_map_free(struct mdas_store_map *m);

/* Maps one record read by mdas_export_next() to rows: rows[0] is its
 * data row (bars, quotes, events or errors) and, when the record names a
 * series that differs from the previous record's, rows[1] is that
 * series' row.  Returns the number of rows (1 or 2), or -1 with err
 * saying why the record cannot be stored ("a bar needs an interval",
 * "high 1 is below low 2"); the caller rejects that record only.
 * The rows point into m and stay valid until the next call. */
int mdas_store_map_record(struct mdas_store_map *m, enum mdas_export_kind k,
    struct json_object *rec, unsigned long line,
    const struct mdas_store_row **rows, struct mdas_error *err);
/* The same for a record's view (mdas_export_next_rec(); its kind is
 * rec->kind): the same rows, the same reasons.  The rows' text may
 * point into rec, so they are valid while rec is too. */
int mdas_store_map_rec(struct mdas_store_map *m, const struct mdas_export_rec *rec,
    unsigned long line, const struct mdas_store_row **rows, struct mdas_error *err);

/* ---- SQL shared by the engines ---- */

enum mdas_store_dialect { MDAS_DIALECT_SQLITE, MDAS_DIALECT_PG };

/* Appends to buf (size n, NUL-terminated) "CREATE TABLE IF NOT EXISTS
 * <prefix><name> (...)" for table t, with column types, NOT NULL, the
 * primary key and the CHECKs.  prefix is "" or a schema name and "."
 * (itself checked with mdas_store_identifier_ok()).  Returns 0, or -1
 * when buf is too small. */
int mdas_store_sql_create(enum mdas_store_dialect d, enum mdas_store_table t,
    const char *prefix, char *buf, size_t n);

/* The column list "source, symbol, ..." of table t. */
int mdas_store_sql_columns(enum mdas_store_table t, char *buf, size_t n);

/* The upsert's tail for table t, after "INSERT INTO [schema.]t (cols) ...":
 *   ON CONFLICT (key cols) DO UPDATE SET c = excluded.c, ...
 *   WHERE NOT (excluded.imputed IS NOT NULL AND t.imputed IS NULL)
 *     AND (t.d1 IS DISTINCT FROM excluded.d1 OR ...)
 * (the imputed term only for tables that have the column; the series
 * table updates when a metadata column differs).  Both engines accept
 * this text (SQLite >= 3.39 has IS DISTINCT FROM); the stored row is
 * named by the bare table name, as PostgreSQL requires. */
int mdas_store_sql_conflict(enum mdas_store_table t, char *buf, size_t n);

/* True when s is a plain identifier ([a-z_][a-z0-9_]{0,62}): the only
 * store.schema names accepted, so the schema name goes into SQL only
 * between double quotes, with nothing to escape. */
int mdas_store_identifier_ok(const char *s);

/* Checks the version found in schema_version (0: no schema yet).
 * Returns 0 when this mdas can use it (possibly after migrating), or
 * MDAS_SINK_REFUSED with err: "DB: schema version 3 is newer than this
 * mdas (1); not changed: use a newer mdas". */
int mdas_store_check_version(long found, const char *db, struct mdas_error *err);

/* Writes one "--last" line:
 * {"source":..,"symbol":..,"interval":..,"first_ts_ms":N,"last_ts_ms":N,"bars":N} */
/* One NDJSON line {"source","symbol","interval",k1:v1,k2:v2[,k3:v3]}
 * (k3 NULL: two numbers): the shape of --last, --gaps and
 * mdas-normalize --trading-gaps lines. */
int mdas_store_print_line(FILE *out, const char *source, const char *symbol,
    const char *interval, const char *k1, int64_t v1, const char *k2, int64_t v2,
    const char *k3, int64_t v3);
int mdas_store_print_last(FILE *out, const char *source, const char *symbol,
    const char *interval, int64_t first_ts_ms, int64_t last_ts_ms, int64_t bars);

/* ---- Gaps (--gaps) ----
 *
 * In a series that trades around the clock (source binance, or a series
 * row with asset_class crypto), a run of missing intervals between two
 * stored bars is a gap.  Only fixed-length intervals (1m .. 1w/1wk) are
 * looked at: a month has no fixed length, so 1mo and 3mo get no gap
 * lines.  Before the first stored bar and after the last nothing is a
 * gap (the store cannot know where a series begins or whether it ended).
 * One line per gap, in time order:
 *   {"source":..,"symbol":..,"interval":..,"from_ts_ms":N,"to_ts_ms":N,"missing":N}
 * from/to: open times of the first and the last missing bar (inclusive).
 * At most MDAS_STORE_GAPS_MAX gaps per series, the newest; a series with
 * more gets one more line after its gaps:
 *   {"source":..,"symbol":..,"interval":..,"more_gaps":N,"more_missing":N} */
#define MDAS_STORE_GAPS_MAX 100

/* The interval's length in ms, 0 when gaps are not looked for in it. */
int64_t mdas_store_gap_interval_ms(const char *interval);

/* The query of all shown gaps: columns source, symbol, interval, from_ts,
 * to_ts, missing, the series' gap count and missing count, ordered by
 * series and from_ts.  prefix as for mdas_store_sql_create(). */
int mdas_store_sql_gaps(enum mdas_store_dialect d, const char *prefix, char *buf, size_t n);

/* Printing the query's rows: zero the state, one call per row, then end. */
struct mdas_store_gaps {
	char source[64], symbol[1024], interval[64];
	int64_t total, total_missing, shown, shown_missing;
};
int mdas_store_gaps_row(struct mdas_store_gaps *g, FILE *out, const char *source,
    const char *symbol, const char *interval, int64_t from_ts_ms, int64_t to_ts_ms,
    int64_t missing, int64_t series_gaps, int64_t series_missing);
int mdas_store_gaps_end(struct mdas_store_gaps *g, FILE *out);

/* ---- Engines ---- */

/* Rows per table a load changed, for the summary and the manifest. */
struct mdas_store_counts {
	unsigned long inserted, updated, unchanged;
};
struct mdas_store_result {
	struct mdas_store_counts table[MDAS_ST_COUNT];
	unsigned long rejected;      /* records not stored (reported by line) */
};

/* One bar series a load touched, for the manifest's per-series numbers:
 * its rows of this load (inserted, updated, unchanged, as the tables
 * count them) and what the store holds of it after the load (first and
 * last ts_ms, bars).  The strings are valid during the call only. */
struct mdas_store_series_counts {
	const char *source, *symbol, *interval;
	unsigned long inserted, updated, unchanged;
	int64_t first_ts_ms, last_ts_ms, bars;
};

/* Where and how to open the store. */
struct mdas_store_target {
	const char *where;           /* SQLite: database path; PG: conninfo or NULL (PG* env) */
	const char *schema;          /* PG: schema name (store.schema); SQLite: NULL */
	const char *run_id;
	const char *started_at;      /* ISO time the run started (runs.started_at) */
	double busy_timeout_s;       /* how long to wait for another writer */
	/* Rows the database refused at commit(): an engine that loads in
	 * bulk learns it only then.  Called once per refused row with its
	 * input line and the database's reason (one line, no password); that
	 * row is not stored, the rest is, and res->rejected counts it. */
	void (*refused)(void *arg, unsigned long line, const char *reason);
	void *refused_arg;
	/* Per bar series of the load (NULL: not wanted): commit() calls it
	 * once per series the load had bar rows of, in (source, symbol,
	 * interval) order, inside the load's transaction just before it
	 * commits; when the commit then fails, what it was told is void. */
	void (*series)(void *arg, const struct mdas_store_series_counts *c);
	void *series_arg;
};
#define MDAS_STORE_TARGET_REFUSED 1

enum mdas_store_mode {
	MDAS_STORE_READ,             /* --last: never creates or alters anything;
	                              * a missing database or schema reads as empty */
	MDAS_STORE_WRITE,            /* a load, --init, --manifest: creates or
	                              * migrates the schema as needed */
};

struct mdas_store;

struct mdas_store_engine {
	const char *name;            /* "sqlite", "postgresql" */
	/* Opens (and for WRITE creates or migrates) the store.  NULL with
	 * *status MDAS_EXIT_FAILURE (cannot open or reach it) or
	 * MDAS_SINK_REFUSED (newer schema, not ours to alter) and err.  A
	 * message never shows a password. */
	struct mdas_store *(*open)(const struct mdas_store_target *t,
	    enum mdas_store_mode mode, int *status, struct mdas_error *err);
	/* Starts the run's one transaction and its runs row. */
	int (*begin)(struct mdas_store *s, struct mdas_error *err);
	/* One row: 0, MDAS_SINK_REJECTED with err (this row only: the
	 * database refused it; the load goes on), or -1 with err (fatal). */
	int (*put)(struct mdas_store *s, const struct mdas_store_row *row,
	    struct mdas_error *err);
	/* Ends the runs row (status "stored", counts) and commits; fills
	 * res.  res->rejected comes in as the records the caller did not
	 * store (refused by mdas_store_map_record() or by put()) and goes
	 * out as the total, with the rows the database refused at commit;
	 * the runs row's counts hold that total.  On -1 nothing of the run
	 * is in the database. */
	int (*commit)(struct mdas_store *s, struct mdas_store_result *res,
	    struct mdas_error *err);
	/* --last: one line per stored bar series, ordered by source, symbol,
	 * interval (mdas_store_print_last()). */
	int (*last)(struct mdas_store *s, FILE *out, struct mdas_error *err);
	/* --gaps: the gap lines (above), read-only like last(). */
	int (*gaps)(struct mdas_store *s, FILE *out, struct mdas_error *err);
	/* --manifest: stores a published run's manifest (JSON text) in its
	 * runs row, with finished_at and status taken from it. */
	int (*set_manifest)(struct mdas_store *s, const char *run_id,
	    const char *manifest_json, struct mdas_error *err);
	/* Rolls back what was not committed, disconnects, frees; NULL ok. */
	void (*close)(struct mdas_store *s);
	/* Optional: the open store as messages and --stats name it, never
	 * with a password ("host=H port=P dbname=D user=U"). */
	const char *(*describe)(const struct mdas_store *s);
};

/* The engines, each defined only in its own program's object. */
extern const struct mdas_store_engine mdas_store_sqlite;
extern const struct mdas_store_engine mdas_store_pg;

#endif
