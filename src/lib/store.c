/* store.c: the store's tables, how a record becomes rows, and the SQL
 * both engines share (store.h). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "store.h"
#include "timeutil.h"

#define T MDAS_SQL_TEXT
#define I MDAS_SQL_BIGINT
#define N MDAS_SQL_NUMERIC
#define D MDAS_SQL_DOUBLE
#define TM MDAS_SQL_TIME
#define DT MDAS_SQL_DATE
#define B MDAS_SQL_BOOL
#define K (MDAS_SC_KEY | MDAS_SC_NOTNULL)
#define V MDAS_SC_DATA

/* Column names equal the record's field names, except events.kind
 * (the record's "type") and errors.seq (the input line). */
static const struct mdas_store_col series_cols[] = {
	{ "source", T, K }, { "symbol", T, K }, { "interval", T, K },
	{ "asset_class", T, V }, { "currency", T, V }, { "exchange", T, V },
	{ "exchange_tz", T, V },
	{ "run_id", T, 0 }, { "fetched_at", TM, 0 },
};

static const struct mdas_store_col bar_cols[] = {
	{ "source", T, K }, { "symbol", T, K }, { "interval", T, K }, { "ts_ms", I, K },
	{ "ts", TM, MDAS_SC_NOTNULL | V }, { "session_date", DT, V },
	{ "open", N, V }, { "high", N, V }, { "low", N, V }, { "close", N, V },
	{ "adj_close", N, V }, { "volume", N, V }, { "quote_volume", N, V },
	{ "trades", I, V }, { "prev_close", N, V },
	{ "change", D, V }, { "change_pct", D, V }, { "log_return", D, V },
	{ "range_vol", D, V }, { "rolling_vol", D, V },
	{ "imputed", T, V },
	{ "run_id", T, 0 }, { "fetched_at", TM, 0 },
};

static const struct mdas_store_col quote_cols[] = {
	{ "source", T, K }, { "symbol", T, K }, { "ts_ms", I, K },
	{ "ts", TM, MDAS_SC_NOTNULL | V }, { "session_date", DT, V },
	{ "open", N, V }, { "high", N, V }, { "low", N, V }, { "close", N, V },
	{ "volume", N, V }, { "quote_volume", N, V }, { "trades", I, V },
	{ "bid", N, V }, { "ask", N, V }, { "bid_size", N, V }, { "ask_size", N, V },
	{ "prev_close", N, V },
	{ "mid", D, V }, { "spread", D, V }, { "spread_bps", D, V },
	{ "change", D, V }, { "change_pct", D, V }, { "range_vol", D, V },
	{ "run_id", T, 0 }, { "fetched_at", TM, 0 },
};

static const struct mdas_store_col event_cols[] = {
	{ "source", T, K }, { "symbol", T, K }, { "kind", T, K }, { "ts_ms", I, K },
	{ "ts", TM, MDAS_SC_NOTNULL | V }, { "session_date", DT, V },
	{ "amount", N, V }, { "numerator", N, V }, { "denominator", N, V },
	{ "currency", T, V },
	{ "run_id", T, 0 }, { "fetched_at", TM, 0 },
};

/* Error records are not validated upstream, so every column but the key
 * is plain text or a number only when the record has one. */
static const struct mdas_store_col error_cols[] = {
	{ "run_id", T, K }, { "seq", I, K },
	{ "stage", T, V }, { "source", T, V }, { "endpoint", T, V },
	{ "symbol", T, V }, { "input", T, V }, { "http_status", I, V },
	{ "code", T, V }, { "message", T, V }, { "retryable", B, V },
	{ "attempts", I, V }, { "fetched_at", T, V },
};

#undef T
#undef I
#undef N
#undef D
#undef TM
#undef DT
#undef B
#undef K
#undef V

static const char *const bar_checks[] = {
	"high >= low", "volume >= 0", "quote_volume >= 0", "trades >= 0", "ts_ms >= 0", NULL,
};
static const char *const quote_checks[] = {
	"high >= low", "volume >= 0", "bid_size >= 0", "ask_size >= 0", "ts_ms >= 0", NULL,
};
static const char *const event_checks[] = {
	"kind IN ('dividend', 'split')", "numerator > 0", "denominator > 0", "ts_ms >= 0", NULL,
};
static const char *const no_checks[] = { NULL };

#define TABLE(name, cols, checks) \
	{ name, cols, sizeof(cols) / sizeof(cols[0]), checks }

const struct mdas_store_table_def mdas_store_tables[MDAS_ST_COUNT] = {
	[MDAS_ST_SERIES] = TABLE("series", series_cols, no_checks),
	[MDAS_ST_BARS] = TABLE("bars", bar_cols, bar_checks),
	[MDAS_ST_QUOTES] = TABLE("quotes", quote_cols, quote_checks),
	[MDAS_ST_EVENTS] = TABLE("events", event_cols, event_checks),
	[MDAS_ST_ERRORS] = TABLE("errors", error_cols, no_checks),
};

/* ---- Records to rows ---- */

struct mdas_store_map {
	char *run_id;
	struct mdas_store_row data;
	struct mdas_store_row series;
	/* The previous series row's values, NUL-separated: a series row is
	 * given only when it changes (streams come grouped by series). */
	char last_series[MDAS_STORE_ROWBUF];
	size_t last_series_len;
};

struct mdas_store_map *
mdas_store_map_new(const char *run_id)
{
	struct mdas_store_map *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	if (run_id != NULL && (m->run_id = strdup(run_id)) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
mdas_store_map_free(struct mdas_store_map *m)
{
	if (m == NULL)
		return;
	free(m->run_id);
	free(m);
}

static void
row_reset(struct mdas_store_row *row, enum mdas_store_table t, unsigned long line)
{
	row->table = t;
	row->line = line;
	row->used = 0;
	memset(row->val, 0, sizeof row->val);
	memset(row->len, 0, sizeof row->len);
}

/* Copies s[0..len) into the row's buffer as column i. */
static int
row_put(struct mdas_store_row *row, size_t i, const char *s, size_t len)
{
	if (len + 1 > sizeof row->buf - row->used)
		return -1;
	memcpy(row->buf + row->used, s, len);
	row->buf[row->used + len] = '\0';
	row->val[i] = row->buf + row->used;
	row->len[i] = len;
	row->used += len + 1;
	return 0;
}

/* Points column i at text that lives as long as the record. */
static void
row_ref(struct mdas_store_row *row, size_t i, const char *s, size_t len)
{
	row->val[i] = s;
	row->len[i] = len;
}

static struct json_object *
member(struct json_object *rec, const char *name)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(rec, name, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* True for "YYYY-MM-DDTHH:MM:SS.mmmZ" as mdas_format_iso_ms() writes it
 * (the reader has checked the fields' ranges): kept as it is. */
static int
iso_canonical(const char *s, size_t len)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (len != sizeof shape - 1)
		return 0;
	for (i = 0; i < len; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return 0;
	return 1;
}

/* put_value() for a value of a record's view. */
static int
put_val(struct mdas_store_row *row, size_t i, enum mdas_store_type type,
    const struct mdas_export_val *v, const char **why)
{
	switch (v->type) {
	case MDAS_VAL_NULL:
		return 0;
	case MDAS_VAL_STRING:
		if (memchr(v->text, '\0', v->len) != NULL) {
			*why = "a text with a NUL character cannot be stored";
			return -1;
		}
		if (type != MDAS_SQL_TEXT && type != MDAS_SQL_TIME && type != MDAS_SQL_DATE) {
			*why = "expected a number";
			return -1;
		}
		if (type == MDAS_SQL_TIME && !iso_canonical(v->text, v->len)) {
			/* One spelling per instant, as put_value() says. */
			struct mdas_error perr;
			char tmp[MDAS_ISO_MAX];
			int64_t ms;
			int n;

			if (mdas_parse_iso(v->text, &ms, &perr) == 0 &&
			    (n = mdas_format_iso_ms(ms, tmp)) > 0)
				return row_put(row, i, tmp, (size_t)n) == 0 ? 0 :
				    (*why = "record too large to store", -1);
		}
		row_ref(row, i, v->text, v->len);
		return 0;
	case MDAS_VAL_INT:
		if (type == MDAS_SQL_BOOL) {
			*why = "expected a boolean";
			return -1;
		}
		/* In decimal, as json-c holds it; copied, since a view made
		 * from JSON keeps that text in itself. */
		return row_put(row, i, v->text, v->len) == 0 ? 0 :
		    (*why = "record too large to store", -1);
	case MDAS_VAL_DOUBLE:
		if (type != MDAS_SQL_NUMERIC && type != MDAS_SQL_DOUBLE) {
			*why = type == MDAS_SQL_BIGINT ? "expected an integer" : "expected text";
			return -1;
		}
		/* The text the input wrote. */
		row_ref(row, i, v->text, v->len);
		return 0;
	case MDAS_VAL_BOOL:
		if (type != MDAS_SQL_BOOL) {
			*why = "unexpected boolean";
			return -1;
		}
		row_ref(row, i, v->text, v->len);
		return 0;
	default:
		*why = "expected a plain value";
		return -1;
	}
}

/* The value of v as column text for a column of type type.  Returns 0
 * (null included), or -1 with why. */
static int
put_value(struct mdas_store_row *row, size_t i, enum mdas_store_type type,
    struct json_object *v, const char **why)
{
	const char *s;
	char tmp[32];
	size_t len;
	int n;

	if (v == NULL)
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_string:
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (memchr(s, '\0', len) != NULL) {
			*why = "a text with a NUL character cannot be stored";
			return -1;
		}
		if (type != MDAS_SQL_TEXT && type != MDAS_SQL_TIME && type != MDAS_SQL_DATE) {
			*why = "expected a number";
			return -1;
		}
		if (type == MDAS_SQL_TIME) {
			/* One spelling per instant ("...T10:15:00.123Z"), whatever
			 * offset or precision the record used: SQLite keeps the
			 * text, and it must sort as the instant does.  (The
			 * reader has checked the time; text that does not parse
			 * goes as it came, for the database to judge.) */
			struct mdas_error perr;
			int64_t ms;

			if (!iso_canonical(s, len) && mdas_parse_iso(s, &ms, &perr) == 0 &&
			    (n = mdas_format_iso_ms(ms, tmp)) > 0)
				return row_put(row, i, tmp, (size_t)n) == 0 ? 0 :
				    (*why = "record too large to store", -1);
		}
		row_ref(row, i, s, len);
		return 0;
	case json_type_int:
		if (type == MDAS_SQL_BOOL) {
			*why = "expected a boolean";
			return -1;
		}
		n = snprintf(tmp, sizeof tmp, "%" PRId64, json_object_get_int64(v));
		return row_put(row, i, tmp, (size_t)n) == 0 ? 0 :
		    (*why = "record too large to store", -1);
	case json_type_double:
		if (type != MDAS_SQL_NUMERIC && type != MDAS_SQL_DOUBLE) {
			*why = type == MDAS_SQL_BIGINT ? "expected an integer" : "expected text";
			return -1;
		}
		/* The text the input wrote, kept by the parser. */
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		row_ref(row, i, s, strlen(s));
		return 0;
	case json_type_boolean:
		if (type != MDAS_SQL_BOOL) {
			*why = "unexpected boolean";
			return -1;
		}
		s = json_object_get_boolean(v) ? "true" : "false";
		row_ref(row, i, s, strlen(s));
		return 0;
	default:
		*why = "expected a plain value";
		return -1;
	}
}

/* An error record's members are whatever came: text columns take any
 * value (non-strings as compact JSON), typed columns only their type. */
static int
put_error_value(struct mdas_store_row *row, size_t i, enum mdas_store_type type,
    struct json_object *v)
{
	const char *s, *why;
	enum json_type jt;

	if (v == NULL)
		return 0;
	jt = json_object_get_type(v);
	/* json-c clamps an integer past 64 bits to INT64_MAX/MIN (a uint64
	 * above INT64_MAX reads as INT64_MAX too): its digits are not the
	 * ones sent, so none are stored (the reader refuses such integers
	 * in the other records). */
	if (type == MDAS_SQL_BIGINT && (jt != json_type_int ||
	    json_object_get_int64(v) == INT64_MAX || json_object_get_int64(v) == INT64_MIN))
		return 0;
	if (type == MDAS_SQL_BOOL && jt != json_type_boolean)
		return 0;
	if (type == MDAS_SQL_TEXT && jt != json_type_string) {
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		row_ref(row, i, s, strlen(s));
		return 0;
	}
	if (put_value(row, i, type, v, &why) != 0)
		return 0;          /* a NUL in a message: stored as null */
	return 0;
}

/* imputed: the names joined with ';', or null when none. */
static int
put_imputed_val(struct mdas_store_row *row, size_t i, const struct mdas_export_val *v)
{
	char tmp[256];
	size_t k, len = 0, sl;
	const char *s;

	if (v->type == MDAS_VAL_OTHER && json_object_is_type(v->json, json_type_array))
		return -1;        /* an array of other things than names */
	if (v->type != MDAS_VAL_STRINGS)
		return 0;
	for (k = 0; k < v->nelems; k++) {
		s = mdas_export_val_elem(v, k, &sl);
		sl = strlen(s);
		if (len + sl + 2 > sizeof tmp)
			return -1;
		if (len > 0)
			tmp[len++] = ';';
		memcpy(tmp + len, s, sl);
		len += sl;
	}
	/* [""] is imputed too: only an empty array (or none) is real. */
	if (v->nelems == 0)
		return 0;
	return row_put(row, i, tmp, len);
}

static const char *
kind_name(enum mdas_store_table t)
{
	switch (t) {
	case MDAS_ST_BARS: return "bar";
	case MDAS_ST_QUOTES: return "quote";
	case MDAS_ST_EVENTS: return "event";
	default: return "record";
	}
}

/* What map_data() and map_series() need of each column, found once. */
enum col_check { CK_NONE, CK_HIGH, CK_LOW, CK_NONNEG, CK_POSITIVE, CK_KIND, CK_TS, CK_TS_MS };

struct col_info {
	int slot;                 /* of the record field (kind: type) */
	unsigned char imputed, run_id;
	unsigned char check;      /* what check_rec() tests (enum col_check) */
};

static enum col_check
check_of(const char *name)
{
	static const char *const nonneg[] = {
		"volume", "quote_volume", "trades", "bid_size", "ask_size",
	};
	size_t i;

	if (strcmp(name, "ts") == 0)
		return CK_TS;
	if (strcmp(name, "ts_ms") == 0)
		return CK_TS_MS;
	if (strcmp(name, "high") == 0)
		return CK_HIGH;
	if (strcmp(name, "low") == 0)
		return CK_LOW;
	for (i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++)
		if (strcmp(name, nonneg[i]) == 0)
			return CK_NONNEG;
	if (strcmp(name, "numerator") == 0 || strcmp(name, "denominator") == 0)
		return CK_POSITIVE;
	return strcmp(name, "kind") == 0 ? CK_KIND : CK_NONE;
}

static const struct col_info *
col_info(enum mdas_store_table t)
{
	static struct col_info info[MDAS_ST_COUNT][MDAS_STORE_MAXCOLS];
	static int ready;
	size_t k, i;

	if (!ready) {
		for (k = 0; k < MDAS_ST_COUNT; k++)
			for (i = 0; i < mdas_store_tables[k].ncols && i < MDAS_STORE_MAXCOLS; i++) {
				const char *name = mdas_store_tables[k].cols[i].name;

				info[k][i].slot = mdas_export_slot(strcmp(name, "kind") == 0 ?
				    "type" : name);
				info[k][i].imputed = strcmp(name, "imputed") == 0;
				info[k][i].run_id = strcmp(name, "run_id") == 0;
				info[k][i].check = (unsigned char)check_of(name);
			}
		ready = 1;
	}
	return info[t];
}

/* Fills the data row of a quote, bar or event. */
static int
map_data(struct mdas_store_map *m, struct mdas_store_row *row,
    enum mdas_store_table t, const struct mdas_export_rec *rec, struct mdas_error *err)
{
	const struct mdas_store_table_def *def = &mdas_store_tables[t];
	const struct col_info *info = col_info(t);
	const char *why = NULL, *field;
	size_t i;

	for (i = 0; i < def->ncols; i++) {
		const struct mdas_store_col *c = &def->cols[i];
		const struct mdas_export_val *v = mdas_export_at(rec, info[i].slot);

		if (info[i].imputed) {
			if (put_imputed_val(row, i, v) != 0)
				return mdas_error_set(err, "imputed: expected a short array of field names");
			continue;
		}
		if (put_val(row, i, c->type, v, &why) != 0) {
			field = strcmp(c->name, "kind") == 0 ? "type" : c->name;
			return mdas_error_set(err, "%s: %s", field, why);
		}
		if (info[i].run_id && row->val[i] == NULL && m->run_id != NULL)
			row_ref(row, i, m->run_id, strlen(m->run_id));
		/* An empty source, symbol or interval is no key: a bar of
		 * interval "" would be the symbol's quote series (store.h). */
		if ((c->flags & MDAS_SC_KEY) && c->type == MDAS_SQL_TEXT &&
		    row->val[i] != NULL && row->len[i] == 0)
			row->val[i] = NULL;
		if ((c->flags & MDAS_SC_NOTNULL) && row->val[i] == NULL) {
			field = strcmp(c->name, "kind") == 0 ? "type" : c->name;
			return mdas_error_set(err, "a %s needs %s %s to be stored", kind_name(t),
			    strchr("aeiou", field[0]) != NULL ? "an" : "a", field);
		}
	}
	return 0;
}

static int
map_error(struct mdas_store_map *m, struct mdas_store_row *row,
    struct json_object *rec, unsigned long line, struct mdas_error *err)
{
	const struct mdas_store_table_def *def = &mdas_store_tables[MDAS_ST_ERRORS];
	char tmp[32];
	size_t i;
	int n;

	for (i = 0; i < def->ncols; i++) {
		const struct mdas_store_col *c = &def->cols[i];

		if (strcmp(c->name, "run_id") == 0) {
			/* The load's run: errors are kept per run. */
			if (m->run_id == NULL)
				return mdas_error_set(err, "an error record needs a run ID to be stored");
			row_ref(row, i, m->run_id, strlen(m->run_id));
		} else if (strcmp(c->name, "seq") == 0) {
			n = snprintf(tmp, sizeof tmp, "%lu", line);
			if (row_put(row, i, tmp, (size_t)n) != 0)
				return mdas_error_set(err, "record too large to store");
		} else {
			put_error_value(row, i, c->type, member(rec, c->name));
		}
	}
	return 0;
}

/* The series row of a quote or bar; 1 when it differs from the last. */
static int
map_series(struct mdas_store_map *m, enum mdas_store_table t,
    const struct mdas_export_rec *rec, unsigned long line)
{
	const struct mdas_store_table_def *def = &mdas_store_tables[MDAS_ST_SERIES];
	const struct col_info *info = col_info(MDAS_ST_SERIES);
	struct mdas_store_row *row = &m->series;
	char key[MDAS_STORE_ROWBUF];
	const char *why;
	size_t i, len = 0;

	row_reset(row, MDAS_ST_SERIES, line);
	for (i = 0; i < def->ncols; i++) {
		const struct mdas_store_col *c = &def->cols[i];

		if (t == MDAS_ST_QUOTES && strcmp(c->name, "interval") == 0)
			row_ref(row, i, "", 0);   /* the quote series of the symbol */
		else if (put_val(row, i, c->type, mdas_export_at(rec, info[i].slot), &why) != 0)
			return -1;
		if (info[i].run_id && row->val[i] == NULL && m->run_id != NULL)
			row_ref(row, i, m->run_id, strlen(m->run_id));
		/* run_id and fetched_at change every run: not part of "differs". */
		if (!(c->flags & (MDAS_SC_KEY | MDAS_SC_DATA)))
			continue;
		if (row->val[i] != NULL) {
			if (len + row->len[i] + 2 > sizeof key)
				return -1;
			key[len++] = 1;
			memcpy(key + len, row->val[i], row->len[i]);
			len += row->len[i];
		}
		key[len++] = 0;
	}
	if (len == m->last_series_len && memcmp(key, m->last_series, len) == 0)
		return 0;
	memcpy(m->last_series, key, len);
	m->last_series_len = len;
	return 1;
}

/* What the tables' CHECKs say, tested before the database sees a row so
 * that both engines reject the same records with the same words.  The
 * numbers are the record's own values (what strtod() reads the row's
 * text as: the same text, read the same way). */
static int
check_rec(const struct mdas_store_row *row, const struct mdas_export_rec *rec,
    struct mdas_error *err)
{
	const struct mdas_store_table_def *def = &mdas_store_tables[row->table];
	const struct col_info *info = col_info(row->table);
	const char *hi = NULL, *lo = NULL, *ts = NULL, *ts_ms = NULL;
	char iso[MDAS_ISO_MAX];
	double vhi = 0, vlo = 0, x;
	size_t i, tslen = 0;

	for (i = 0; i < def->ncols; i++) {
		const char *name = def->cols[i].name, *v = row->val[i];

		if (v == NULL || info[i].check == CK_NONE)
			continue;
		/* A number, or the row would have been refused (put_val). */
		x = info[i].check == CK_KIND || info[i].check == CK_TS ? 0 :
		    mdas_export_at(rec, info[i].slot)->d;
		switch (info[i].check) {
		case CK_TS:
			ts = v;
			tslen = row->len[i];
			break;
		case CK_TS_MS:
			ts_ms = v;
			if (x < 0)
				return mdas_error_set(err, "%s %s is negative", name, v);
			break;
		case CK_HIGH:
			hi = v;
			vhi = x;
			break;
		case CK_LOW:
			lo = v;
			vlo = x;
			break;
		case CK_NONNEG:
			if (x < 0)
				return mdas_error_set(err, "%s %s is negative", name, v);
			break;
		case CK_POSITIVE:
			if (!(x > 0))
				return mdas_error_set(err, "%s %s is not above 0", name, v);
			break;
		case CK_KIND:
			if (strcmp(v, "dividend") != 0 && strcmp(v, "split") != 0)
				return mdas_error_set(err, "type %s is not an event", v);
			break;
		}
	}
	if (hi != NULL && lo != NULL && vhi < vlo)
		return mdas_error_set(err, "high %s is below low %s", hi, lo);
	/* ts_ms is the key, ts the same instant as text (mdas-schema(7)):
	 * rows where they part would answer a query by ts and --last
	 * differently.  ts is canonical here (put_value), unless it did not
	 * parse at all. */
	if (ts != NULL && ts_ms != NULL && iso_canonical(ts, tslen) &&
	    (mdas_format_iso_ms(strtoll(ts_ms, NULL, 10), iso) < 0 || strcmp(iso, ts) != 0))
		return mdas_error_set(err, "ts %s is not the instant of ts_ms %s", ts, ts_ms);
	return 0;
}

int
mdas_store_map_rec(struct mdas_store_map *m, const struct mdas_export_rec *rec,
    unsigned long line, const struct mdas_store_row **rows, struct mdas_error *err)
{
	static int type_slot = -2;
	const char *ts;
	enum mdas_store_table t;
	int n = 1;

	if (type_slot == -2)
		type_slot = mdas_export_slot("type");
	if (rec->kind == MDAS_EXPORT_ERROR) {
		/* Error records come with their JSON (export.h): their
		 * members are whatever came. */
		row_reset(&m->data, MDAS_ST_ERRORS, line);
		if (map_error(m, &m->data, rec->json, line, err) != 0)
			return -1;
		rows[0] = &m->data;
		return 1;
	}
	ts = mdas_export_str(rec, type_slot);
	if (ts == NULL)
		ts = "";
	if (rec->kind == MDAS_EXPORT_EVENT)
		t = MDAS_ST_EVENTS;
	else if (strcmp(ts, "bar") == 0)
		t = MDAS_ST_BARS;
	else if (strcmp(ts, "quote") == 0)
		t = MDAS_ST_QUOTES;
	else
		return mdas_error_set(err, "type: not a record the store keeps");
	row_reset(&m->data, t, line);
	if (map_data(m, &m->data, t, rec, err) != 0 || check_rec(&m->data, rec, err) != 0)
		return -1;
	rows[0] = &m->data;
	if (t != MDAS_ST_EVENTS) {
		int s = map_series(m, t, rec, line);

		if (s < 0)
			return mdas_error_set(err, "series: too large to store");
		if (s > 0)
			rows[n++] = &m->series;
	}
	return n;
}

int
mdas_store_map_record(struct mdas_store_map *m, enum mdas_export_kind k,
    struct json_object *rec, unsigned long line,
    const struct mdas_store_row **rows, struct mdas_error *err)
{
	struct mdas_export_rec r;

	mdas_export_rec_from_json(&r, k, rec);
	return mdas_store_map_rec(m, &r, line, rows, err);
}

/* ---- SQL ---- */

struct sqlbuf {
	char *p;
	size_t n, len;
	int overflow;
};

static void
sql_add(struct sqlbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->p + b->len, b->n - b->len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= b->n - b->len)
		b->overflow = 1;
	else
		b->len += (size_t)r;
}

static int
sql_start(struct sqlbuf *b, char *buf, size_t n)
{
	b->p = buf;
	b->n = n;
	b->len = strlen(buf);   /* builders append */
	b->overflow = b->len >= n;
	return b->overflow ? -1 : 0;
}

static const char *
type_name(enum mdas_store_dialect d, enum mdas_store_type t)
{
	static const char *const sqlite[] = {
		[MDAS_SQL_TEXT] = "TEXT", [MDAS_SQL_BIGINT] = "INTEGER",
		[MDAS_SQL_NUMERIC] = "REAL", [MDAS_SQL_DOUBLE] = "REAL",
		[MDAS_SQL_TIME] = "TEXT", [MDAS_SQL_DATE] = "TEXT",
		[MDAS_SQL_BOOL] = "INTEGER",
	};
	static const char *const pg[] = {
		[MDAS_SQL_TEXT] = "text", [MDAS_SQL_BIGINT] = "bigint",
		[MDAS_SQL_NUMERIC] = "numeric", [MDAS_SQL_DOUBLE] = "double precision",
		[MDAS_SQL_TIME] = "timestamptz", [MDAS_SQL_DATE] = "date",
		[MDAS_SQL_BOOL] = "boolean",
	};

	return d == MDAS_DIALECT_PG ? pg[t] : sqlite[t];
}

static int
has_column(const struct mdas_store_table_def *def, const char *name)
{
	size_t i;

	for (i = 0; i < def->ncols; i++)
		if (strcmp(def->cols[i].name, name) == 0)
			return 1;
	return 0;
}

int
mdas_store_sql_create(enum mdas_store_dialect d, enum mdas_store_table t,
    const char *prefix, char *buf, size_t n)
{
	const struct mdas_store_table_def *def = &mdas_store_tables[t];
	const char *const *chk;
	struct sqlbuf b;
	const char *sep = "";
	size_t i;

	if (sql_start(&b, buf, n) != 0)
		return -1;
	sql_add(&b, "CREATE TABLE IF NOT EXISTS %s%s (", prefix, def->name);
	for (i = 0; i < def->ncols; i++) {
		const struct mdas_store_col *c = &def->cols[i];

		sql_add(&b, "%s%s %s%s", i > 0 ? ", " : "", c->name, type_name(d, c->type),
		    (c->flags & MDAS_SC_NOTNULL) ? " NOT NULL" : "");
	}
	sql_add(&b, ", PRIMARY KEY (");
	for (i = 0; i < def->ncols; i++) {
		if (!(def->cols[i].flags & MDAS_SC_KEY))
			continue;
		sql_add(&b, "%s%s", sep, def->cols[i].name);
		sep = ", ";
	}
	sql_add(&b, ")");
	for (chk = def->checks; *chk != NULL; chk++)
		sql_add(&b, ", CHECK (%s)", *chk);
	sql_add(&b, ")%s", d == MDAS_DIALECT_SQLITE ? " STRICT" : "");
	return b.overflow ? -1 : 0;
}

int
mdas_store_sql_columns(enum mdas_store_table t, char *buf, size_t n)
{
	const struct mdas_store_table_def *def = &mdas_store_tables[t];
	struct sqlbuf b;
	size_t i;

	if (sql_start(&b, buf, n) != 0)
		return -1;
	for (i = 0; i < def->ncols; i++)
		sql_add(&b, "%s%s", i > 0 ? ", " : "", def->cols[i].name);
	return b.overflow ? -1 : 0;
}

int
mdas_store_sql_conflict(enum mdas_store_table t, char *buf, size_t n)
{
	const struct mdas_store_table_def *def = &mdas_store_tables[t];
	struct sqlbuf b;
	const char *sep = "";
	size_t i;

	if (sql_start(&b, buf, n) != 0)
		return -1;
	sql_add(&b, " ON CONFLICT (");
	for (i = 0; i < def->ncols; i++) {
		if (!(def->cols[i].flags & MDAS_SC_KEY))
			continue;
		sql_add(&b, "%s%s", sep, def->cols[i].name);
		sep = ", ";
	}
	sql_add(&b, ") DO UPDATE SET ");
	sep = "";
	for (i = 0; i < def->ncols; i++) {
		if (def->cols[i].flags & MDAS_SC_KEY)
			continue;
		sql_add(&b, "%s%s = excluded.%s", sep, def->cols[i].name, def->cols[i].name);
		sep = ", ";
	}
	sql_add(&b, " WHERE ");
	if (has_column(def, "imputed"))
		sql_add(&b, "NOT (excluded.imputed IS NOT NULL AND %s.imputed IS NULL) AND ",
		    def->name);
	sql_add(&b, "(");
	sep = "";
	for (i = 0; i < def->ncols; i++) {
		if (!(def->cols[i].flags & MDAS_SC_DATA))
			continue;
		sql_add(&b, "%s%s.%s IS DISTINCT FROM excluded.%s", sep, def->name,
		    def->cols[i].name, def->cols[i].name);
		sep = " OR ";
	}
	sql_add(&b, ")");
	return b.overflow ? -1 : 0;
}

int
mdas_store_identifier_ok(const char *s)
{
	size_t i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i > 62)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return 1;
}

int
mdas_store_check_version(long found, const char *db, struct mdas_error *err)
{
	if (found < 0)
		return mdas_error_set(err, "%s: schema_version %ld is not valid; not changed", db, found);
	if (found > MDAS_STORE_SCHEMA_VERSION) {
		mdas_error_set(err, "%s: schema version %ld is newer than this mdas knows (%d); "
		    "not changed: use the newer mdas that made it", db, found,
		    MDAS_STORE_SCHEMA_VERSION);
		return MDAS_SINK_REFUSED;
	}
	return 0;
}

int
mdas_store_print_line(FILE *out, const char *source, const char *symbol, const char *interval,
    const char *k1, int64_t v1, const char *k2, int64_t v2, const char *k3, int64_t v3)
{
	struct mdas_jsonw *w = mdas_jsonw_new();
	int rc;

	if (w == NULL)
		return -1;
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "source");
	mdas_jsonw_string(w, source);
	mdas_jsonw_key(w, "symbol");
	mdas_jsonw_string(w, symbol);
	mdas_jsonw_key(w, "interval");
	mdas_jsonw_string(w, interval);
	mdas_jsonw_key(w, k1);
	mdas_jsonw_int(w, v1);
	mdas_jsonw_key(w, k2);
	mdas_jsonw_int(w, v2);
	if (k3 != NULL) {
		mdas_jsonw_key(w, k3);
		mdas_jsonw_int(w, v3);
	}
	mdas_jsonw_end_object(w);
	rc = mdas_jsonw_write_line(w, out);
	mdas_jsonw_free(w);
	return rc;
}

int
mdas_store_print_last(FILE *out, const char *source, const char *symbol,
    const char *interval, int64_t first_ts_ms, int64_t last_ts_ms, int64_t bars)
{
	return mdas_store_print_line(out, source, symbol, interval, "first_ts_ms",
	    first_ts_ms, "last_ts_ms", last_ts_ms, "bars", bars);
}

/* ---- Gaps ---- */

/* The fixed-length intervals, as the bars table names them (mdas-schema(7):
 * Binance's and Yahoo's spellings both).  Months (1mo, 3mo; Binance 1M)
 * have no fixed length: no gaps are looked for in them. */
static const struct { const char *name; int64_t ms; } gap_intervals[] = {
	{ "1m", 60000 }, { "2m", 120000 }, { "3m", 180000 }, { "5m", 300000 },
	{ "15m", 900000 }, { "30m", 1800000 }, { "60m", 3600000 }, { "90m", 5400000 },
	{ "1h", 3600000 }, { "2h", 7200000 }, { "4h", 14400000 }, { "6h", 21600000 },
	{ "8h", 28800000 }, { "12h", 43200000 }, { "1d", 86400000 }, { "3d", 259200000 },
	{ "1w", 604800000 }, { "1wk", 604800000 },
};

int64_t
mdas_store_gap_interval_ms(const char *interval)
{
	size_t i;

	for (i = 0; interval != NULL && i < sizeof gap_intervals / sizeof gap_intervals[0]; i++)
		if (strcmp(interval, gap_intervals[i].name) == 0)
			return gap_intervals[i].ms;
	return 0;
}

int
mdas_store_sql_gaps(enum mdas_store_dialect d, const char *prefix, char *buf, size_t n)
{
	const char *c = d == MDAS_DIALECT_PG ? " COLLATE \"C\"" : "";
	struct sqlbuf b;
	size_t i;

	if (n == 0)
		return -1;
	buf[0] = '\0';
	if (sql_start(&b, buf, n) != 0)
		return -1;
	/* One pass over all bars in key order (the window's partition and
	 * order are the primary key's: no sort), the previous bar's open time
	 * beside each; only then which series and intervals count, so that
	 * no filter breaks the key order.  A step of two intervals or more is
	 * a gap. */
	sql_add(&b, "WITH b AS (SELECT source, symbol, interval, ts_ms, "
	    "lag(ts_ms) OVER (PARTITION BY source, symbol, interval ORDER BY ts_ms) AS prev "
	    "FROM %sbars), s AS (SELECT source, symbol, interval, ts_ms, prev, CASE interval",
	    prefix);
	for (i = 0; i < sizeof gap_intervals / sizeof gap_intervals[0]; i++)
		sql_add(&b, " WHEN '%s' THEN %" PRId64, gap_intervals[i].name, gap_intervals[i].ms);
	/* Around the clock: Binance, and whatever the series says is crypto. */
	sql_add(&b, " END AS step FROM b WHERE prev IS NOT NULL), "
	    "g AS (SELECT source, symbol, interval, prev + step AS from_ts, "
	    "(ts_ms - prev) / step - 1 AS missing, step FROM s "
	    "WHERE step IS NOT NULL AND ts_ms - prev >= 2 * step AND (source = 'binance' OR "
	    "(source, symbol, interval) IN (SELECT source, symbol, interval FROM %sseries "
	    "WHERE asset_class = 'crypto'))), "
	    "r AS (SELECT source, symbol, interval, from_ts, from_ts + (missing - 1) * step AS to_ts, "
	    "missing, row_number() OVER (PARTITION BY source, symbol, interval "
	    "ORDER BY from_ts DESC) AS rn, "
	    "count(*) OVER (PARTITION BY source, symbol, interval) AS ngaps, "
	    "sum(missing) OVER (PARTITION BY source, symbol, interval) AS nmissing FROM g) "
	    "SELECT source, symbol, interval, from_ts, to_ts, missing, ngaps, nmissing "
	    "FROM r WHERE rn <= %d ORDER BY source%s, symbol%s, interval%s, from_ts",
	    prefix, MDAS_STORE_GAPS_MAX, c, c, c);
	return b.overflow ? -1 : 0;
}

/* The "more" line of the series before, when it had more gaps than shown. */
static int
gaps_flush(struct mdas_store_gaps *g, FILE *out)
{
	int rc = 0;

	if (g->shown > 0 && g->total > g->shown)
		rc = mdas_store_print_line(out, g->source, g->symbol, g->interval, "more_gaps",
		    g->total - g->shown, "more_missing", g->total_missing - g->shown_missing,
		    NULL, 0);
	g->shown = 0;
	return rc;
}

int
mdas_store_gaps_row(struct mdas_store_gaps *g, FILE *out, const char *source,
    const char *symbol, const char *interval, int64_t from_ts_ms, int64_t to_ts_ms,
    int64_t missing, int64_t series_gaps, int64_t series_missing)
{
	if (g->shown == 0 || strcmp(g->source, source) != 0 ||
	    strcmp(g->symbol, symbol) != 0 || strcmp(g->interval, interval) != 0) {
		if (gaps_flush(g, out) < 0)
			return -1;
		snprintf(g->source, sizeof g->source, "%s", source);
		snprintf(g->symbol, sizeof g->symbol, "%s", symbol);
		snprintf(g->interval, sizeof g->interval, "%s", interval);
		g->total = series_gaps;
		g->total_missing = series_missing;
		g->shown_missing = 0;
	}
	g->shown++;
	g->shown_missing += missing;
	return mdas_store_print_line(out, source, symbol, interval, "from_ts_ms", from_ts_ms,
	    "to_ts_ms", to_ts_ms, "missing", missing);
}

int
mdas_store_gaps_end(struct mdas_store_gaps *g, FILE *out)
{
	return gaps_flush(g, out);
}
