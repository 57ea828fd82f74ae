/* store-sqlite.c: the SQLite engine of the record store (store.h).
 *
 * One database file, WAL journal, synchronous=NORMAL.  A load is one
 * BEGIN IMMEDIATE transaction: taking the write lock up front makes a
 * second writer wait in the busy handler (target->busy_timeout_s) at the
 * start, instead of failing with SQLITE_BUSY at COMMIT after all its work.
 *
 * Each table has two statements, prepared once per connection:
 *
 *   ins: INSERT ... ON CONFLICT (key) DO NOTHING        changes 1 = inserted
 *   ups: INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE (store.c's rule)
 *                                                       changes 1 = updated
 *                                                       changes 0 = unchanged
 *
 * A new row costs one B-tree descent; a row already stored costs two on
 * pages the first one brought into the cache.  This counts exactly,
 * unlike row counts before and after (which scan the whole table twice
 * per load, however small the load).
 *
 * The schema is created and migrated by the steps in migrations[]: the
 * version stored in schema_version is read before anything is written
 * (not even the switch to WAL), so a database of a newer mdas is left
 * byte for byte as it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "cli.h"
#include "error.h"
#include "fsutil.h"
#include "sink.h"
#include "store.h"
#include "timeutil.h"

/* Measured with 1M bars: 16 KiB pages load a little faster
 * than 4 KiB ones (fewer B-tree splits, rows are about 220 bytes) and
 * the clustered WITHOUT ROWID tables below are 9% smaller than a rowid
 * table plus its key index.  page_size applies to a new file only. */
#define SQLITE_PAGE_SIZE   "16384"
/* The page cache in KiB (negative cache_size).  16 MiB keeps RSS flat
 * (about 20 MB from 100k to 1M rows); a load bigger than the cache
 * spills into the WAL, uncommitted, which is what WAL is for. */
#define SQLITE_CACHE_KIB   "-16384"

#define SQL_MAX 16384

struct mdas_store {
	sqlite3 *db;
	char *path;
	char *run_id;
	char *started_at;
	enum mdas_store_mode mode;
	int absent;                  /* READ: no database file: reads as empty */
	double timeout;              /* busy timeout, seconds */
	sqlite3_stmt *ins[MDAS_ST_COUNT];
	sqlite3_stmt *ups[MDAS_ST_COUNT];
	struct mdas_store_result res;
	/* Bar rows per series (store.h: target->series): one entry per run
	 * of rows of one series, merged at commit. */
	struct series_acc *acc;
	size_t nacc, capacc;
	void (*series_cb)(void *, const struct mdas_store_series_counts *);
	void *series_arg;
};

struct series_acc {
	char *key;                   /* source NUL symbol NUL interval NUL */
	size_t len;
	unsigned long inserted, updated, unchanged;
};

/* ---- Messages ---- */

/* "PATH: what: SQLite's message", and -1.  SQLite's words for the
 * faults that matter are plain ("database or disk is full", "attempt to
 * write a readonly database"); a lock is said with how long we waited. */
static int
db_error(struct mdas_store *s, struct mdas_error *err, const char *what)
{
	int saved = errno;
	int rc = s->db != NULL ? sqlite3_extended_errcode(s->db) : SQLITE_NOMEM;
	int sys = s->db != NULL ? sqlite3_system_errno(s->db) : 0;

	if ((rc & 0xff) == SQLITE_BUSY)
		return mdas_error_set(err, "%s: %s: database is locked by another "
		    "writer (waited %gs, store.busy_timeout_seconds)", s->path, what,
		    s->timeout);
	if ((rc & 0xff) == SQLITE_READONLY)
		return mdas_error_set(err, "%s: %s: %s (the file, its directory, "
		    "where the -wal and -shm files go, or the file system is "
		    "read-only)", s->path, what, sqlite3_errmsg(s->db));
	if (s->db == NULL)
		return mdas_error_set(err, "%s: %s: %s", s->path, what, sqlite3_errstr(rc));
	/* An I/O error's cause is the system's ("File too large" under
	 * ulimit -f); SQLite keeps it for some calls only (not COMMIT), so
	 * after a failed write it is taken from errno, which nothing has
	 * touched since the failing call returned. */
	if (sys == 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL))
		sys = saved;
	if (sys != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN ||
	    (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_READONLY))
		return mdas_error_set(err, "%s: %s: %s (%s)", s->path, what,
		    sqlite3_errmsg(s->db), strerror(sys));
	return mdas_error_set(err, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* ---- Small helpers ---- */

/* Runs constant SQL; "PATH: what: reason" when it fails. */
static int
exec(struct mdas_store *s, const char *sql, const char *what, struct mdas_error *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, err, what);
	return 0;
}

static void
now_iso(char *buf)
{
	mdas_format_iso_ms(mdas_now_ms(), buf);
}

/* Appends text to buf (NUL-terminated, size n); -1 when it does not fit. */
static int
append(char *buf, size_t n, const char *text)
{
	size_t used = strlen(buf), add = strlen(text);

	if (used + add + 1 > n)
		return -1;
	memcpy(buf + used, text, add + 1);
	return 0;
}

/* One integer from the first column of sql's first row (0 when none). */
static int
query_long(struct mdas_store *s, const char *sql, long *v, struct mdas_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*v = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "reading the schema");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(s, err, "reading the schema");
	return 0;
}

/* The schema version stored, 0 when there is no schema_version table. */
static int
read_version(struct mdas_store *s, long *version, struct mdas_error *err)
{
	long has;

	if (query_long(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
	    "AND name = 'schema_version'", &has, err) < 0)
		return -1;
	if (!has) {
		*version = 0;
		return 0;
	}
	return query_long(s, "SELECT coalesce(max(version), 0) FROM schema_version",
	    version, err);
}

static int
has_table(struct mdas_store *s, const char *name, int *yes, struct mdas_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*yes = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_schema WHERE type = "
	    "'table' AND name = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "reading the schema");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*yes = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(s, err, "reading the schema");
	return 0;
}

/* ---- Schema and migrations ---- */

/* The engine's own tables, constant SQL.  The JSON columns are checked
 * by the writer (it makes the counts, json-c parses the manifest), not
 * by a CHECK that would tie the file to a JSON-enabled sqlite3 build. */
static const char sql_schema_version[] =
	"CREATE TABLE IF NOT EXISTS schema_version ("
	"version INTEGER PRIMARY KEY, "
	"applied_at TEXT NOT NULL, "
	"mdas_version TEXT NOT NULL) STRICT";
static const char sql_runs[] =
	"CREATE TABLE IF NOT EXISTS runs ("
	"run_id TEXT PRIMARY KEY NOT NULL, "
	"started_at TEXT, "
	"finished_at TEXT, "
	"status TEXT NOT NULL, "
	"counts TEXT, "
	"manifest TEXT) STRICT";

/* Version 1: every table.  The record tables come from store.c's
 * definitions; a later version that changes them must freeze this step
 * (version 1's CREATE text) so that 1 -> 2 starts from what 1 was. */
static int
migrate_1(struct mdas_store *s, struct mdas_error *err)
{
	char sql[SQL_MAX];
	int t;

	if (exec(s, sql_schema_version, "creating schema_version", err) < 0 ||
	    exec(s, sql_runs, "creating runs", err) < 0)
		return -1;
	for (t = 0; t < MDAS_ST_COUNT; t++) {
		sql[0] = '\0';
		if (mdas_store_sql_create(MDAS_DIALECT_SQLITE, t, "", sql, sizeof sql) < 0)
			return mdas_error_set(err, "%s: table %s: statement too long",
			    s->path, mdas_store_tables[t].name);
		/* Each record table is clustered on its key: a series'
		 * bars are adjacent on disk in ts_ms order, which is how
		 * loads write them and how backtests read them. */
		if (strlen(sql) < 7 || strcmp(sql + strlen(sql) - 7, " STRICT") != 0 ||
		    append(sql, sizeof sql, ", WITHOUT ROWID") < 0)
			return mdas_error_set(err, "%s: table %s: unexpected CREATE TABLE "
			    "text", s->path, mdas_store_tables[t].name);
		if (exec(s, sql, "creating the tables", err) < 0)
			return -1;
	}
	return 0;
}

/* Forward migrations: step i takes the schema from version i to i + 1;
 * MDAS_STORE_SCHEMA_VERSION steps in all. */
static int (*const migrations[])(struct mdas_store *, struct mdas_error *) = {
	migrate_1,
};

_Static_assert(sizeof migrations / sizeof migrations[0] == MDAS_STORE_SCHEMA_VERSION,
    "one migration step per schema version");

static int
record_version(struct mdas_store *s, long version, struct mdas_error *err)
{
	sqlite3_stmt *st;
	char now[32];
	int rc;

	if (sqlite3_prepare_v2(s->db, "INSERT INTO schema_version (version, "
	    "applied_at, mdas_version) VALUES (?1, ?2, ?3)", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "recording the schema version");
	now_iso(now);
	sqlite3_bind_int64(st, 1, version);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, PACKAGE_VERSION, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(s, err, "recording the schema version");
	return 0;
}

/* Brings the schema to MDAS_STORE_SCHEMA_VERSION in one transaction,
 * reading the version again under the write lock (another process may
 * have migrated since open read it). */
static int
migrate(struct mdas_store *s, int *status, struct mdas_error *err)
{
	long v;
	int rc;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, err, "creating the schema");
	if (read_version(s, &v, err) < 0)
		goto fail;
	if ((rc = mdas_store_check_version(v, s->path, err)) != 0) {
		if (rc == MDAS_SINK_REFUSED)
			*status = rc;
		goto fail;
	}
	for (; v < MDAS_STORE_SCHEMA_VERSION; v++)
		if (migrations[v](s, err) < 0 || record_version(s, v + 1, err) < 0)
			goto fail;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_error(s, err, "creating the schema");
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* ---- Statements ---- */

static int
prepare_table(struct mdas_store *s, enum mdas_store_table t, struct mdas_error *err)
{
	const struct mdas_store_table_def *d = &mdas_store_tables[t];
	char cols[SQL_MAX / 2], head[SQL_MAX], sql[SQL_MAX], n[32];
	size_t i;
	int first = 1;

	cols[0] = head[0] = '\0';
	if (mdas_store_sql_columns(t, cols, sizeof cols) < 0 ||
	    append(head, sizeof head, "INSERT INTO ") < 0 ||
	    append(head, sizeof head, d->name) < 0 ||
	    append(head, sizeof head, " (") < 0 ||
	    append(head, sizeof head, cols) < 0 ||
	    append(head, sizeof head, ") VALUES (") < 0)
		goto toolong;
	for (i = 0; i < d->ncols; i++) {
		snprintf(n, sizeof n, "%s?%zu", i ? ", " : "", i + 1);
		if (append(head, sizeof head, n) < 0)
			goto toolong;
	}
	if (append(head, sizeof head, ") ") < 0)
		goto toolong;

	/* ins: the key columns, in table order, as the conflict target. */
	memcpy(sql, head, strlen(head) + 1);
	if (append(sql, sizeof sql, "ON CONFLICT (") < 0)
		goto toolong;
	for (i = 0; i < d->ncols; i++) {
		if (!(d->cols[i].flags & MDAS_SC_KEY))
			continue;
		if ((!first && append(sql, sizeof sql, ", ") < 0) ||
		    append(sql, sizeof sql, d->cols[i].name) < 0)
			goto toolong;
		first = 0;
	}
	if (append(sql, sizeof sql, ") DO NOTHING") < 0)
		goto toolong;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &s->ins[t], NULL) != SQLITE_OK)
		return db_error(s, err, d->name);

	memcpy(sql, head, strlen(head) + 1);
	if (mdas_store_sql_conflict(t, sql, sizeof sql) < 0)
		goto toolong;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &s->ups[t], NULL) != SQLITE_OK)
		return db_error(s, err, d->name);
	return 0;
toolong:
	return mdas_error_set(err, "%s: table %s: statement too long", s->path, d->name);
}

/* The double a decimal text reads as, like strtod() but a few times
 * faster for the texts records carry ("60755.18", "-1880.95", "1e-05"):
 * when the digits as an integer are below 2^53 and the power of ten is
 * at most 22, both are exact doubles, so one IEEE multiply or divide
 * gives the correctly rounded value (Clinger's fast path).  Any other
 * text goes to strtod().  Returns 0, or -1 when text is not a
 * whole finite number. */
static int
parse_double(const char *text, double *out)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	const char *p = text;
	uint64_t m = 0;
	int neg = 0, digits = 0, scale = 0, e = 0, eneg = 0, edigits = 0;
	char *end;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (digits < 18)
			m = m * 10 + (uint64_t)(*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++, scale++)
			if (digits < 18)
				m = m * 10 + (uint64_t)(*p - '0');
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			eneg = *p++ == '-';
		for (; *p >= '0' && *p <= '9' && edigits < 4; p++, edigits++)
			e = e * 10 + (*p - '0');
		if (edigits == 0)
			goto slow;
	}
	/* digits <= 18: none was dropped, m is the whole digit string. */
	if (*p == '\0' && digits > 0 && digits <= 18 && m < ((uint64_t)1 << 53)) {
		int k = (eneg ? -e : e) - scale;

		if (k >= 0 && k <= 22) {
			*out = (double)m * pow10[k];
			if (neg)
				*out = -*out;
			return isfinite(*out) ? 0 : -1;
		}
		if (k < 0 && k >= -22) {
			*out = (double)m / pow10[-k];
			if (neg)
				*out = -*out;
			return 0;
		}
	}
slow:
	errno = 0;
	*out = strtod(text, &end);
	/* Underflow to 0 or a subnormal is a value; an infinity is not one
	 * SQLite can give back. */
	if (end == text || *end != '\0' || !isfinite(*out))
		return -1;
	return 0;
}

/* Binds row's values to st by column type: REAL and INTEGER as their
 * values (SQLite stores the JSON number's value), BOOL as 0/1, the rest
 * as text.  MDAS_SINK_REJECTED when a value does not read as its type. */
static int
bind_row(sqlite3_stmt *st, const struct mdas_store_table_def *d,
    const struct mdas_store_row *row, struct mdas_error *err)
{
	size_t i;

	for (i = 0; i < d->ncols; i++) {
		const char *v = row->val[i];
		const char *type = NULL;
		char *end;
		int rc = SQLITE_OK;

		if (v == NULL) {
			rc = sqlite3_bind_null(st, (int)i + 1);
		} else switch (d->cols[i].type) {
		case MDAS_SQL_BIGINT: {
			long long n;

			errno = 0;
			n = strtoll(v, &end, 10);
			if (end == v || *end != '\0' || errno != 0) {
				type = "an integer";
				break;
			}
			rc = sqlite3_bind_int64(st, (int)i + 1, n);
			break;
		}
		case MDAS_SQL_NUMERIC:
		case MDAS_SQL_DOUBLE: {
			double x;

			if (parse_double(v, &x) < 0) {
				type = "a finite number";
				break;
			}
			rc = sqlite3_bind_double(st, (int)i + 1, x);
			break;
		}
		case MDAS_SQL_BOOL:
			if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
				rc = sqlite3_bind_int(st, (int)i + 1, 1);
			else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
				rc = sqlite3_bind_int(st, (int)i + 1, 0);
			else
				type = "true or false";
			break;
		case MDAS_SQL_TEXT:
		case MDAS_SQL_TIME:
		case MDAS_SQL_DATE:
		default:
			rc = sqlite3_bind_text(st, (int)i + 1, v, (int)row->len[i],
			    SQLITE_STATIC);
			break;
		}
		if (type != NULL) {
			mdas_error_set(err, "%s: %s %.64s%s is not %s", d->name,
			    d->cols[i].name, v, strlen(v) > 64 ? "..." : "", type);
			return MDAS_SINK_REJECTED;
		}
		if (rc != SQLITE_OK)
			return mdas_error_set(err, "%s: %s: cannot bind: %s", d->name,
			    d->cols[i].name, sqlite3_errstr(rc));
	}
	return 0;
}

/* Steps st once: 0 with *changed (a row was written or not),
 * MDAS_SINK_REJECTED (a constraint refused the row: only this statement
 * is undone, the load goes on) or -1. */
static int
step(struct mdas_store *s, sqlite3_stmt *st, const char *table, int *changed,
    struct mdas_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		*changed = sqlite3_changes(s->db) > 0;
		return 0;
	}
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		mdas_error_set(err, "%s: %s", table, sqlite3_errmsg(s->db));
		return MDAS_SINK_REJECTED;
	}
	return db_error(s, err, table);
}

/* ---- Per-series counts ---- */

/* Counts one bar row's outcome (0 inserted, 1 updated, 2 unchanged) to
 * its series.  A stream comes grouped by series, so the last entry is
 * almost always the one; a series that comes back gets a new entry,
 * merged at commit.  -1 when out of memory. */
static int
acc_count(struct mdas_store *s, const struct mdas_store_row *row, int outcome)
{
	struct series_acc *a = s->nacc > 0 ? &s->acc[s->nacc - 1] : NULL;
	size_t l0 = row->len[0] + 1, l1 = row->len[1] + 1, l2 = row->len[2] + 1;

	if (s->series_cb == NULL)
		return 0;
	if (a == NULL || a->len != l0 + l1 + l2 || memcmp(a->key, row->val[0], l0) != 0 ||
	    memcmp(a->key + l0, row->val[1], l1) != 0 ||
	    memcmp(a->key + l0 + l1, row->val[2], l2) != 0) {
		if (s->nacc == s->capacc) {
			size_t cap = s->capacc ? 2 * s->capacc : 64;

			if ((a = realloc(s->acc, cap * sizeof *a)) == NULL)
				return -1;
			s->acc = a;
			s->capacc = cap;
		}
		a = &s->acc[s->nacc];
		if ((a->key = malloc(l0 + l1 + l2)) == NULL)
			return -1;
		memcpy(a->key, row->val[0], l0);
		memcpy(a->key + l0, row->val[1], l1);
		memcpy(a->key + l0 + l1, row->val[2], l2);
		a->len = l0 + l1 + l2;
		a->inserted = a->updated = a->unchanged = 0;
		s->nacc++;
	}
	if (outcome == 0)
		a->inserted++;
	else if (outcome == 1)
		a->updated++;
	else
		a->unchanged++;
	return 0;
}

static void
acc_free(struct mdas_store *s)
{
	for (size_t i = 0; i < s->nacc; i++)
		free(s->acc[i].key);
	s->nacc = 0;
}

/* (source, symbol, interval) order, each compared as bytes. */
static int
acc_cmp(const void *pa, const void *pb)
{
	const struct series_acc *a = pa, *b = pb;
	const char *x = a->key, *y = b->key;
	int i, c;

	for (i = 0; i < 3; i++) {
		if ((c = strcmp(x, y)) != 0)
			return c;
		x += strlen(x) + 1;
		y += strlen(y) + 1;
	}
	return 0;
}

/* Tells the caller each series' counts and what is stored of it now
 * (inside the transaction, so this load's rows count). */
static int
acc_report(struct mdas_store *s, struct mdas_error *err)
{
	struct mdas_store_series_counts c;
	sqlite3_stmt *st;
	size_t i, j;
	int rc;

	if (s->series_cb == NULL || s->nacc == 0)
		return 0;
	qsort(s->acc, s->nacc, sizeof *s->acc, acc_cmp);
	/* The clustered key makes each a range of the bars table. */
	if (sqlite3_prepare_v2(s->db, "SELECT min(ts_ms), max(ts_ms), count(*) FROM bars "
	    "WHERE source = ?1 AND symbol = ?2 AND interval = ?3", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "counting the bars per series");
	for (i = 0; i < s->nacc; i = j) {
		memset(&c, 0, sizeof c);
		c.source = s->acc[i].key;
		c.symbol = c.source + strlen(c.source) + 1;
		c.interval = c.symbol + strlen(c.symbol) + 1;
		for (j = i; j < s->nacc && acc_cmp(&s->acc[i], &s->acc[j]) == 0; j++) {
			c.inserted += s->acc[j].inserted;
			c.updated += s->acc[j].updated;
			c.unchanged += s->acc[j].unchanged;
		}
		sqlite3_bind_text(st, 1, c.source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c.symbol, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c.interval, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			c.first_ts_ms = sqlite3_column_int64(st, 0);
			c.last_ts_ms = sqlite3_column_int64(st, 1);
			c.bars = sqlite3_column_int64(st, 2);
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW) {
			db_error(s, err, "counting the bars per series");
			sqlite3_finalize(st);
			return -1;
		}
		s->series_cb(s->series_arg, &c);
	}
	sqlite3_finalize(st);
	return 0;
}

/* ---- The engine ---- */

static void
sqlite_close(struct mdas_store *s)
{
	int t;

	if (s == NULL)
		return;
	for (t = 0; t < MDAS_ST_COUNT; t++) {
		sqlite3_finalize(s->ins[t]);
		sqlite3_finalize(s->ups[t]);
	}
	if (s->db != NULL && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(s->db);
	acc_free(s);
	free(s->acc);
	free(s->path);
	free(s->run_id);
	free(s->started_at);
	free(s);
}

static char *
dup_or_null(const char *v, int *oom)
{
	char *d;

	if (v == NULL)
		return NULL;
	if ((d = strdup(v)) == NULL)
		*oom = 1;
	return d;
}

/* Pragmas that change the file come only after the version check. */
static int
setup_write(struct mdas_store *s, int fresh, struct mdas_error *err)
{
	sqlite3_stmt *st;
	const char *mode;
	int64_t deadline;
	int ok, rc;

	if (fresh && exec(s, "PRAGMA page_size = " SQLITE_PAGE_SIZE,
	    "setting the page size", err) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "switching to WAL");
	/* Switching needs the exclusive lock while holding a shared one;
	 * when another process is creating the same new database, SQLite
	 * answers SQLITE_BUSY at once rather than risk a deadlock in its
	 * busy handler, so the wait is here. */
	deadline = mdas_monotonic_ms() + (int64_t)(s->timeout * 1000);
	while ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		if ((rc & 0xff) != SQLITE_BUSY || mdas_monotonic_ms() >= deadline) {
			db_error(s, err, "switching to WAL");
			sqlite3_finalize(st);
			return -1;
		}
		sqlite3_sleep(20);
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	ok = mode != NULL && strcmp(mode, "wal") == 0;
	if (!ok)
		mdas_error_set(err, "%s: cannot use a WAL journal (journal mode "
		    "stays %s)", s->path, mode != NULL ? mode : "unknown");
	sqlite3_finalize(st);
	if (!ok)
		return -1;
	return exec(s, "PRAGMA synchronous = NORMAL", "setting synchronous", err);
}

/* Opens name (a path, or a file: URI with SQLITE_OPEN_URI in flags) as
 * s->db, never through a symbolic link. */
static int
connect(struct mdas_store *s, const char *name, int flags, struct mdas_error *err)
{
	flags |= SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	if (sqlite3_open_v2(name, &s->db, flags, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot open");
	/* Someone else's database file may carry triggers and views: they
	 * run with no function that can reach outside the database. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_busy_timeout(s->db, s->timeout > 2e6 ? 2000000000 : (int)(s->timeout * 1000));
	return 0;
}

static int
readonly_error(struct mdas_store *s)
{
	int rc = s->db != NULL ? sqlite3_errcode(s->db) & 0xff : SQLITE_OK;

	return rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN;
}

static int
wal_exists(const char *path)
{
	char wal[4096];
	struct stat sb;

	if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) >= sizeof wal)
		return 1;
	return lstat(wal, &sb) == 0;
}

/* "file:PATH?immutable=1", PATH percent-encoded but for [A-Za-z0-9/._-]. */
static int
immutable_uri(const char *path, char *buf, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t used = 0;
	const unsigned char *p;

	if (n < 32)
		return -1;
	memcpy(buf, "file:", 5);
	used = 5;
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (used + 4 >= n)
			return -1;
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._-", *p) != NULL) {
			buf[used++] = (char)*p;
		} else {
			buf[used++] = '%';
			buf[used++] = hex[*p >> 4];
			buf[used++] = hex[*p & 15];
		}
	}
	if (used + sizeof "?immutable=1" > n)
		return -1;
	memcpy(buf + used, "?immutable=1", sizeof "?immutable=1");
	return 0;
}

static struct mdas_store *
sqlite_open(const struct mdas_store_target *t, enum mdas_store_mode mode,
    int *status, struct mdas_error *err)
{
	struct mdas_store *s;
	struct stat sb;
	char uri[8192], dir[4096];
	int flags, fresh = 0, oom = 0, rc, fd;
	long version;

	*status = MDAS_EXIT_FAILURE;
	if (t->where == NULL || t->where[0] == '\0') {
		*status = MDAS_EXIT_USAGE;
		mdas_error_set(err, "no database path (--db or store.path)");
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", t->where);
		return NULL;
	}
	s->mode = mode;
	s->series_cb = t->series;
	s->series_arg = t->series_arg;
	s->path = dup_or_null(t->where, &oom);
	s->run_id = dup_or_null(t->run_id, &oom);
	s->started_at = dup_or_null(t->started_at, &oom);
	if (oom) {
		mdas_error_errno(err, ENOMEM, "%s", t->where);
		goto fail;
	}

	/* Decided: the database path is never a symbolic link (a planted
	 * link would make the load write wherever it points); the
	 * directories above it may be. */
	if (lstat(s->path, &sb) == 0) {
		if (S_ISLNK(sb.st_mode)) {
			mdas_error_set(err, "%s: is a symbolic link; not followed "
			    "(give the database's real path)", s->path);
			goto fail;
		}
		if (S_ISDIR(sb.st_mode)) {
			mdas_error_set(err, "%s: is a directory, not a database file",
			    s->path);
			goto fail;
		}
		if (!S_ISREG(sb.st_mode)) {
			mdas_error_set(err, "%s: is not a regular file", s->path);
			goto fail;
		}
		fresh = sb.st_size == 0;
	} else if (errno == ENOENT) {
		if (mode == MDAS_STORE_READ) {
			s->absent = 1;
			return s;
		}
		/* Created here, not by SQLite, whose message for a directory
		 * we may not write in is the errno of its read-only retry
		 * ("No such file or directory").  Its directory too, as the
		 * exporters create export.dir: data/ need not exist yet. */
		mdas_dirname(s->path, dir, sizeof dir);
		if (mdas_mkdir_p(dir, 0755, err) != 0) {
			mdas_error_prefix(err, "%s: cannot create its directory", s->path);
			goto fail;
		}
		if ((fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644)) < 0 && errno != EEXIST) {
			mdas_error_errno(err, errno, "%s: cannot create", s->path);
			goto fail;
		}
		if (fd >= 0)
			close(fd);
		fresh = 1;
	} else {
		mdas_error_errno(err, errno, "%s", s->path);
		goto fail;
	}

	flags = mode == MDAS_STORE_READ ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	s->timeout = t->busy_timeout_s > 0 ? t->busy_timeout_s : 0;
	/* Debian's SQLite reads a name that starts with "file:" as a URI
	 * (SQLITE_USE_URI: "file:x.db?nolock=1" opened x.db, unlocked) and
	 * ":memory:" as no file at all; "./" makes either the file that
	 * was checked above. */
	if (strncmp(s->path, "file:", 5) == 0 || strcmp(s->path, ":memory:") == 0) {
		if ((size_t)snprintf(uri, sizeof uri, "./%s", s->path) >= sizeof uri) {
			mdas_error_set(err, "%s: path too long", s->path);
			goto fail;
		}
		rc = connect(s, uri, flags, err);
	} else {
		rc = connect(s, s->path, flags, err);
	}
	if (rc < 0)
		goto fail;
	/* SQLite opens read-only when it may not write (a read-only file,
	 * chattr +i, a read-only mount): that is a failure for a load,
	 * said before anything is read. */
	if (mode == MDAS_STORE_WRITE && sqlite3_db_readonly(s->db, "main") == 1) {
		mdas_error_set(err, "%s: cannot write: the database is read-only "
		    "(file, directory or file system)", s->path);
		goto fail;
	}
	if (read_version(s, &version, err) < 0) {
		/* --last where we may not create the -shm file a WAL
		 * database needs: with no -wal file there is nothing but
		 * the file itself to read, so read it as immutable. */
		if (mode != MDAS_STORE_READ || !readonly_error(s) ||
		    immutable_uri(s->path, uri, sizeof uri) < 0 ||
		    wal_exists(s->path))
			goto fail;
		sqlite3_close(s->db);
		s->db = NULL;
		if (connect(s, uri, flags | SQLITE_OPEN_URI, err) < 0 ||
		    read_version(s, &version, err) < 0)
			goto fail;
	}
	if ((rc = mdas_store_check_version(version, s->path, err)) != 0) {
		if (rc == MDAS_SINK_REFUSED)
			*status = rc;
		goto fail;
	}
	if (mode == MDAS_STORE_READ)
		return s;

	if (setup_write(s, fresh, err) < 0 ||
	    exec(s, "PRAGMA cache_size = " SQLITE_CACHE_KIB, "setting the cache size",
	    err) < 0)
		goto fail;
	if (version < MDAS_STORE_SCHEMA_VERSION && migrate(s, status, err) < 0)
		goto fail;
	return s;
fail:
	sqlite_close(s);
	return NULL;
}

static int
sqlite_begin(struct mdas_store *s, struct mdas_error *err)
{
	sqlite3_stmt *st;
	int t, rc;

	if (s->mode != MDAS_STORE_WRITE || s->run_id == NULL || s->run_id[0] == '\0')
		return mdas_error_set(err, "%s: not open for a load", s->path);
	for (t = 0; t < MDAS_ST_COUNT; t++)
		if (s->ins[t] == NULL && prepare_table(s, t, err) < 0)
			return -1;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, err, "starting the load");
	memset(&s->res, 0, sizeof s->res);
	acc_free(s);

	/* The same run loaded again (same run ID) starts over; a manifest
	 * already stored for it stays. */
	if (sqlite3_prepare_v2(s->db, "INSERT INTO runs (run_id, started_at, status) "
	    "VALUES (?1, ?2, 'loading') ON CONFLICT (run_id) DO UPDATE SET "
	    "started_at = excluded.started_at, finished_at = NULL, "
	    "status = excluded.status", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "runs");
	sqlite3_bind_text(st, 1, s->run_id, -1, SQLITE_STATIC);
	if (s->started_at != NULL)
		sqlite3_bind_text(st, 2, s->started_at, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(s, err, "runs");
	return 0;
}

static int
sqlite_put(struct mdas_store *s, const struct mdas_store_row *row,
    struct mdas_error *err)
{
	const struct mdas_store_table_def *d;
	struct mdas_store_counts *c;
	int rc, changed, outcome;

	if (row->table >= MDAS_ST_COUNT || s->ins[row->table] == NULL ||
	    sqlite3_get_autocommit(s->db))
		return mdas_error_set(err, "%s: row outside a load", s->path);
	d = &mdas_store_tables[row->table];
	c = &s->res.table[row->table];

	if ((rc = bind_row(s->ins[row->table], d, row, err)) != 0 ||
	    (rc = step(s, s->ins[row->table], d->name, &changed, err)) != 0)
		goto out;
	if (changed) {
		c->inserted++;
		outcome = 0;
		goto counted;
	}
	/* The key is there: the upsert decides whether it changes. */
	if ((rc = bind_row(s->ups[row->table], d, row, err)) != 0 ||
	    (rc = step(s, s->ups[row->table], d->name, &changed, err)) != 0)
		goto out;
	if (changed)
		c->updated++;
	else
		c->unchanged++;
	outcome = changed ? 1 : 2;
counted:
	if (row->table == MDAS_ST_BARS && acc_count(s, row, outcome) < 0)
		return mdas_error_errno(err, ENOMEM, "%s", s->path);
	return 0;
out:
	if (rc == MDAS_SINK_REJECTED)
		s->res.rejected++;
	return rc;
}

/* {"series":{"inserted":N,"updated":N,"unchanged":N},...,"rejected":N} */
static void
counts_json(const struct mdas_store_result *r, char *buf, size_t n)
{
	size_t used = 0;
	int t;

	used += (size_t)snprintf(buf, n, "{");
	for (t = 0; t < MDAS_ST_COUNT && used < n; t++)
		used += (size_t)snprintf(buf + used, n - used, "\"%s\":{\"inserted\":%lu,"
		    "\"updated\":%lu,\"unchanged\":%lu},", mdas_store_tables[t].name,
		    r->table[t].inserted, r->table[t].updated, r->table[t].unchanged);
	if (used < n)
		snprintf(buf + used, n - used, "\"rejected\":%lu}", r->rejected);
}

/* res->rejected on entry: the records the caller rejected, those
 * mdas_store_map_record() refused and those put() refused (storesink.c
 * counts both); the runs row stores the larger of that and put()'s own
 * count, and res gets it back. */
static int
sqlite_commit(struct mdas_store *s, struct mdas_store_result *res,
    struct mdas_error *err)
{
	sqlite3_stmt *st;
	char now[32], counts[1024];
	int rc;

	if (sqlite3_get_autocommit(s->db))
		return mdas_error_set(err, "%s: no load to commit", s->path);
	if (res->rejected > s->res.rejected)
		s->res.rejected = res->rejected;
	if (acc_report(s, err) < 0)
		goto rollback;
	counts_json(&s->res, counts, sizeof counts);
	now_iso(now);
	if (sqlite3_prepare_v2(s->db, "UPDATE runs SET finished_at = ?1, "
	    "status = 'stored', counts = ?2 WHERE run_id = ?3", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, counts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	*res = s->res;
	return 0;
fail:
	db_error(s, err, "committing the load");
rollback:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
sqlite_last(struct mdas_store *s, FILE *out, struct mdas_error *err)
{
	sqlite3_stmt *st;
	int yes, rc;

	if (s->absent)
		return 0;
	if (has_table(s, "bars", &yes, err) < 0)
		return -1;
	if (!yes)
		return 0;
	if (sqlite3_prepare_v2(s->db, "SELECT source, symbol, interval, min(ts_ms), "
	    "max(ts_ms), count(*) FROM bars GROUP BY source, symbol, interval "
	    "ORDER BY source, symbol, interval", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "reading bars");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (mdas_store_print_last(out, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3),
		    sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5)) < 0) {
			sqlite3_finalize(st);
			return mdas_error_errno(err, errno, "standard output");
		}
	}
	if (rc != SQLITE_DONE) {
		db_error(s, err, "reading bars");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

static int
sqlite_gaps(struct mdas_store *s, FILE *out, struct mdas_error *err)
{
	struct mdas_store_gaps g;
	sqlite3_stmt *st;
	char sql[SQL_MAX];
	int yes, rc;

	if (s->absent)
		return 0;
	if (has_table(s, "bars", &yes, err) < 0)
		return -1;
	if (!yes)
		return 0;
	if (mdas_store_sql_gaps(MDAS_DIALECT_SQLITE, "", sql, sizeof sql) < 0)
		return mdas_error_set(err, "%s: the gap query is too long (internal)", s->path);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "looking for gaps");
	memset(&g, 0, sizeof g);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (mdas_store_gaps_row(&g, out, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3),
		    sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
		    sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7)) < 0) {
			sqlite3_finalize(st);
			return mdas_error_errno(err, errno, "standard output");
		}
	}
	if (rc != SQLITE_DONE) {
		db_error(s, err, "looking for gaps");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	if (mdas_store_gaps_end(&g, out) < 0)
		return mdas_error_errno(err, errno, "standard output");
	return 0;
}

static const char *
manifest_string(struct json_object *m, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(m, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
sqlite_set_manifest(struct mdas_store *s, const char *run_id,
    const char *manifest_json, struct mdas_error *err)
{
	struct json_object *m;
	sqlite3_stmt *st = NULL;
	int own = 0, rc = -1;

	if (s->mode != MDAS_STORE_WRITE)
		return mdas_error_set(err, "%s: not open for writing", s->path);
	m = json_tokener_parse(manifest_json);
	if (m == NULL || !json_object_is_type(m, json_type_object)) {
		json_object_put(m);
		return mdas_error_set(err, "the manifest is not a JSON object");
	}
	if (sqlite3_get_autocommit(s->db)) {
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
			db_error(s, err, "storing the manifest");
			goto out;
		}
		own = 1;
	}
	/* A run that was published but never loaded gets its row too. */
	if (sqlite3_prepare_v2(s->db, "INSERT INTO runs (run_id, started_at, "
	    "finished_at, status, manifest) VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (run_id) DO UPDATE SET "
	    "started_at = coalesce(runs.started_at, excluded.started_at), "
	    "finished_at = excluded.finished_at, status = excluded.status, "
	    "manifest = excluded.manifest", -1, &st, NULL) != SQLITE_OK) {
		db_error(s, err, "storing the manifest");
		goto out;
	}
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, manifest_string(m, "started_at"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, manifest_string(m, "finished_at"), -1, SQLITE_STATIC);
	if (manifest_string(m, "status") != NULL)
		sqlite3_bind_text(st, 4, manifest_string(m, "status"), -1, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 4, "published", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, manifest_json, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(s, err, "storing the manifest");
		goto out;
	}
	if (own && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_error(s, err, "storing the manifest");
		goto out;
	}
	own = 0;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (own)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	json_object_put(m);
	return rc;
}

const struct mdas_store_engine mdas_store_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.begin = sqlite_begin,
	.put = sqlite_put,
	.commit = sqlite_commit,
	.last = sqlite_last,
	.gaps = sqlite_gaps,
	.set_manifest = sqlite_set_manifest,
	.close = sqlite_close,
};
