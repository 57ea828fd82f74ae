/* storesink.c: mdas-export-sqlite and mdas-export-pg as one exporter
 * (sink.h) over an engine (store.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "jsonw.h"
#include "log.h"
#include "runid.h"
#include "settings.h"
#include "storesink.h"
#include "timeutil.h"
#include "utf8.h"

/* One program, one engine. */
static const struct mdas_store_engine *engine;

/* A manifest is a few kilobytes; this bounds what --manifest reads. */
#define MANIFEST_MAX (16 * 1024 * 1024)

enum {
	OPT_DB = 0x200, OPT_DSN, OPT_SCHEMA, OPT_LAST, OPT_INIT, OPT_STATS,
	OPT_MANIFEST, OPT_GAPS,
};

struct store_sink {
	const char *where;           /* --db / --dsn */
	const char *schema;          /* --schema */
	const char *stats_path;      /* --stats FILE */
	const char *manifest_path;   /* --manifest FILE */
	int last, init, gaps;
	struct mdas_store_target target;
	char started_at[MDAS_ISO_MAX];
	char shown[1024];            /* the target as messages name it */
	struct mdas_store *store;
	struct mdas_store_map *map;
	struct mdas_store_result res;
	int committed;
	int tried;                   /* open() was called: --stats says how it went */
	int stats_written;           /* --stats done (by finish(), after the commit) */
	unsigned long refused_at_commit; /* rows the database refused at commit */
	char reason[MDAS_ERROR_MAX]; /* the first fatal failure, for --stats */
	struct series_entry *series; /* per bar series, from commit() */
	size_t nseries, capseries;
	int series_oom;
};

struct series_entry {
	char *key;                   /* source NUL symbol NUL interval NUL */
	struct mdas_store_series_counts c;
};

static const char *const table_names[MDAS_ST_COUNT] = {
	"series", "bars", "quotes", "events", "errors",
};

static int
is_pg(void)
{
	return strcmp(engine->name, "postgresql") == 0;
}

static int
store_option(void *st, int c, const char *arg)
{
	struct store_sink *s = st;

	switch (c) {
	case OPT_DB: case OPT_DSN: s->where = arg; break;
	case OPT_SCHEMA: s->schema = arg; break;
	case OPT_LAST: s->last = 1; break;
	case OPT_GAPS: s->gaps = 1; break;
	case OPT_INIT: s->init = 1; break;
	case OPT_STATS: s->stats_path = arg; break;
	case OPT_MANIFEST: s->manifest_path = arg; break;
	default: return -1;
	}
	if (s->last + s->gaps + s->init + (s->manifest_path != NULL) > 1) {
		mdas_errorx("--last, --gaps, --init and --manifest exclude each other");
		return MDAS_EXIT_USAGE;
	}
	return MDAS_EXIT_OK;
}

static int
store_needs_run_id(void *st)
{
	struct store_sink *s = st;

	return !(s->last || s->gaps || s->init || s->manifest_path != NULL);
}

/* The target as messages show it: a path, or "PostgreSQL schema S" (a
 * conninfo may hold a password, so it is never shown). */
static void
describe(struct store_sink *s)
{
	if (is_pg())
		snprintf(s->shown, sizeof s->shown, "schema %s", s->target.schema);
	else
		snprintf(s->shown, sizeof s->shown, "%s", s->target.where);
}

/* A row the database refused at commit (store-pg's bulk load): worded
 * like the rows refused before the database saw them. */
static void
refused(void *arg, unsigned long line, const char *reason)
{
	struct store_sink *s = arg;

	mdas_errorx("<stdin>:%lu: %s", line, reason);
	s->refused_at_commit++;
}

/* One bar series of the load, as commit() reports it: copied, for
 * write_stats().  Out of memory: the stats say the breakdown is missing. */
static void
series_seen(void *arg, const struct mdas_store_series_counts *c)
{
	struct store_sink *s = arg;
	struct series_entry *e;
	size_t a = strlen(c->source) + 1, b = strlen(c->symbol) + 1, d = strlen(c->interval) + 1;
	char *key;

	if (s->series_oom)
		return;
	if (s->nseries == s->capseries) {
		size_t cap = s->capseries ? 2 * s->capseries : 64;

		if ((e = realloc(s->series, cap * sizeof *e)) == NULL) {
			s->series_oom = 1;
			return;
		}
		s->series = e;
		s->capseries = cap;
	}
	if ((key = malloc(a + b + d)) == NULL) {
		s->series_oom = 1;
		return;
	}
	memcpy(key, c->source, a);
	memcpy(key + a, c->symbol, b);
	memcpy(key + a + b, c->interval, d);
	e = &s->series[s->nseries++];
	e->key = key;
	e->c = *c;
	e->c.source = key;
	e->c.symbol = key + a;
	e->c.interval = key + a + b;
}

static void
series_free(struct store_sink *s)
{
	for (size_t i = 0; i < s->nseries; i++)
		free(s->series[i].key);
	free(s->series);
	s->series = NULL;
	s->nseries = s->capseries = 0;
}

/* Fills the target from the options and the settings.  Returns 0, or
 * MDAS_EXIT_USAGE after saying why. */
static int
resolve_target(struct store_sink *s, struct mdas_export *x)
{
	struct mdas_settings *set = mdas_export_settings(x);
	const char *run_id = mdas_export_run_id(x);
	double busy;

	s->target.where = s->where;
	if (s->target.where == NULL)
		s->target.where = mdas_settings_string(set, is_pg() ? "store.dsn" : "store.path");
	if (s->target.where == NULL && !is_pg())
		s->target.where = "data/mdas.sqlite";
	if (!is_pg() && *s->target.where == '\0') {
		mdas_errorx("--db: empty file name");
		return MDAS_EXIT_USAGE;
	}
	if (is_pg()) {
		s->target.schema = s->schema != NULL ? s->schema :
		    mdas_settings_string(set, "store.schema");
		if (s->target.schema == NULL)
			s->target.schema = "mdas";
		if (!mdas_store_identifier_ok(s->target.schema)) {
			mdas_errorx("schema name '%s': expected a plain lower-case identifier "
			    "([a-z_][a-z0-9_]*, at most 63 characters)", s->target.schema);
			return MDAS_EXIT_USAGE;
		}
	}
	busy = mdas_settings_number(set, "store.busy_timeout_seconds");
	s->target.busy_timeout_s = busy > 0 ? busy : 30;
	s->target.run_id = run_id != NULL && *run_id != '\0' ? run_id : NULL;
	mdas_format_iso_ms(mdas_now_ms(), s->started_at);
	s->target.started_at = s->started_at;
	s->target.refused = refused;
	s->target.refused_arg = s;
	s->target.series = series_seen;
	s->target.series_arg = s;
	describe(s);
	return 0;
}

static int
open_store(struct store_sink *s, enum mdas_store_mode mode, struct mdas_error *err)
{
	int status = MDAS_EXIT_FAILURE;

	s->store = engine->open(&s->target, mode, &status, err);
	if (s->store != NULL) {
		if (engine->describe != NULL)
			snprintf(s->shown, sizeof s->shown, "%s schema=%s",
			    engine->describe(s->store), s->target.schema);
		return 0;
	}
	return status == MDAS_SINK_REFUSED ? MDAS_SINK_REFUSED : -1;
}

/* True when v holds a number JSON cannot write (json-c reads NaN and
 * Infinity even when strict) or a "\u0000" (which jsonb refuses). */
static int
unstorable(struct json_object *v)
{
	size_t i, n;

	switch (json_object_get_type(v)) {
	case json_type_double:
		return !isfinite(json_object_get_double(v));
	case json_type_string:
		return memchr(json_object_get_string(v), '\0',
		    (size_t)json_object_get_string_len(v)) != NULL;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (unstorable(json_object_array_get_idx(v, i)))
				return 1;
		return 0;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (unstorable(val))
				return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/* The JSON value that is the whole of text[0..len) (strict RFC 8259,
 * white space around it), or NULL: the manifest column holds JSON in
 * both engines, and PostgreSQL's jsonb would refuse the rest. */
static struct json_object *
parse_strict(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc;
	size_t end;

	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	doc = json_tokener_parse_ex(tok, text, (int)len + 1);
	if (doc != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		for (end = json_tokener_get_parse_end(tok); end < len; end++)
			if (strchr(" \t\r\n", text[end]) == NULL)
				break;
		if (end >= len && !unstorable(doc)) {
			json_tokener_free(tok);
			return doc;
		}
	}
	json_object_put(doc);
	json_tokener_free(tok);
	return NULL;
}

/* Reads the manifest of a published run: its text and run_id. */
static char *
read_manifest(const char *path, char *run_id, size_t n, struct mdas_error *err)
{
	struct json_object *doc = NULL, *id;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int c;

	if ((fp = fopen(path, "r")) == NULL) {
		mdas_error_errno(err, errno, "%s", path);
		return NULL;
	}
	if ((text = malloc(MANIFEST_MAX + 1)) == NULL) {
		fclose(fp);
		mdas_error_errno(err, ENOMEM, "%s", path);
		return NULL;
	}
	while (len <= MANIFEST_MAX && (c = getc(fp)) != EOF)
		text[len++] = (char)c;
	text[len < MANIFEST_MAX ? len : MANIFEST_MAX] = '\0';
	if (ferror(fp) || len > MANIFEST_MAX)
		mdas_error_set(err, "%s: %s", path, ferror(fp) ? strerror(EIO) :
		    "larger than 16 MiB: not a manifest");
	else if (memchr(text, '\0', len) != NULL ||
	    mdas_utf8_invalid_at(text, len) != len ||
	    (doc = parse_strict(text, len)) == NULL ||
	    !json_object_is_type(doc, json_type_object))
		mdas_error_set(err, "%s: not a JSON object", path);
	else if (!json_object_object_get_ex(doc, "run_id", &id) ||
	    !json_object_is_type(id, json_type_string))
		mdas_error_set(err, "%s: no run_id: not a manifest", path);
	else if (!mdas_runid_valid(json_object_get_string(id)) ||
	    strlen(json_object_get_string(id)) >= n)
		mdas_error_set(err, "%s: run_id: not a valid run ID (1-64 characters "
		    "of A-Za-z0-9_-)", path);
	else {
		snprintf(run_id, n, "%s", json_object_get_string(id));
		json_object_put(doc);
		fclose(fp);
		return text;
	}
	json_object_put(doc);
	fclose(fp);
	free(text);
	return NULL;
}

/* --last, --init, --manifest: instead of reading the stream. */
static int
store_instead(void *st, struct mdas_export *x)
{
	struct store_sink *s = st;
	struct mdas_error err;
	char run_id[128], *text = NULL;
	int rc;

	if (store_needs_run_id(s))
		return -1;
	if ((rc = resolve_target(s, x)) != 0)
		return rc;
	if (s->manifest_path != NULL &&
	    (text = read_manifest(s->manifest_path, run_id, sizeof run_id, &err)) == NULL) {
		mdas_errorx("%s", err.msg);
		return MDAS_EXIT_FAILURE;
	}
	/* The row is the manifest's run; a run ID given (--run-id,
	 * MDAS_RUN_ID) must name the same, or the manifest would land in
	 * another run's row than the one asked for. */
	if (text != NULL && s->target.run_id != NULL && strcmp(s->target.run_id, run_id) != 0) {
		mdas_errorx("%s: the manifest of run %s is not run %s (--run-id or MDAS_RUN_ID)",
		    s->manifest_path, run_id, s->target.run_id);
		free(text);
		return MDAS_EXIT_USAGE;
	}
	rc = open_store(s, s->last || s->gaps ? MDAS_STORE_READ : MDAS_STORE_WRITE, &err);
	if (rc == 0) {
		if (s->last)
			rc = engine->last(s->store, stdout, &err);
		else if (s->gaps)
			rc = engine->gaps(s->store, stdout, &err);
		else if (text != NULL)
			rc = engine->set_manifest(s->store, run_id, text, &err);
		if (rc == 0 && (s->last || s->gaps) && fflush(stdout) != 0)
			rc = mdas_error_errno(&err, errno, "standard output");
		if (rc == 0 && s->init)
			mdas_info("%s: schema version %d ready", s->shown, MDAS_STORE_SCHEMA_VERSION);
	}
	free(text);
	engine->close(s->store);
	s->store = NULL;
	if (rc == 0)
		return MDAS_EXIT_OK;
	mdas_errorx("%s", err.msg);
	return rc == MDAS_SINK_REFUSED ? MDAS_EXIT_USAGE : MDAS_EXIT_FAILURE;
}

static void
keep_reason(struct store_sink *s, const struct mdas_error *err)
{
	if (s->reason[0] == '\0')
		snprintf(s->reason, sizeof s->reason, "%s", err->msg);
}

static int
store_open(void *st, struct mdas_export *x, struct mdas_error *err)
{
	struct store_sink *s = st;
	int rc;

	s->tried = 1;
	if ((rc = resolve_target(s, x)) != 0) {
		mdas_error_set(err, "%s", "configuration error");
		keep_reason(s, err);
		return MDAS_SINK_REFUSED;
	}
	if ((s->map = mdas_store_map_new(s->target.run_id)) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", s->shown);
		keep_reason(s, err);
		return -1;
	}
	if ((rc = open_store(s, MDAS_STORE_WRITE, err)) != 0 ||
	    (rc = engine->begin(s->store, err)) != 0) {
		keep_reason(s, err);
		return rc;
	}
	return 0;
}

static int
store_put(void *st, enum mdas_export_kind k, const struct mdas_export_rec *rec,
    unsigned long line, struct mdas_error *err)
{
	struct store_sink *s = st;
	const struct mdas_store_row *rows[2];
	int n, i, rc;

	(void)k;
	if ((n = mdas_store_map_rec(s->map, rec, line, rows, err)) < 0) {
		s->res.rejected++;
		return MDAS_SINK_REJECTED;
	}
	/* The series row first: it is what the data row belongs to. */
	for (i = n - 1; i >= 0; i--) {
		if ((rc = engine->put(s->store, rows[i], err)) == MDAS_SINK_REJECTED) {
			s->res.rejected++;
			return rc;
		}
		if (rc != 0) {
			keep_reason(s, err);
			return -1;
		}
	}
	return 0;
}

/* The load's counts as JSON, for --stats and the pipeline's manifest.
 * Returns 0, or -1 with err ("--stats: PATH: reason"). */
static int
write_stats(struct store_sink *s, struct mdas_error *err)
{
	struct mdas_jsonw *w;
	struct mdas_error werr;
	const char *buf;
	size_t len, t;
	int rc = 0;

	s->stats_written = 1;
	if (s->stats_path == NULL)
		return 0;
	if ((w = mdas_jsonw_new()) == NULL)
		return mdas_error_errno(err, ENOMEM, "--stats: %s", s->stats_path);
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "engine");
	mdas_jsonw_string(w, engine->name);
	mdas_jsonw_key(w, "database");
	if (s->shown[0] != '\0')
		mdas_jsonw_string(w, s->shown);
	else
		mdas_jsonw_null(w);
	mdas_jsonw_key(w, "status");
	mdas_jsonw_string(w, s->committed ? "stored" : "failed");
	mdas_jsonw_key(w, "reason");
	if (s->committed)
		mdas_jsonw_null(w);
	else
		mdas_jsonw_string(w, s->reason[0] != '\0' ? s->reason :
		    "the load did not finish; nothing of this run was stored");
	mdas_jsonw_key(w, "tables");
	mdas_jsonw_begin_object(w);
	for (t = 0; t < MDAS_ST_COUNT; t++) {
		const struct mdas_store_counts *c = &s->res.table[t];

		mdas_jsonw_key(w, table_names[t]);
		mdas_jsonw_begin_object(w);
		mdas_jsonw_key(w, "inserted");
		mdas_jsonw_int(w, s->committed ? (int64_t)c->inserted : 0);
		mdas_jsonw_key(w, "updated");
		mdas_jsonw_int(w, s->committed ? (int64_t)c->updated : 0);
		mdas_jsonw_key(w, "unchanged");
		mdas_jsonw_int(w, s->committed ? (int64_t)c->unchanged : 0);
		mdas_jsonw_end_object(w);
	}
	mdas_jsonw_end_object(w);
	mdas_jsonw_key(w, "rejected");
	mdas_jsonw_int(w, (int64_t)s->res.rejected);
	/* Per bar series: this load's rows, and the series as stored after
	 * it (null when the load failed or the breakdown was lost). */
	mdas_jsonw_key(w, "series");
	if (!s->committed || s->series_oom) {
		mdas_jsonw_null(w);
	} else {
		mdas_jsonw_begin_array(w);
		for (t = 0; t < s->nseries; t++) {
			const struct mdas_store_series_counts *c = &s->series[t].c;

			mdas_jsonw_begin_object(w);
			mdas_jsonw_key(w, "source");
			mdas_jsonw_string(w, c->source);
			mdas_jsonw_key(w, "symbol");
			mdas_jsonw_string(w, c->symbol);
			mdas_jsonw_key(w, "interval");
			mdas_jsonw_string(w, c->interval);
			mdas_jsonw_key(w, "inserted");
			mdas_jsonw_int(w, (int64_t)c->inserted);
			mdas_jsonw_key(w, "updated");
			mdas_jsonw_int(w, (int64_t)c->updated);
			mdas_jsonw_key(w, "unchanged");
			mdas_jsonw_int(w, (int64_t)c->unchanged);
			mdas_jsonw_key(w, "first_ts_ms");
			mdas_jsonw_int(w, c->first_ts_ms);
			mdas_jsonw_key(w, "last_ts_ms");
			mdas_jsonw_int(w, c->last_ts_ms);
			mdas_jsonw_key(w, "bars");
			mdas_jsonw_int(w, c->bars);
			mdas_jsonw_end_object(w);
		}
		mdas_jsonw_end_array(w);
	}
	mdas_jsonw_end_object(w);
	buf = mdas_jsonw_buffer(w, &len);
	if (mdas_write_file_atomic(s->stats_path, buf, len, &werr) != 0)
		rc = mdas_error_set(err, "--stats: %s", werr.msg);
	mdas_jsonw_free(w);
	return rc;
}

static int
store_finish(void *st, struct mdas_export *x, const struct mdas_export_reader *r,
    struct mdas_error *err)
{
	struct store_sink *s = st;
	unsigned long rejected = s->res.rejected;
	const struct mdas_store_counts *b, *q;

	(void)x;
	(void)r;
	/* res.rejected goes in as what we refused and comes back as the
	 * total, with what the database refused at commit (store.h). */
	series_free(s);
	s->series_oom = 0;
	if (engine->commit(s->store, &s->res, err) != 0) {
		s->res.rejected = rejected;
		keep_reason(s, err);
		return -1;
	}
	s->committed = 1;
	b = &s->res.table[MDAS_ST_BARS];
	q = &s->res.table[MDAS_ST_QUOTES];
	mdas_info("%s: run %s stored: bars %lu new, %lu updated, %lu unchanged; "
	    "quotes %lu new, %lu updated, %lu unchanged; %lu records not stored",
	    s->shown, s->target.run_id, b->inserted, b->updated, b->unchanged,
	    q->inserted, q->updated, q->unchanged, s->res.rejected);
	/* Here rather than in done(), so that a --stats that cannot be
	 * written is this program's failure (exit 1), not a message only:
	 * mdas-pipeline reads the file. */
	if (write_stats(s, err) != 0)
		return -1;
	return s->refused_at_commit > 0 ? MDAS_SINK_REJECTED : 0;
}

static void
store_done(void *st)
{
	struct store_sink *s = st;
	struct mdas_error err;

	if (engine->close != NULL)
		engine->close(s->store);
	s->store = NULL;
	if (s->tried && !s->stats_written && write_stats(s, &err) != 0)
		mdas_errorx("%s", err.msg);
	series_free(s);
	mdas_store_map_free(s->map);
	s->map = NULL;
}

static const char sqlite_help[] =
    "Store the unified records read on standard input in an SQLite database\n"
    "(mdas-store(7)): bars, quotes, dividends and splits are upserted, so\n"
    "history accumulates across runs; error records are kept per run.\n\n"
    "      --db PATH          the database (default: store.path, data/mdas.sqlite)\n";
static const char pg_help[] =
    "Store the unified records read on standard input in PostgreSQL\n"
    "(mdas-store(7)): bars, quotes, dividends and splits are upserted, so\n"
    "history accumulates across runs; error records are kept per run.\n\n"
    "      --dsn CONNINFO     libpq connection string or URI (default: store.dsn,\n"
    "                         else the PG* environment variables)\n"
    "      --schema NAME      schema of the tables (default: store.schema, mdas)\n";
static const char common_help[] =
    "      --last             print one JSON line per stored bar series (source,\n"
    "                         symbol, interval, first_ts_ms, last_ts_ms, bars) and exit\n"
    "      --gaps             print one JSON line per gap between stored bars of\n"
    "                         the around-the-clock series (mdas-store(7)) and exit\n"
    "      --init             create or migrate the schema and exit\n"
    "      --stats FILE       write the load's row counts to FILE as JSON\n"
    "      --manifest FILE    store a published run's manifest in its runs row and exit\n";

int
mdas_store_main(const struct mdas_store_engine *e, int argc, char **argv)
{
	static const struct option sqlite_opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "last", no_argument, NULL, OPT_LAST },
		{ "gaps", no_argument, NULL, OPT_GAPS },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "stats", required_argument, NULL, OPT_STATS },
		{ "manifest", required_argument, NULL, OPT_MANIFEST },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option pg_opts[] = {
		{ "dsn", required_argument, NULL, OPT_DSN },
		{ "schema", required_argument, NULL, OPT_SCHEMA },
		{ "last", no_argument, NULL, OPT_LAST },
		{ "gaps", no_argument, NULL, OPT_GAPS },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "stats", required_argument, NULL, OPT_STATS },
		{ "manifest", required_argument, NULL, OPT_MANIFEST },
		{ NULL, 0, NULL, 0 },
	};
	static char help[2048];
	struct mdas_sink sink = {
		.help = help,
		.shortopts = "",
		.state_size = sizeof(struct store_sink),
		.option = store_option,
		.needs_run_id = store_needs_run_id,
		.instead = store_instead,
		.open = store_open,
		.put = store_put,
		.finish = store_finish,
		.done = store_done,
	};

	engine = e;
	snprintf(help, sizeof help, "%s%s", is_pg() ? pg_help : sqlite_help, common_help);
	sink.longopts = is_pg() ? pg_opts : sqlite_opts;
	return mdas_sink_main(&sink, argc, argv);
}
