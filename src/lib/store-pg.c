/* store-pg.c: the PostgreSQL engine of the record store (store.h).
 *
 * A load is one transaction on one connection:
 *
 *   begin()  BEGIN, a temporary staging table pg_temp.mdas_rows (the
 *            table's number, the input line, then text columns c1..cN,
 *            wide enough for the widest table) and COPY ... FROM STDIN;
 *   put()    appends the row to the COPY stream (text format), so rows of
 *            every table go through one stream, in input order, and
 *            memory stays constant whatever the length of the input;
 *   commit() ends the COPY, takes the schema's advisory lock (loads into
 *            one schema run one after the other), then per table one
 *              INSERT INTO s.t (cols) SELECT DISTINCT ON (key) <casts>
 *              FROM staging ORDER BY key, (imputed IS NULL) DESC, line DESC
 *              ON CONFLICT ... (mdas_store_sql_conflict)
 *            counted with RETURNING (xmax = 0), then the runs row, COMMIT.
 *            When put() saw that no key of a table came twice (the usual
 *            stream: series in one piece, times rising), the INSERT reads
 *            the staging table as it is, without the DISTINCT ON sort.
 *
 * Why one staging table rather than one per table: a connection can COPY
 * into one table at a time and records of several tables interleave; one
 * stream lets the server take the rows while the input is still being
 * read (no scratch files, nothing kept here), at the price of a few
 * \N columns per narrow row.
 *
 * The staging columns are text: every cast to the real column types
 * happens in the INSERT.  When the database refuses a row there (a value
 * PostgreSQL cannot take, a constraint added to the table), the INSERT
 * fails as a whole; the engine then rolls back to a savepoint and
 * inserts that table's rows again in halves of line ranges, down to the
 * single rows it refuses, which are reported by input line while the rest
 * is stored (store.h: the refused callback).
 *
 * SQL is made of constants, the schema name (checked by
 * mdas_store_identifier_ok(), so it holds no '"' and goes in double
 * quotes unescaped: a keyword such as user is a name too), numbers and
 * parameters; values only ever travel as COPY data or parameters.
 * Messages name the server by host, port, database and user, never with
 * the connection string, and any password is cut out of what libpq says.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"
#include "error.h"
#include "store.h"
#include "utf8.h"

#define PG_APPNAME       "mdas-export-pg"
#define PG_DEFAULT_SCHEMA "mdas"
#define PG_COPYBUF       (256 * 1024)   /* COPY data sent in pieces this big */
#define PG_SQLMAX        65536          /* the longest statement built here */
#define PG_MAX_REFUSED   1000           /* more refused rows: the load fails */
/* pg_advisory_xact_lock(int, int): 'mdas' and hashtext(schema). */
#define PG_LOCK_CLASS    "1835295091"

/* Whether a table's rows of this load may hold one key twice.  A stream
 * comes grouped by series, each in time order; when every group (the key
 * but its last column) comes in one piece, never seen before (a bitmap of
 * hashes: a collision only costs the slow way), with the last key column
 * strictly increasing, no key repeats and the upsert needs no DISTINCT ON
 * (no sort of the whole load on the server).  Constant memory. */
#define PG_SEEN_BITS (1u << 20)
struct order_check {
	int may_dup;
	int have;
	char group[512];
	size_t glen;
	long long last;
	unsigned char *seen;         /* PG_SEEN_BITS / 8 bytes */
};

struct mdas_store {
	PGconn *conn;
	enum mdas_store_mode mode;
	char schema[64];
	char qschema[68];            /* "schema": quoted, so that a keyword
	                              * (select, user) is a name too */
	char target[512];            /* "PostgreSQL host=H port=P dbname=D user=U" */
	char run_id[128];
	char started_at[64];
	int have_started;
	long version;                /* found at open; 0: none (READ: empty) */
	int in_tx, in_copy;
	unsigned ncols;              /* staging text columns */
	unsigned long staged[MDAS_ST_COUNT];
	struct order_check order[MDAS_ST_COUNT];
	char *copybuf;
	size_t copylen;
	char *sql;                   /* PG_SQLMAX bytes */
	struct mdas_store_result res;
	unsigned long refused;
	void (*refused_cb)(void *, unsigned long, const char *);
	void *refused_arg;
	/* Per bar series (store.h: target->series): each bars INSERT also
	 * adds its RETURNING counts by series to pg_temp.mdas_sc. */
	void (*series_cb)(void *, const struct mdas_store_series_counts *);
	void *series_arg;
	int want_series;             /* this load: mdas_sc exists */
	unsigned long refused_lines[PG_MAX_REFUSED];
};

/* ---- Messages ---- */

/* s (size bytes) = t[0..n), cut to fit. */
static void
copy_out(char *s, size_t size, const char *t, size_t n)
{
	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(s, t, n);
	s[n] = '\0';
}

/* Replaces every occurrence of secret in s (size bytes, NUL-terminated)
 * with "***"; what no longer fits is cut. */
static void
cut_secret(char *s, size_t size, const char *secret)
{
	char tmp[MDAS_ERROR_MAX];
	size_t k, w = 0;
	const char *r = s, *p;

	if (secret == NULL || (k = strlen(secret)) == 0 || strstr(s, secret) == NULL)
		return;
	while ((p = strstr(r, secret)) != NULL && w < sizeof tmp - 1) {
		size_t n = (size_t)(p - r);
		if (n > sizeof tmp - 1 - w)
			n = sizeof tmp - 1 - w;
		memcpy(tmp + w, r, n);
		w += n;
		n = sizeof tmp - 1 - w < 3 ? sizeof tmp - 1 - w : 3;
		memcpy(tmp + w, "***", n);
		w += n;
		r = p + k;
	}
	while (*r != '\0' && w < sizeof tmp - 1)
		tmp[w++] = *r++;
	tmp[w] = '\0';
	copy_out(s, size, tmp, w);
}

/* One line: newlines and tabs to spaces, runs of spaces to one, no
 * trailing space. */
static void
one_line(char *s)
{
	char *w = s;
	int space = 0;

	for (char *r = s; *r != '\0'; r++) {
		char c = *r;
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		if (c == ' ') {
			if (space || w == s)
				continue;
			space = 1;
		} else {
			space = 0;
		}
		*w++ = c;
	}
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

/* The password libpq uses for conn, wherever it came from. */
static void
cut_passwords(PGconn *conn, char *msg, size_t size)
{
	if (conn != NULL) {
		PQconninfoOption *o = PQconninfo(conn);
		cut_secret(msg, size, PQpass(conn));
		for (PQconninfoOption *p = o; p != NULL && p->keyword != NULL; p++)
			if (strcmp(p->keyword, "password") == 0)
				cut_secret(msg, size, p->val);
		PQconninfoFree(o);
	}
	cut_secret(msg, size, getenv("PGPASSWORD"));
}

/* What went wrong, from a result's fields when there is one (primary
 * message, detail, hint, SQLSTATE), else from the connection. */
static void
pg_reason(PGconn *conn, const PGresult *r, char *buf, size_t size)
{
	const char *prim = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (prim != NULL) {
		const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		/* A refused row's detail repeats the whole row: leave it out. */
		if (state != NULL && strcmp(state, "23514") == 0)
			detail = NULL;
		snprintf(buf, size, "%s%s%s%s%s%s%s%s", prim,
		    detail ? " (" : "", detail ? detail : "", detail ? ")" : "",
		    hint ? "; " : "", hint ? hint : "",
		    state ? "; SQLSTATE " : "", state ? state : "");
	} else {
		const char *m = conn != NULL ? PQerrorMessage(conn) : "";
		snprintf(buf, size, "%s", *m != '\0' ? m : "unknown error");
		/* libpq's own words start with the severity twice at times. */
		if (strncmp(buf, "FATAL:  ", 8) == 0 || strncmp(buf, "ERROR:  ", 8) == 0)
			memmove(buf, buf + 8, strlen(buf + 8) + 1);
	}
	one_line(buf);
	cut_passwords(conn, buf, size);
}

__attribute__((format(printf, 4, 5)))
static int
fail(struct mdas_store *s, const PGresult *r, struct mdas_error *err,
    const char *fmt, ...)
{
	char what[512], why[MDAS_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	pg_reason(s->conn, r, why, sizeof why);
	if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_BAD)
		return mdas_error_set(err, "%s: %s: connection lost: %s", s->target, what, why);
	return mdas_error_set(err, "%s: %s: %s", s->target, what, why);
}

/* "PostgreSQL host=H port=P dbname=D user=U", from the options libpq
 * took (never the connection string, which may hold a password). */
static void
name_target(struct mdas_store *s)
{
	const char *host = NULL, *port = NULL, *db = NULL, *user = NULL;
	PQconninfoOption *o = PQconninfo(s->conn);

	for (PQconninfoOption *p = o; p != NULL && p->keyword != NULL; p++) {
		if (p->val == NULL || *p->val == '\0')
			continue;
		if (strcmp(p->keyword, "host") == 0)
			host = p->val;
		else if (strcmp(p->keyword, "hostaddr") == 0 && host == NULL)
			host = p->val;
		else if (strcmp(p->keyword, "port") == 0)
			port = p->val;
		else if (strcmp(p->keyword, "dbname") == 0)
			db = p->val;
		else if (strcmp(p->keyword, "user") == 0)
			user = p->val;
	}
	snprintf(s->target, sizeof s->target,
	    "PostgreSQL host=%s port=%s dbname=%s user=%s",
	    host ? host : PQhost(s->conn) ? PQhost(s->conn) : "?",
	    port ? port : PQport(s->conn) ? PQport(s->conn) : "?",
	    db ? db : PQdb(s->conn) ? PQdb(s->conn) : "?",
	    user ? user : PQuser(s->conn) ? PQuser(s->conn) : "?");
	PQconninfoFree(o);
	one_line(s->target);
	cut_passwords(s->conn, s->target, sizeof s->target);
}

static void
quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* ---- Statements ---- */

/* Runs sql with text parameters; returns the result when its status is
 * want, else NULL after fail() (the result is cleared). */
static PGresult *
exec(struct mdas_store *s, ExecStatusType want, const char *sql, int nparams,
    const char *const *params, struct mdas_error *err, const char *what)
{
	PGresult *r = PQexecParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (r != NULL && PQresultStatus(r) == want)
		return r;
	fail(s, r, err, "%s", what);
	PQclear(r);
	return NULL;
}

static int
run(struct mdas_store *s, const char *sql, struct mdas_error *err, const char *what)
{
	PGresult *r = exec(s, PGRES_COMMAND_OK, sql, 0, NULL, err, what);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* Appends to s->sql; -1 when it would not fit (a bug: tables are constants). */
__attribute__((format(printf, 3, 4)))
static int
add(struct mdas_store *s, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= PG_SQLMAX)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(s->sql + *len, PG_SQLMAX - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= PG_SQLMAX - *len) {
		*len = PG_SQLMAX;
		return -1;
	}
	*len += (size_t)n;
	return 0;
}

static const char *
cast(enum mdas_store_type t)
{
	switch (t) {
	case MDAS_SQL_TEXT:    return "";
	case MDAS_SQL_BIGINT:  return "::bigint";
	case MDAS_SQL_NUMERIC: return "::numeric";
	case MDAS_SQL_DOUBLE:  return "::double precision";
	case MDAS_SQL_TIME:    return "::timestamptz";
	case MDAS_SQL_DATE:    return "::date";
	case MDAS_SQL_BOOL:    return "::boolean";
	}
	return "";
}

static int
imputed_col(const struct mdas_store_table_def *d)
{
	for (size_t i = 0; i < d->ncols; i++)
		if (strcmp(d->cols[i].name, "imputed") == 0)
			return (int)i;
	return -1;
}

/* ", c1 COLLATE "C", ..." for the key columns, as the staging table has
 * them (text: the grouping never fails on a bad value). */
static int
add_key(struct mdas_store *s, size_t *len, const struct mdas_store_table_def *d)
{
	int first = 1;

	for (size_t i = 0; i < d->ncols; i++) {
		if (!(d->cols[i].flags & MDAS_SC_KEY))
			continue;
		if (add(s, len, "%sc%zu COLLATE \"C\"", first ? "" : ", ", i + 1) < 0)
			return -1;
		first = 0;
	}
	return 0;
}

/* SELECT DISTINCT ON (key) line, c1, ... cN FROM pg_temp.mdas_rows WHERE
 * tbl = t ORDER BY key, real first, last line first: the row that wins
 * among one load's duplicates (store.h). */
static int
add_distinct(struct mdas_store *s, size_t *len, enum mdas_store_table t)
{
	const struct mdas_store_table_def *d = &mdas_store_tables[t];
	int imp = imputed_col(d);

	if (add(s, len, "SELECT DISTINCT ON (") < 0 || add_key(s, len, d) < 0 ||
	    add(s, len, ") line") < 0)
		return -1;
	for (size_t i = 0; i < d->ncols; i++)
		if (add(s, len, ", c%zu", i + 1) < 0)
			return -1;
	if (add(s, len, " FROM pg_temp.mdas_rows WHERE tbl = %d ORDER BY ", (int)t) < 0 ||
	    add_key(s, len, d) < 0)
		return -1;
	if (imp >= 0 && add(s, len, ", (c%d IS NULL) DESC", imp + 1) < 0)
		return -1;
	return add(s, len, ", line DESC");
}

/* INSERT INTO s.t (cols) SELECT <casts> FROM src [WHERE ...] <tail>
 * RETURNING (xmax = 0): inserted true, updated false. */
static int
add_insert(struct mdas_store *s, size_t *len, enum mdas_store_table t,
    const char *src, const char *where)
{
	const struct mdas_store_table_def *d = &mdas_store_tables[t];
	char prefix[80];
	size_t n;

	snprintf(prefix, sizeof prefix, "%s.", s->qschema);
	if (add(s, len, "INSERT INTO %s%s (", prefix, d->name) < 0)
		return -1;
	if (*len >= PG_SQLMAX ||
	    mdas_store_sql_columns(t, s->sql + *len, PG_SQLMAX - *len) < 0)
		return -1;
	*len += strlen(s->sql + *len);
	if (add(s, len, ") SELECT ") < 0)
		return -1;
	for (size_t i = 0; i < d->ncols; i++)
		if (add(s, len, "%sc%zu%s", i ? ", " : "", i + 1, cast(d->cols[i].type)) < 0)
			return -1;
	if (add(s, len, " FROM %s%s%s ", src, where ? " WHERE " : "", where ? where : "") < 0)
		return -1;
	n = *len;
	if (mdas_store_sql_conflict(t, s->sql + n, PG_SQLMAX - n) < 0)
		return -1;
	*len += strlen(s->sql + n);
	return add(s, len, t == MDAS_ST_BARS && s->want_series ?
	    " RETURNING (xmax = 0) AS i, source, symbol, interval" : " RETURNING (xmax = 0) AS i");
}

/* After "WITH ... ins AS (INSERT ... RETURNING ...)": for the bars of a
 * load that wants per-series counts, ", sc AS (INSERT INTO mdas_sc ...)",
 * which runs once whatever the main query reads. */
static int
add_series_cte(struct mdas_store *s, size_t *len, enum mdas_store_table t)
{
	if (t != MDAS_ST_BARS || !s->want_series)
		return 0;
	return add(s, len, ", sc AS (INSERT INTO pg_temp.mdas_sc SELECT source, symbol, "
	    "interval, count(*) FILTER (WHERE i), count(*) FILTER (WHERE NOT i) FROM ins "
	    "GROUP BY 1, 2, 3)");
}

/* ---- Open: connect, check the version, create or migrate ---- */

/* Invalid connection strings: libpq quotes the offending text, which may
 * be a password; keep its words, not the quoted part. */
static void
cut_quoted(char *s, size_t size)
{
	char tmp[MDAS_ERROR_MAX];
	size_t w = 0;
	int in = 0;

	for (const char *r = s; *r != '\0' && w + 5 < sizeof tmp; r++) {
		if (*r == '"') {
			if (!in) {
				memcpy(tmp + w, "\"...", 4);
				w += 4;
			} else {
				tmp[w++] = '"';
			}
			in = !in;
		} else if (!in) {
			tmp[w++] = *r;
		}
	}
	tmp[w] = '\0';
	copy_out(s, size, tmp, w);
}

static int
create_schema(struct mdas_store *s, struct mdas_error *err)
{
	const char *const nsp[1] = { s->schema };
	PGresult *r;
	size_t len;
	int exists;

	r = exec(s, PGRES_TUPLES_OK, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
	    1, nsp, err, "cannot look for the schema");
	if (r == NULL)
		return -1;
	exists = PQntuples(r) > 0;
	PQclear(r);
	/* Only what is missing is created: a role that may write the
	 * tables but not create in the database can still load. */
	if (!exists) {
		len = 0;
		if (add(s, &len, "CREATE SCHEMA %s", s->qschema) < 0 ||
		    run(s, s->sql, err, "cannot create the schema") < 0)
			return -1;
	}
	for (int t = 0; t < MDAS_ST_COUNT; t++) {
		char prefix[80];
		snprintf(prefix, sizeof prefix, "%s.", s->qschema);
		s->sql[0] = '\0';   /* the builders append */
		if (mdas_store_sql_create(MDAS_DIALECT_PG, (enum mdas_store_table)t,
		    prefix, s->sql, PG_SQLMAX) < 0)
			return mdas_error_set(err, "%s: the CREATE TABLE of %s does not fit",
			    s->target, mdas_store_tables[t].name);
		if (run(s, s->sql, err, "cannot create a table") < 0)
			return -1;
	}
	len = 0;
	if (add(s, &len, "CREATE TABLE IF NOT EXISTS %s.runs (run_id text PRIMARY KEY, "
	    "started_at timestamptz, finished_at timestamptz, status text NOT NULL, "
	    "counts jsonb, manifest jsonb)", s->qschema) < 0 ||
	    run(s, s->sql, err, "cannot create the runs table") < 0)
		return -1;
	len = 0;
	if (add(s, &len, "CREATE TABLE IF NOT EXISTS %s.schema_version (version integer "
	    "PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", s->qschema) < 0 ||
	    run(s, s->sql, err, "cannot create the schema_version table") < 0)
		return -1;
	len = 0;
	if (add(s, &len, "INSERT INTO %s.schema_version (version) VALUES (%d) "
	    "ON CONFLICT (version) DO NOTHING", s->qschema, MDAS_STORE_SCHEMA_VERSION) < 0 ||
	    run(s, s->sql, err, "cannot record the schema version") < 0)
		return -1;
	return 0;
}

/* The version in s.schema_version, 0 when there is none. */
static int
find_version(struct mdas_store *s, struct mdas_error *err)
{
	char reg[100];
	const char *p[1] = { reg };
	PGresult *r;
	size_t len = 0;

	snprintf(reg, sizeof reg, "%s.schema_version", s->qschema);
	r = exec(s, PGRES_TUPLES_OK, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, p,
	    err, "cannot look for the schema");
	if (r == NULL)
		return -1;
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		PQclear(r);
		s->version = 0;
		return 0;
	}
	PQclear(r);
	if (add(s, &len, "SELECT coalesce(max(version), 0) FROM %s.schema_version", s->qschema) < 0)
		return -1;
	r = exec(s, PGRES_TUPLES_OK, s->sql, 0, NULL, err, "cannot read the schema version");
	if (r == NULL)
		return -1;
	s->version = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static struct mdas_store *
pg_open(const struct mdas_store_target *t, enum mdas_store_mode mode, int *status,
    struct mdas_error *err)
{
	const char *keys[12], *vals[12];
	char ms[32], what[640];
	const char *lockp[1];
	struct mdas_store *s;
	int k = 0;

	*status = MDAS_EXIT_FAILURE;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		goto nomem;
	s->mode = mode;
	snprintf(s->target, sizeof s->target, "PostgreSQL");
	snprintf(s->schema, sizeof s->schema, "%s",
	    t->schema != NULL ? t->schema : PG_DEFAULT_SCHEMA);
	if (!mdas_store_identifier_ok(s->schema) || strlen(t->schema ? t->schema : "") >= sizeof s->schema) {
		mdas_error_set(err, "schema name \"%s\" is not a plain identifier "
		    "([a-z_][a-z0-9_]*, at most 63 characters)", t->schema);
		*status = MDAS_SINK_REFUSED;
		free(s);
		return NULL;
	}
	/* Safe to quote: a plain identifier holds no '"'. */
	snprintf(s->qschema, sizeof s->qschema, "\"%s\"", s->schema);
	snprintf(s->run_id, sizeof s->run_id, "%s", t->run_id ? t->run_id : "");
	if (t->started_at != NULL) {
		snprintf(s->started_at, sizeof s->started_at, "%s", t->started_at);
		s->have_started = 1;
	}
	s->refused_cb = t->refused;
	s->refused_arg = t->refused_arg;
	s->series_cb = t->series;
	s->series_arg = t->series_arg;
	s->sql = malloc(PG_SQLMAX);
	if (s->sql == NULL)
		goto nomem;

	/* A connection string or URI (a plain word is a database name). */
	if (t->where != NULL && (strchr(t->where, '=') != NULL ||
	    strncmp(t->where, "postgresql://", 13) == 0 ||
	    strncmp(t->where, "postgres://", 11) == 0)) {
		char *perr = NULL;
		PQconninfoOption *o = PQconninfoParse(t->where, &perr);
		if (o == NULL) {
			char m[512];
			snprintf(m, sizeof m, "%s", perr ? perr : "out of memory");
			PQfreemem(perr);
			one_line(m);
			cut_quoted(m, sizeof m);
			mdas_error_set(err, "PostgreSQL: the connection string is not valid: %s", m);
			*status = MDAS_SINK_REFUSED;
			free(s->sql);
			free(s);
			return NULL;
		}
		PQconninfoFree(o);
	}

	/* Before dbname: defaults the connection string may override. */
	keys[k] = "fallback_application_name"; vals[k++] = PG_APPNAME;
	if (getenv("PGCONNECT_TIMEOUT") == NULL) {
		keys[k] = "connect_timeout"; vals[k++] = "10";
	}
	keys[k] = "keepalives_idle"; vals[k++] = "30";
	keys[k] = "keepalives_interval"; vals[k++] = "10";
	keys[k] = "keepalives_count"; vals[k++] = "3";
	if (t->where != NULL && *t->where != '\0') {
		keys[k] = "dbname"; vals[k++] = t->where;
	}
	/* After it: what the engine needs whatever the string says. */
	keys[k] = "client_encoding"; vals[k++] = "UTF8";
	keys[k] = NULL; vals[k] = NULL;
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->conn == NULL)
		goto nomem;
	name_target(s);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		char why[MDAS_ERROR_MAX];
		pg_reason(s->conn, NULL, why, sizeof why);
		mdas_error_set(err, "%s: cannot connect: %s", s->target, why);
		goto failed;
	}
	PQsetNoticeProcessor(s->conn, quiet_notices, NULL);
	PQsetErrorVerbosity(s->conn, PQERRORS_DEFAULT);

	/* Session: our own search_path (pg_temp last: nothing of another
	 * schema stands in for what the SQL names), UTC, fewer notices, and
	 * a lock timeout: a concurrent writer is waited for, not forever. */
	{
		double w = t->busy_timeout_s;
		const char *p[1] = { ms };
		PGresult *r;
		snprintf(ms, sizeof ms, "%.0f", w > 0 ? (w * 1000 < 2e9 ? w * 1000 : 2e9) : 1);
		r = exec(s, PGRES_TUPLES_OK,
		    "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), "
		    "pg_catalog.set_config('TimeZone', 'UTC', false), "
		    "pg_catalog.set_config('client_min_messages', 'warning', false), "
		    "pg_catalog.set_config('lock_timeout', $1, false)", 1, p, err,
		    "cannot set up the session");
		if (r == NULL)
			goto failed;
		PQclear(r);
	}

	/* Records are UTF-8 (the reader checks it); a database in another
	 * encoding would refuse a whole load at COPY for one character it
	 * has no equivalent for, so it is said here, before anything. */
	if (mode == MDAS_STORE_WRITE) {
		const char *enc = PQparameterStatus(s->conn, "server_encoding");

		if (enc != NULL && strcmp(enc, "UTF8") != 0 && strcmp(enc, "SQL_ASCII") != 0) {
			mdas_error_set(err, "%s: the database's encoding is %s; the store "
			    "needs UTF8 (createdb -E UTF8)", s->target, enc);
			*status = MDAS_SINK_REFUSED;
			goto failed;
		}
	}
	if (run(s, mode == MDAS_STORE_READ ? "BEGIN READ ONLY" : "BEGIN", err,
	    "cannot begin") < 0)
		goto failed;
	s->in_tx = 1;
	lockp[0] = s->schema;
	snprintf(what, sizeof what, "%s schema %s", s->target, s->schema);
	if (find_version(s, err) < 0)
		goto failed;
	if (mdas_store_check_version(s->version, what, err) != 0) {
		*status = MDAS_SINK_REFUSED;
		goto failed;
	}
	if (mode == MDAS_STORE_WRITE && s->version < MDAS_STORE_SCHEMA_VERSION) {
		/* To create or migrate, one writer at a time (the lock is the
		 * one loads take to commit), then look again: another may
		 * have done it meanwhile. */
		PGresult *r = exec(s, PGRES_TUPLES_OK, "SELECT pg_catalog.pg_advisory_xact_lock("
		    PG_LOCK_CLASS ", pg_catalog.hashtext($1))", 1, lockp, err,
		    "cannot take the schema's lock (another writer holds it)");
		if (r == NULL)
			goto failed;
		PQclear(r);
		if (find_version(s, err) < 0)
			goto failed;
		if (mdas_store_check_version(s->version, what, err) != 0) {
			*status = MDAS_SINK_REFUSED;
			goto failed;
		}
		/* Version 1 is the first: from nothing, create it all.  Later
		 * versions add their migrations here, each in this transaction. */
		if (s->version < MDAS_STORE_SCHEMA_VERSION && create_schema(s, err) < 0)
			goto failed;
		s->version = MDAS_STORE_SCHEMA_VERSION;
	}
	if (mode == MDAS_STORE_WRITE) {
		if (run(s, "COMMIT", err, "cannot commit the schema") < 0)
			goto failed;
		s->in_tx = 0;
	}
	/* READ keeps its read-only transaction for last(). */
	*status = 0;
	return s;

nomem:
	mdas_error_errno(err, ENOMEM, "PostgreSQL");
failed:
	if (s != NULL) {
		if (s->conn != NULL)
			PQfinish(s->conn);
		free(s->sql);
		free(s);
	}
	if (*status != MDAS_SINK_REFUSED)
		*status = MDAS_EXIT_FAILURE;
	return NULL;
}

/* ---- Load ---- */

static int
pg_begin(struct mdas_store *s, struct mdas_error *err)
{
	size_t len = 0;
	PGresult *r;

	if (s->mode != MDAS_STORE_WRITE || s->in_tx)
		return mdas_error_set(err, "%s: begin: not open for a load", s->target);
	s->ncols = 0;
	for (int t = 0; t < MDAS_ST_COUNT; t++)
		if (mdas_store_tables[t].ncols > s->ncols)
			s->ncols = (unsigned)mdas_store_tables[t].ncols;
	memset(s->staged, 0, sizeof s->staged);
	memset(&s->res, 0, sizeof s->res);
	for (int t = 0; t < MDAS_ST_COUNT; t++) {
		struct order_check *o = &s->order[t];
		unsigned char *seen = o->seen;
		memset(o, 0, sizeof *o);
		/* The series table gets a row per change of series, which
		 * may come back: always the DISTINCT way. */
		if (t == MDAS_ST_SERIES) {
			o->may_dup = 1;
			free(seen);
			continue;
		}
		o->seen = seen != NULL ? seen : malloc(PG_SEEN_BITS / 8);
		if (o->seen == NULL)
			return mdas_error_errno(err, ENOMEM, "%s", s->target);
		memset(o->seen, 0, PG_SEEN_BITS / 8);
	}
	s->refused = 0;
	if (s->copybuf == NULL && (s->copybuf = malloc(PG_COPYBUF)) == NULL)
		return mdas_error_errno(err, ENOMEM, "%s", s->target);
	s->copylen = 0;

	if (run(s, "BEGIN", err, "cannot begin the load") < 0)
		return -1;
	s->in_tx = 1;
	if (add(s, &len, "CREATE TEMPORARY TABLE mdas_rows (tbl smallint NOT NULL, "
	    "line bigint NOT NULL") < 0)
		return -1;
	for (unsigned i = 1; i <= s->ncols; i++)
		if (add(s, &len, ", c%u text", i) < 0)
			return -1;
	if (add(s, &len, ") ON COMMIT DROP") < 0 ||
	    run(s, s->sql, err, "cannot create the staging table") < 0)
		return -1;
	r = exec(s, PGRES_COPY_IN, "COPY pg_temp.mdas_rows FROM STDIN", 0, NULL, err,
	    "cannot start COPY");
	if (r == NULL)
		return -1;
	PQclear(r);
	s->in_copy = 1;
	return 0;
}

static int
flush_copy(struct mdas_store *s, struct mdas_error *err)
{
	if (s->copylen == 0)
		return 0;
	if (PQputCopyData(s->conn, s->copybuf, (int)s->copylen) != 1)
		return fail(s, NULL, err, "cannot send rows");
	s->copylen = 0;
	return 0;
}

/* COPY text format: backslash, tab, newline and CR escaped. */
static char *
put_text(char *w, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		switch (c) {
		case '\\': *w++ = '\\'; *w++ = '\\'; break;
		case '\t': *w++ = '\\'; *w++ = 't'; break;
		case '\n': *w++ = '\\'; *w++ = 'n'; break;
		case '\r': *w++ = '\\'; *w++ = 'r'; break;
		default: *w++ = c;
		}
	}
	return w;
}

static uint32_t
fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static void
check_order(struct order_check *o, const struct mdas_store_table_def *d,
    const struct mdas_store_row *row)
{
	char g[sizeof o->group];
	size_t glen = 0, lastk = 0, i;
	long long v;
	char *end;
	uint32_t h;

	if (o->may_dup)
		return;
	for (i = 0; i < d->ncols; i++)
		if (d->cols[i].flags & MDAS_SC_KEY)
			lastk = i;
	for (i = 0; i < lastk; i++) {
		if (!(d->cols[i].flags & MDAS_SC_KEY))
			continue;
		/* Length-prefixed, so that no two groups read the same. */
		size_t n = row->val[i] ? row->len[i] : 0;
		if (glen + n + 24 > sizeof g) {
			o->may_dup = 1;
			return;
		}
		glen += (size_t)snprintf(g + glen, 24, "%zu:", n);
		memcpy(g + glen, row->val[i] ? row->val[i] : "", n);
		glen += n;
	}
	if (row->val[lastk] == NULL) {
		o->may_dup = 1;
		return;
	}
	errno = 0;
	v = strtoll(row->val[lastk], &end, 10);
	if (errno != 0 || *end != '\0' || end == row->val[lastk]) {
		o->may_dup = 1;
		return;
	}
	if (o->have && glen == o->glen && memcmp(g, o->group, glen) == 0) {
		if (v <= o->last)
			o->may_dup = 1;
		o->last = v;
		return;
	}
	h = fnv1a(g, glen) & (PG_SEEN_BITS - 1);
	if (o->seen[h >> 3] & (1u << (h & 7))) {
		o->may_dup = 1;
		return;
	}
	o->seen[h >> 3] |= (unsigned char)(1u << (h & 7));
	memcpy(o->group, g, glen);
	o->glen = glen;
	o->last = v;
	o->have = 1;
}

static int
pg_put(struct mdas_store *s, const struct mdas_store_row *row, struct mdas_error *err)
{
	const struct mdas_store_table_def *d;
	size_t need = 48;
	char *w, *big = NULL;

	if (!s->in_copy)
		return mdas_error_set(err, "%s: put: no load begun", s->target);
	if ((unsigned)row->table >= MDAS_ST_COUNT)
		return mdas_error_set(err, "%s: put: no such table %d", s->target, (int)row->table);
	d = &mdas_store_tables[row->table];
	for (size_t i = 0; i < d->ncols; i++) {
		const char *v = row->val[i];
		size_t n = row->len[i];
		if (v == NULL) {
			need += 3;
			continue;
		}
		/* PostgreSQL text holds neither; say so here, by line. */
		if (memchr(v, '\0', n) != NULL) {
			mdas_error_set(err, "%s: a NUL character cannot be stored in PostgreSQL",
			    d->cols[i].name);
			return MDAS_SINK_REJECTED;
		}
		if (mdas_utf8_invalid_at(v, n) != n) {
			mdas_error_set(err, "%s: not valid UTF-8", d->cols[i].name);
			return MDAS_SINK_REJECTED;
		}
		need += 2 * n + 1;
	}
	need += 3 * (s->ncols - d->ncols);
	if (need > PG_COPYBUF) {
		/* Longer than the buffer (an error record's long message; a
		 * line is at most 16 MiB): sent on its own. */
		if (need > INT_MAX / 2)
			return mdas_error_set(err, "%s: a row of %zu bytes is too long",
			    s->target, need);
		if (flush_copy(s, err) < 0)
			return -1;
		if ((big = malloc(need)) == NULL)
			return mdas_error_errno(err, ENOMEM, "%s", s->target);
		w = big;
	} else {
		if (PG_COPYBUF - s->copylen < need && flush_copy(s, err) < 0)
			return -1;
		w = s->copybuf + s->copylen;
	}
	w += snprintf(w, 40, "%d\t%lu", (int)row->table, row->line);
	for (size_t i = 0; i < s->ncols; i++) {
		*w++ = '\t';
		if (i >= d->ncols || row->val[i] == NULL) {
			memcpy(w, "\\N", 2);
			w += 2;
		} else {
			w = put_text(w, row->val[i], row->len[i]);
		}
	}
	*w++ = '\n';
	if (big != NULL) {
		int sent = PQputCopyData(s->conn, big, (int)(w - big)) == 1;

		free(big);
		if (!sent)
			return fail(s, NULL, err, "cannot send rows");
	} else {
		s->copylen = (size_t)(w - s->copybuf);
	}
	s->staged[row->table]++;
	check_order(&s->order[row->table], d, row);
	return 0;
}

static int
end_copy(struct mdas_store *s, struct mdas_error *err)
{
	PGresult *r;
	int bad = 0;

	if (flush_copy(s, err) < 0)
		return -1;
	if (PQputCopyEnd(s->conn, NULL) != 1)
		return fail(s, NULL, err, "cannot end COPY");
	s->in_copy = 0;
	while ((r = PQgetResult(s->conn)) != NULL) {
		if (!bad && PQresultStatus(r) != PGRES_COMMAND_OK) {
			fail(s, r, err, "COPY of the rows failed");
			bad = 1;
		}
		PQclear(r);
	}
	return bad ? -1 : 0;
}

/* Errors the data of a row can cause (the row is refused, the rest is
 * stored); any other error fails the load. */
static int
row_error(const PGresult *r)
{
	const char *st = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (st == NULL)
		return 0;
	return strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 ||
	    strcmp(st, "21000") == 0;
}

static void
refuse(struct mdas_store *s, unsigned long line, const char *why)
{
	if (s->refused < PG_MAX_REFUSED)
		s->refused_lines[s->refused] = line;
	s->refused++;
	if (s->refused_cb != NULL) {
		char m[MDAS_ERROR_MAX + 40];
		snprintf(m, sizeof m, "PostgreSQL refused the row: %s", why);
		s->refused_cb(s->refused_arg, line, m);
	}
}

/* counts from "SELECT count(*) FILTER (WHERE i), count(*) FILTER (WHERE NOT i)" */
static void
take_counts(const PGresult *r, int col, unsigned long *ins, unsigned long *upd)
{
	*ins += strtoul(PQgetvalue(r, 0, col), NULL, 10);
	*upd += strtoul(PQgetvalue(r, 0, col + 1), NULL, 10);
}

/* The slow way for table t after its one INSERT failed on a row: the
 * winners of the duplicates into pg_temp.mdas_w, then INSERTs of line
 * ranges, halved where they fail, down to the refused rows. */
static int
merge_by_parts(struct mdas_store *s, enum mdas_store_table t, struct mdas_error *err)
{
	struct mdas_store_counts *c = &s->res.table[t];
	unsigned long long lo[80], hi[80];
	unsigned long total, refused0 = s->refused;
	int top = 0;
	size_t len = 0;
	PGresult *r;

	if (run(s, "DROP TABLE IF EXISTS pg_temp.mdas_w", err, "cannot drop a scratch table") < 0)
		return -1;
	if (add(s, &len, "CREATE TEMPORARY TABLE mdas_w ON COMMIT DROP AS ") < 0 ||
	    add_distinct(s, &len, t) < 0)
		return mdas_error_set(err, "%s: statement too long", s->target);
	if (run(s, s->sql, err, "cannot stage the rows again") < 0 ||
	    run(s, "CREATE INDEX ON pg_temp.mdas_w (line)", err, "cannot index the rows") < 0)
		return -1;
	r = exec(s, PGRES_TUPLES_OK, "SELECT count(*), coalesce(min(line), 0), "
	    "coalesce(max(line), -1) FROM pg_temp.mdas_w", 0, NULL, err, "cannot count the rows");
	if (r == NULL)
		return -1;
	total = strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	lo[0] = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	hi[0] = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	if (total == 0)
		return 0;
	len = 0;
	if (add(s, &len, "WITH ins AS (") < 0 ||
	    add_insert(s, &len, t, "pg_temp.mdas_w", "line BETWEEN $1 AND $2 ORDER BY line") < 0 ||
	    add(s, &len, ")") < 0 || add_series_cte(s, &len, t) < 0 ||
	    add(s, &len, " SELECT count(*) FILTER (WHERE i), count(*) FILTER (WHERE NOT i) "
	    "FROM ins") < 0)
		return mdas_error_set(err, "%s: statement too long", s->target);
	r = PQprepare(s->conn, "mdas_part", s->sql, 2, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		fail(s, r, err, "cannot prepare the insert of %s", mdas_store_tables[t].name);
		PQclear(r);
		return -1;
	}
	PQclear(r);

	top = 1;
	while (top > 0) {
		unsigned long long a = lo[top - 1], b = hi[top - 1];
		char sa[24], sb[24];
		const char *p[2] = { sa, sb };
		top--;
		snprintf(sa, sizeof sa, "%llu", a);
		snprintf(sb, sizeof sb, "%llu", b);
		if (run(s, "SAVEPOINT mdas_part", err, "cannot set a savepoint") < 0)
			return -1;
		r = PQexecPrepared(s->conn, "mdas_part", 2, p, NULL, NULL, 0);
		if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK) {
			take_counts(r, 0, &c->inserted, &c->updated);
			PQclear(r);
			if (run(s, "RELEASE SAVEPOINT mdas_part", err, "cannot release a savepoint") < 0)
				return -1;
			continue;
		}
		if (!row_error(r) || PQstatus(s->conn) != CONNECTION_OK) {
			fail(s, r, err, "cannot store the rows of %s", mdas_store_tables[t].name);
			PQclear(r);
			return -1;
		}
		if (a == b) {
			char why[MDAS_ERROR_MAX];
			pg_reason(s->conn, r, why, sizeof why);
			PQclear(r);
			if (s->refused >= PG_MAX_REFUSED)
				return mdas_error_set(err, "%s: the database refused more than %d rows "
				    "of %s (the last: line %llu: %s)", s->target, PG_MAX_REFUSED,
				    mdas_store_tables[t].name, a, why);
			refuse(s, (unsigned long)a, why);
		} else {
			unsigned long long m = a + (b - a) / 2;
			PQclear(r);
			if (top + 2 > 80)
				return mdas_error_set(err, "%s: too many parts", s->target);
			/* The lower half is done first: pushed last. */
			lo[top] = m + 1; hi[top] = b; top++;
			lo[top] = a; hi[top] = m; top++;
		}
		if (run(s, "ROLLBACK TO SAVEPOINT mdas_part", err, "cannot roll back a part") < 0 ||
		    run(s, "RELEASE SAVEPOINT mdas_part", err, "cannot release a savepoint") < 0)
			return -1;
	}
	c->unchanged = total - c->inserted - c->updated - (s->refused - refused0);
	if (run(s, "DEALLOCATE mdas_part", err, "cannot drop a prepared statement") < 0)
		return -1;
	return run(s, "DROP TABLE pg_temp.mdas_w", err, "cannot drop a scratch table");
}

static int
merge(struct mdas_store *s, enum mdas_store_table t, struct mdas_error *err)
{
	struct mdas_store_counts *c = &s->res.table[t];
	int unique = !s->order[t].may_dup, twice;
	const char *st;
	unsigned long total;
	size_t len = 0;
	PGresult *r;

again:
	len = 0;
	if (unique) {
		/* No key twice (check_order): straight from the staging
		 * table, every staged row distinct. */
		char where[32];
		snprintf(where, sizeof where, "tbl = %d", (int)t);
		if (add(s, &len, "WITH ins AS (") < 0 ||
		    add_insert(s, &len, t, "pg_temp.mdas_rows", where) < 0 ||
		    add(s, &len, ")") < 0 || add_series_cte(s, &len, t) < 0 ||
		    add(s, &len, " SELECT count(*) FILTER (WHERE i), count(*) FILTER (WHERE NOT i), "
		    "%lu FROM ins", s->staged[t]) < 0)
			return mdas_error_set(err, "%s: statement too long", s->target);
	} else {
		/* d is read twice, so the server computes it once (without
		 * the MATERIALIZED of PostgreSQL 12, which older servers
		 * would refuse). */
		if (add(s, &len, "WITH d AS (") < 0 || add_distinct(s, &len, t) < 0 ||
		    add(s, &len, "), ins AS (") < 0 || add_insert(s, &len, t, "d", NULL) < 0 ||
		    add(s, &len, ")") < 0 || add_series_cte(s, &len, t) < 0 ||
		    add(s, &len, " SELECT count(*) FILTER (WHERE i), count(*) FILTER (WHERE NOT i), "
		    "(SELECT count(*) FROM d) FROM ins") < 0)
			return mdas_error_set(err, "%s: statement too long", s->target);
	}
	if (run(s, "SAVEPOINT mdas_merge", err, "cannot set a savepoint") < 0)
		return -1;
	r = PQexec(s->conn, s->sql);
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK) {
		take_counts(r, 0, &c->inserted, &c->updated);
		total = strtoul(PQgetvalue(r, 0, 2), NULL, 10);
		c->unchanged = total - c->inserted - c->updated;
		PQclear(r);
		return run(s, "RELEASE SAVEPOINT mdas_merge", err, "cannot release a savepoint");
	}
	if (!row_error(r) || PQstatus(s->conn) != CONNECTION_OK) {
		fail(s, r, err, "cannot store the rows of %s", mdas_store_tables[t].name);
		PQclear(r);
		return -1;
	}
	st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	twice = st != NULL && strcmp(st, "21000") == 0;
	PQclear(r);
	if (run(s, "ROLLBACK TO SAVEPOINT mdas_merge", err, "cannot roll back") < 0 ||
	    run(s, "RELEASE SAVEPOINT mdas_merge", err, "cannot release a savepoint") < 0)
		return -1;
	c->inserted = c->updated = 0;
	if (unique && twice) {
		/* A key twice after all ("cannot affect row a second
		 * time"): the DISTINCT way. */
		unique = 0;
		goto again;
	}
	if (run(s, "SAVEPOINT mdas_merge", err, "cannot set a savepoint") < 0 ||
	    merge_by_parts(s, t, err) < 0)
		return -1;
	return run(s, "RELEASE SAVEPOINT mdas_merge", err, "cannot release a savepoint");
}

/* {"series":{"inserted":N,"updated":N,"unchanged":N},...,"rejected":N} */
static void
counts_json(const struct mdas_store_result *res, char *buf, size_t size)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, size - n, "{");
	for (int t = 0; t < MDAS_ST_COUNT && n < size; t++)
		n += (size_t)snprintf(buf + n, size - n,
		    "\"%s\":{\"inserted\":%lu,\"updated\":%lu,\"unchanged\":%lu},",
		    mdas_store_tables[t].name, res->table[t].inserted,
		    res->table[t].updated, res->table[t].unchanged);
	if (n < size)
		snprintf(buf + n, size - n, "\"rejected\":%lu}", res->rejected);
}

/* The per-series counts: the staged bars by series (distinct keys, the
 * rows the database refused left out), what the INSERTs returned for
 * them, and what the bars table holds of each now. */
static int
report_series(struct mdas_store *s, struct mdas_error *err)
{
	struct mdas_store_series_counts c;
	char *lines;
	const char *p[1];
	size_t len = 0, used = 0, cap = 4 + 21 * (size_t)PG_MAX_REFUSED;
	unsigned long n;
	PGresult *r;
	int i;

	if ((lines = malloc(cap)) == NULL)
		return mdas_error_errno(err, ENOMEM, "%s", s->target);
	used += (size_t)snprintf(lines, cap, "{");
	n = s->refused < PG_MAX_REFUSED ? s->refused : PG_MAX_REFUSED;
	for (unsigned long k = 0; k < n; k++)
		used += (size_t)snprintf(lines + used, cap - used, "%s%lu", k ? "," : "",
		    s->refused_lines[k]);
	snprintf(lines + used, cap - used, "}");
	p[0] = lines;
	if (add(s, &len, "SELECT k.c1, k.c2, k.c3, coalesce(a.ins, 0), coalesce(a.upd, 0), "
	    "k.n, m.f, m.l, m.b FROM (SELECT c1, c2, c3, count(DISTINCT c4) AS n "
	    "FROM pg_temp.mdas_rows WHERE tbl = %d AND line <> ALL ($1::bigint[]) "
	    "GROUP BY 1, 2, 3) AS k LEFT JOIN (SELECT source, symbol, interval, "
	    "sum(ins) AS ins, sum(upd) AS upd FROM pg_temp.mdas_sc GROUP BY 1, 2, 3) AS a "
	    "ON a.source = k.c1 AND a.symbol = k.c2 AND a.interval = k.c3 "
	    "CROSS JOIN LATERAL (SELECT coalesce(min(ts_ms), 0) AS f, "
	    "coalesce(max(ts_ms), 0) AS l, count(*) AS b FROM %s.bars AS b "
	    "WHERE b.source = k.c1 AND b.symbol = k.c2 AND b.interval = k.c3) AS m "
	    "ORDER BY k.c1 COLLATE \"C\", k.c2 COLLATE \"C\", k.c3 COLLATE \"C\"",
	    (int)MDAS_ST_BARS, s->qschema) < 0) {
		free(lines);
		return mdas_error_set(err, "%s: statement too long", s->target);
	}
	r = exec(s, PGRES_TUPLES_OK, s->sql, 1, p, err, "cannot count the bars per series");
	free(lines);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		unsigned long staged = strtoul(PQgetvalue(r, i, 5), NULL, 10);

		memset(&c, 0, sizeof c);
		c.source = PQgetvalue(r, i, 0);
		c.symbol = PQgetvalue(r, i, 1);
		c.interval = PQgetvalue(r, i, 2);
		c.inserted = strtoul(PQgetvalue(r, i, 3), NULL, 10);
		c.updated = strtoul(PQgetvalue(r, i, 4), NULL, 10);
		c.unchanged = staged > c.inserted + c.updated ? staged - c.inserted - c.updated : 0;
		c.first_ts_ms = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		c.last_ts_ms = strtoll(PQgetvalue(r, i, 7), NULL, 10);
		c.bars = strtoll(PQgetvalue(r, i, 8), NULL, 10);
		s->series_cb(s->series_arg, &c);
	}
	PQclear(r);
	return 0;
}

static int
pg_commit(struct mdas_store *s, struct mdas_store_result *res, struct mdas_error *err)
{
	static const enum mdas_store_table order[] = {
		MDAS_ST_SERIES, MDAS_ST_BARS, MDAS_ST_QUOTES, MDAS_ST_EVENTS, MDAS_ST_ERRORS
	};
	char counts[1024];
	const char *p[3];
	const char *lockp[1] = { s->schema };
	size_t len = 0;
	PGresult *r;

	if (!s->in_copy)
		return mdas_error_set(err, "%s: commit: no load begun", s->target);
	if (end_copy(s, err) < 0)
		return -1;
	/* One load into a schema at a time: the rows' locks are then never
	 * taken in two orders, and the counts are this load's. */
	r = exec(s, PGRES_TUPLES_OK, "SELECT pg_catalog.pg_advisory_xact_lock(" PG_LOCK_CLASS
	    ", pg_catalog.hashtext($1))", 1, lockp, err,
	    "cannot take the schema's lock (another writer holds it)");
	if (r == NULL)
		return -1;
	PQclear(r);
	if (run(s, "SET LOCAL work_mem = '64MB'", err, "cannot set work_mem") < 0)
		return -1;
	s->want_series = s->series_cb != NULL && s->staged[MDAS_ST_BARS] > 0;
	if (s->want_series && run(s, "CREATE TEMPORARY TABLE mdas_sc (source text, symbol text, "
	    "interval text, ins bigint, upd bigint) ON COMMIT DROP", err,
	    "cannot create a scratch table") < 0)
		return -1;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (s->staged[order[i]] > 0 && merge(s, order[i], err) < 0)
			return -1;
	s->res.rejected = res->rejected + s->refused;
	if (s->want_series && report_series(s, err) < 0)
		return -1;

	counts_json(&s->res, counts, sizeof counts);
	p[0] = s->run_id;
	p[1] = s->have_started ? s->started_at : NULL;
	p[2] = counts;
	if (add(s, &len, "INSERT INTO %s.runs AS r (run_id, started_at, finished_at, status, "
	    "counts) VALUES ($1, coalesce($2::timestamptz, now()), clock_timestamp(), 'stored', "
	    "$3::jsonb) ON CONFLICT (run_id) DO UPDATE SET started_at = excluded.started_at, "
	    "finished_at = excluded.finished_at, status = excluded.status, "
	    "counts = excluded.counts", s->qschema) < 0)
		return -1;
	r = exec(s, PGRES_COMMAND_OK, s->sql, 3, p, err, "cannot write the runs row");
	if (r == NULL)
		return -1;
	PQclear(r);
	r = PQexec(s->conn, "COMMIT");
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (PQstatus(s->conn) == CONNECTION_BAD)
			fail(s, r, err, "COMMIT (whether the run is stored is not known)");
		else
			fail(s, r, err, "COMMIT");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	s->in_tx = 0;
	if (res != NULL)
		*res = s->res;
	return 0;
}

/* ---- Reading ---- */

static int
pg_last(struct mdas_store *s, FILE *out, struct mdas_error *err)
{
	size_t len = 0;
	PGresult *r;

	if (s->version == 0)
		return 0;     /* no schema: nothing stored */
	if (add(s, &len, "SELECT source, symbol, interval, min(ts_ms), max(ts_ms), count(*) "
	    "FROM %s.bars GROUP BY source, symbol, interval "
	    "ORDER BY source COLLATE \"C\", symbol COLLATE \"C\", interval COLLATE \"C\"",
	    s->qschema) < 0)
		return -1;
	r = exec(s, PGRES_TUPLES_OK, s->sql, 0, NULL, err, "cannot read the series");
	if (r == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		if (mdas_store_print_last(out, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		    PQgetvalue(r, i, 2), strtoll(PQgetvalue(r, i, 3), NULL, 10),
		    strtoll(PQgetvalue(r, i, 4), NULL, 10),
		    strtoll(PQgetvalue(r, i, 5), NULL, 10)) < 0) {
			PQclear(r);
			return mdas_error_errno(err, errno, "standard output");
		}
	}
	PQclear(r);
	return 0;
}

static int
pg_gaps(struct mdas_store *s, FILE *out, struct mdas_error *err)
{
	struct mdas_store_gaps g;
	char prefix[80];
	PGresult *r;
	int i;

	if (s->version == 0)
		return 0;     /* no schema: nothing stored */
	snprintf(prefix, sizeof prefix, "%s.", s->schema);
	if (mdas_store_sql_gaps(MDAS_DIALECT_PG, prefix, s->sql, PG_SQLMAX) < 0)
		return mdas_error_set(err, "%s: the gap query is too long (internal)", s->target);
	r = exec(s, PGRES_TUPLES_OK, s->sql, 0, NULL, err, "cannot look for gaps");
	if (r == NULL)
		return -1;
	memset(&g, 0, sizeof g);
	for (i = 0; i < PQntuples(r); i++) {
		if (mdas_store_gaps_row(&g, out, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		    PQgetvalue(r, i, 2), strtoll(PQgetvalue(r, i, 3), NULL, 10),
		    strtoll(PQgetvalue(r, i, 4), NULL, 10), strtoll(PQgetvalue(r, i, 5), NULL, 10),
		    strtoll(PQgetvalue(r, i, 6), NULL, 10),
		    strtoll(PQgetvalue(r, i, 7), NULL, 10)) < 0) {
			PQclear(r);
			return mdas_error_errno(err, errno, "standard output");
		}
	}
	PQclear(r);
	if (mdas_store_gaps_end(&g, out) < 0)
		return mdas_error_errno(err, errno, "standard output");
	return 0;
}

static int
pg_set_manifest(struct mdas_store *s, const char *run_id, const char *manifest_json,
    struct mdas_error *err)
{
	const char *p[2] = { run_id, manifest_json };
	int own = !s->in_tx;
	size_t len = 0;
	PGresult *r;

	if (s->mode != MDAS_STORE_WRITE || s->in_copy)
		return mdas_error_set(err, "%s: manifest: not open for writing", s->target);
	if (own) {
		if (run(s, "BEGIN", err, "cannot begin") < 0)
			return -1;
		s->in_tx = 1;
	}
	if (add(s, &len, "INSERT INTO %s.runs AS r (run_id, started_at, finished_at, status, "
	    "manifest) SELECT $1, (m->>'started_at')::timestamptz, "
	    "(m->>'finished_at')::timestamptz, coalesce(m->>'status', 'published'), m "
	    "FROM (SELECT $2::jsonb AS m) AS x "
	    "ON CONFLICT (run_id) DO UPDATE SET manifest = excluded.manifest, "
	    "started_at = coalesce(r.started_at, excluded.started_at), "
	    "finished_at = coalesce(excluded.finished_at, r.finished_at), "
	    "status = excluded.status", s->qschema) < 0)
		return -1;
	r = exec(s, PGRES_COMMAND_OK, s->sql, 2, p, err, "cannot store the manifest");
	if (r == NULL)
		return -1;
	PQclear(r);
	if (own) {
		if (run(s, "COMMIT", err, "cannot commit the manifest") < 0)
			return -1;
		s->in_tx = 0;
	}
	return 0;
}

static void
pg_close(struct mdas_store *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL) {
		if (s->in_copy && PQstatus(s->conn) == CONNECTION_OK) {
			PGresult *r;
			PQputCopyEnd(s->conn, "load abandoned");
			while ((r = PQgetResult(s->conn)) != NULL)
				PQclear(r);
		}
		/* Disconnecting rolls back whatever was not committed. */
		PQfinish(s->conn);
	}
	for (int t = 0; t < MDAS_ST_COUNT; t++)
		free(s->order[t].seen);
	free(s->copybuf);
	free(s->sql);
	free(s);
}

static const char *
pg_describe(const struct mdas_store *s)
{
	return strncmp(s->target, "PostgreSQL ", 11) == 0 ? s->target + 11 : s->target;
}

const struct mdas_store_engine mdas_store_pg = {
	.name = "postgresql",
	.open = pg_open,
	.begin = pg_begin,
	.put = pg_put,
	.commit = pg_commit,
	.last = pg_last,
	.gaps = pg_gaps,
	.set_manifest = pg_set_manifest,
	.close = pg_close,
	.describe = pg_describe,
};
