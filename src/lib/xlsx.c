/* xlsx.c: the workbook of mdas-export-xlsx (see xlsx.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "bounds.h"
#include "export.h"
#include "jsonget.h"
#include "jsonw.h"
#include "schema.h"
#include "timeutil.h"
#include "utf8.h"
#include "xlsx.h"

/* Excel's limits: the last row index, the longest text in a cell. */
#define ROW_LAST      ((lxw_row_t)(LXW_ROW_MAX - 1))
#define CELL_TEXT_MAX 32767

#define MAX_COLS      48     /* 3 local-time columns + the widest table */
#define WIDTH_MAX     60.0
#define HASH_SIZE     4096
#define MAX_SYMBOLS   100000 /* Summary rows; past this, counted as "(other)" */
#define MAX_CHARTS    200    /* one chart per series */
#define MAX_RUNS      16     /* pieces of one non-contiguous series */
#define MAX_BAD_ZONES 32
#define FAIL_MSG_MAX  500

enum { K_QUOTE, K_BAR, K_DIVIDEND, K_SPLIT, K_ERROR, K_N };
static const char *const kind_names[K_N] = { "quote", "bar", "dividend", "split", "error" };

struct sheet {
	lxw_worksheet *ws;
	const char *name;
	const struct mdas_field *fields;
	size_t nfields;
	int local_cols;              /* 3 (date, time, zone) or 0 */
	int ncols;
	lxw_row_t next_row;          /* the row the next record goes to */
	double width[MAX_COLS];      /* widest cell seen, in characters */
	lxw_format *colfmt[MAX_COLS];
	int col_change_pct, col_spread_bps;   /* -1 when absent */
	const int *slots;            /* each field's slot in a record */
};

/* The slots of the fields read by name, found once. */
static struct {
	int type, symbol, source, interval, currency, ts, ts_ms, exchange_tz;
	int stage, code, message;
} slot;

static void
slots_init(void)
{
	slot.type = mdas_export_slot("type");
	slot.symbol = mdas_export_slot("symbol");
	slot.source = mdas_export_slot("source");
	slot.interval = mdas_export_slot("interval");
	slot.currency = mdas_export_slot("currency");
	slot.ts = mdas_export_slot("ts");
	slot.ts_ms = mdas_export_slot("ts_ms");
	slot.exchange_tz = mdas_export_slot("exchange_tz");
	slot.stage = mdas_export_slot("stage");
	slot.code = mdas_export_slot("code");
	slot.message = mdas_export_slot("message");
}

/* Counts per symbol and source, for Summary. */
struct symstat {
	char *symbol, *source;
	unsigned long n[K_N];
	char *fail_stage, *fail_code, *fail_msg;  /* the first error's, when any */
	struct symstat *next;
};

/* A bar series (symbol, source, interval) and the Bars rows it spans. */
struct series {
	char *symbol, *source, *interval, *currency;
	lxw_row_t first[MAX_RUNS], last[MAX_RUNS];
	int nruns;
	int dropped;                  /* pieces past MAX_RUNS, not charted */
	int in_dropped;               /* the current piece is one of those */
	lxw_row_t prev_row;           /* the series' last row so far */
	struct series *next;          /* hash chain */
	struct series *order;         /* in order of first appearance */
};

struct mdas_xlsx {
	lxw_workbook *wb;
	char *path;
	char *run_id, *generated_at;
	void (*warn)(void *, const char *);
	void *warn_arg;

	struct sheet quotes, bars, events, errors;

	lxw_format *f_header, *f_title, *f_date, *f_time, *f_price, *f_volume,
	    *f_size, *f_int, *f_count, *f_pct, *f_bps, *f_ratio, *f_up, *f_down;

	unsigned long count[K_N];
	struct symstat *sym[HASH_SIZE];
	size_t nsym;
	struct symstat *other;        /* past MAX_SYMBOLS */
	struct series *ser[HASH_SIZE];
	struct series *ser_first, *ser_tail, *ser_last_hit;
	size_t nser;
	int charts_capped_warned;

	char *bad_zone[MAX_BAD_ZONES];
	size_t nbad_zone;
	int nomem;
	int replaced_warned;          /* xml_text() has said so once */
};

static void
warnf(struct mdas_xlsx *x, const char *fmt, ...)
{
	char buf[MDAS_ERROR_MAX];
	va_list ap;

	if (x->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	x->warn(x->warn_arg, buf);
}

static char *
xstrdup(struct mdas_xlsx *x, const char *s)
{
	char *p = strdup(s != NULL ? s : "");

	if (p == NULL)
		x->nomem = 1;
	return p;
}

static unsigned
hash3(const char *a, const char *b, const char *c)
{
	/* FNV-1a over the parts, with a separator so ("AB","C") != ("A","BC"). */
	const char *parts[3] = { a, b, c };
	unsigned h = 2166136261u;
	int i;

	for (i = 0; i < 3; i++) {
		const unsigned char *p = (const unsigned char *)(parts[i] ? parts[i] : "");
		while (*p)
			h = (h ^ *p++) * 16777619u;
		h = (h ^ 0x1f) * 16777619u;
	}
	return h % HASH_SIZE;
}

static int
is_number(const struct mdas_export_val *v)
{
	return v->type == MDAS_VAL_DOUBLE || v->type == MDAS_VAL_INT;
}

/* Characters (not bytes) of UTF-8 text, for column widths. */
static size_t
utf8_len(const char *s, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			len++;
	return len;
}

/* Characters XML 1.0 cannot hold, so neither can an XLSX: the C0
 * controls but tab, LF and CR, and U+FFFE, U+FFFF (surrogates are not
 * valid UTF-8 to begin with).  libxlsxwriter escapes C0 controls as
 * _xHHHH_ in cells but writes them raw in chart text, and U+FFFE/U+FFFF
 * raw everywhere: either way the file is not well-formed. */
static int
xml_forbidden(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
	    cp == 0xFFFE || cp == 0xFFFF;
}

/* s[0..n) as text an XLSX can hold: each character XML forbids, and each
 * byte that is not valid UTF-8 (the reader lets none through, but the
 * workbook must stay well-formed whatever it is given), becomes U+FFFD.
 * Returns NULL when s is fine as it is, else a NUL-terminated copy for
 * the caller to free, its length in *out_n; x->nomem on failure (then
 * also NULL, and *out_n is 0).  sheet and row (0: none) name the place
 * for the one warning a workbook gets about it. */
static char *
xml_text(struct mdas_xlsx *x, const char *s, size_t n, size_t *out_n, const char *sheet,
    unsigned long row)
{
	char *d;

	*out_n = n;
	if (mdas_utf8_scan(s, n, xml_forbidden) == n)
		return NULL;
	*out_n = 0;
	if (n > (SIZE_MAX - 1) / 3 || (d = malloc(n * 3 + 1)) == NULL) {
		x->nomem = 1;
		return NULL;
	}
	*out_n = mdas_utf8_replace(s, n, d, n * 3 + 1, xml_forbidden);
	if (!x->replaced_warned) {
		char where[64];

		if (row > 0)
			snprintf(where, sizeof where, "sheet %s, row %lu", sheet, row);
		else
			snprintf(where, sizeof where, "sheet %s", sheet);
		warnf(x, "%s: control characters or U+FFFE/U+FFFF, which an XLSX cannot hold, "
		    "replaced by U+FFFD (the first such text; others are not reported)", where);
		x->replaced_warned = 1;
	}
	return d;
}

/* A copy of s[0..n) that XML can hold, for sheet (a NUL, which C strings
 * would cut at, becomes U+FFFD like any control character); NULL, with
 * x->nomem, when out of memory. */
static char *
xml_dup(struct mdas_xlsx *x, const char *s, size_t n, const char *sheet)
{
	char *d;
	size_t k;

	if ((d = xml_text(x, s, n, &k, sheet, 0)) == NULL && !x->nomem &&
	    (d = malloc(n + 1)) != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	if (d == NULL)
		x->nomem = 1;
	return d;
}

/* The same for a C string s (NULL: ""). */
static char *
xml_strdup(struct mdas_xlsx *x, const char *s, const char *sheet)
{
	if (s == NULL)
		s = "";
	return xml_dup(x, s, strlen(s), sheet);
}

/* Cuts a partial UTF-8 sequence off the end of buf (left by snprintf or
 * a byte limit), so the text stays valid UTF-8. */
static void
trim_utf8(char *buf)
{
	size_t n = strlen(buf), at = mdas_utf8_invalid_at(buf, n);

	buf[at] = '\0';
}

static void
note_width(struct sheet *sh, int col, double w)
{
	if (col < MAX_COLS && w > sh->width[col])
		sh->width[col] = w;
}

/* libxlsxwriter prints its own failures on stderr (workbook_close(), the
 * scratch file of a new sheet), in its own format, which would also break
 * MDAS_LOG_FORMAT=json; our caller reports each failure once, with the
 * path.  So stderr points at /dev/null around those calls. */
static int
quiet_begin(void)
{
	int saved = -1, null;

	fflush(stderr);
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		if ((saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) >= 0)
			dup2(null, STDERR_FILENO);
		close(null);
	}
	return saved;
}

static void
quiet_end(int saved)
{
	int e = errno;

	if (saved >= 0) {
		fflush(stderr);
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	errno = e;
}

static lxw_worksheet *
add_sheet(struct mdas_xlsx *x, const char *name)
{
	lxw_worksheet *ws;
	int q = quiet_begin();

	errno = 0;
	ws = workbook_add_worksheet(x->wb, name);
	quiet_end(q);
	return ws;
}

/* ---- formats ---- */

static lxw_format *
numfmt(lxw_workbook *wb, const char *fmt)
{
	lxw_format *f = workbook_add_format(wb);

	if (f != NULL)
		format_set_num_format(f, fmt);
	return f;
}

static void
make_formats(struct mdas_xlsx *x)
{
	lxw_workbook *wb = x->wb;

	x->f_header = workbook_add_format(wb);
	format_set_bold(x->f_header);
	format_set_bg_color(x->f_header, 0xDDEBF7);
	format_set_bottom(x->f_header, LXW_BORDER_THIN);
	x->f_title = workbook_add_format(wb);
	format_set_bold(x->f_title);
	format_set_font_size(x->f_title, 14);
	x->f_date = numfmt(wb, "yyyy-mm-dd");
	x->f_time = numfmt(wb, "hh:mm:ss");
	/* Two decimals at least (a price reads as money), up to eight for
	 * crypto and FX; the stored value keeps every digit anyway. */
	x->f_price = numfmt(wb, "#,##0.00######");
	x->f_volume = numfmt(wb, "#,##0");
	x->f_size = numfmt(wb, "#,##0.00");
	x->f_int = numfmt(wb, "0");
	x->f_count = numfmt(wb, "#,##0");
	/* change_pct is already in percent (1.5 means 1.5 %), so the sign is
	 * literal text: Excel's 0.00% would multiply by 100. */
	x->f_pct = numfmt(wb, "0.00\"%\"");
	x->f_bps = numfmt(wb, "0.00");
	x->f_ratio = numfmt(wb, "0.000000");
	x->f_up = workbook_add_format(wb);
	format_set_font_color(x->f_up, 0x006100);
	format_set_bg_color(x->f_up, 0xC6EFCE);
	x->f_down = workbook_add_format(wb);
	format_set_font_color(x->f_down, 0x9C0006);
	format_set_bg_color(x->f_down, 0xFFC7CE);
}

static lxw_format *
field_format(struct mdas_xlsx *x, const struct mdas_field *f)
{
	static const char *const prices[] = { "open", "high", "low", "close",
	    "adj_close", "bid", "ask", "prev_close", "mid", "spread", "change",
	    "amount", NULL };
	static const char *const ratios[] = { "log_return", "range_vol",
	    "rolling_vol", NULL };
	int i;

	for (i = 0; prices[i]; i++)
		if (strcmp(f->name, prices[i]) == 0)
			return x->f_price;
	for (i = 0; ratios[i]; i++)
		if (strcmp(f->name, ratios[i]) == 0)
			return x->f_ratio;
	if (strcmp(f->name, "volume") == 0 || strcmp(f->name, "quote_volume") == 0)
		return x->f_volume;
	if (strcmp(f->name, "bid_size") == 0 || strcmp(f->name, "ask_size") == 0)
		return x->f_size;
	if (strcmp(f->name, "change_pct") == 0)
		return x->f_pct;
	if (strcmp(f->name, "spread_bps") == 0)
		return x->f_bps;
	if (strcmp(f->name, "trades") == 0 || strcmp(f->name, "attempts") == 0)
		return x->f_count;
	if (f->type == MDAS_FIELD_INT)
		return x->f_int;   /* ts_ms must not turn into 1.73E+12 */
	return NULL;
}

/* ---- cells ---- */

static int
lxw_fail(struct mdas_xlsx *x, struct sheet *sh, lxw_error e, struct mdas_error *err)
{
	if (e == LXW_ERROR_MEMORY_MALLOC_FAILED)
		x->nomem = 1;
	return mdas_error_set(err, "%s: sheet %s, row %lu: %s", x->path, sh->name,
	    (unsigned long)sh->next_row + 1, lxw_strerror(e));
}

/* Writes text, cut to Excel's cell limit at a character boundary. */
static lxw_error
put_text(struct mdas_xlsx *x, struct sheet *sh, int col, const char *s, size_t n,
    lxw_format *fmt)
{
	char *cut = NULL, *clean;
	lxw_error e;

	if ((clean = xml_text(x, s, n, &n, sh->name, (unsigned long)sh->next_row + 1)) != NULL)
		s = clean;
	else if (x->nomem)
		return LXW_ERROR_MEMORY_MALLOC_FAILED;
	if (n > CELL_TEXT_MAX) {
		size_t k = CELL_TEXT_MAX;
		while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
		if ((cut = malloc(k + 1)) == NULL) {
			free(clean);
			return LXW_ERROR_MEMORY_MALLOC_FAILED;
		}
		memcpy(cut, s, k);
		cut[k] = '\0';
		warnf(x, "sheet %s, row %lu: text of %zu bytes cut to Excel's limit",
		    sh->name, (unsigned long)sh->next_row + 1, n);
		s = cut;
		n = k;
	} else if (s[n] != '\0') {
		if ((cut = malloc(n + 1)) == NULL)
			return LXW_ERROR_MEMORY_MALLOC_FAILED;
		memcpy(cut, s, n);
		cut[n] = '\0';
		s = cut;
	}
	note_width(sh, col, (double)utf8_len(s, n));
	/* An empty string is the same as no value (the CSV writes both as an
	 * empty field); libxlsxwriter would write a blank cell anyway. */
	e = n > 0 ? worksheet_write_string(sh->ws, sh->next_row, (lxw_col_t)col, s, fmt)
	    : LXW_NO_ERROR;
	free(cut);
	free(clean);
	return e;
}

static lxw_error
put_number(struct sheet *sh, int col, double v, lxw_format *fmt)
{
	char buf[MDAS_NUMBER_MAX];
	int n = mdas_format_double(v, buf);

	/* Thousands separators and the fixed decimals of the formats. */
	note_width(sh, col, n + n / 3 + 2);
	return worksheet_write_number(sh->ws, sh->next_row, (lxw_col_t)col, v, fmt);
}

/* One JSON value in a column of the given type: numbers as numbers, null
 * or missing as nothing, anything else as the text every exporter writes
 * for it (mdas_export_cell_value: imputed joined with ';', booleans as
 * true/false), so the workbook and the CSV hold the same values. */
static lxw_error
put_value(struct mdas_xlsx *x, struct sheet *sh, int col, const struct mdas_field *f,
    const struct mdas_export_val *v, lxw_format *fmt)
{
	struct mdas_cell cell;
	const char *s;
	size_t n;

	if (v->type == MDAS_VAL_NULL)
		return LXW_NO_ERROR;
	if (is_number(v) && f->type != MDAS_FIELD_STRING_ARRAY)
		return put_number(sh, col, v->d,
		    f->type == MDAS_FIELD_NUMBER || f->type == MDAS_FIELD_INT ? fmt : NULL);
	s = mdas_export_val_cell(v, &cell, &n);
	return put_text(x, sh, col, s, n, NULL);
}

/* ---- sheets ---- */

static int
sheet_open(struct mdas_xlsx *x, struct sheet *sh, const char *name,
    const struct mdas_field *fields, size_t nfields, int local_cols,
    struct mdas_error *err)
{
	size_t i;
	int c = 0;

	memset(sh, 0, sizeof *sh);
	sh->name = name;
	sh->fields = fields;
	sh->nfields = nfields;
	sh->local_cols = local_cols;
	sh->col_change_pct = sh->col_spread_bps = -1;
	sh->ncols = local_cols + (int)nfields;
	if (sh->ncols > MAX_COLS)
		return mdas_error_set(err, "sheet %s: too many columns", name);
	if ((sh->slots = mdas_export_slots(fields, nfields)) == NULL)
		return mdas_error_errno(err, ENOMEM, "sheet %s", name);
	if ((sh->ws = add_sheet(x, name)) == NULL)
		return mdas_error_errno(err, errno, "%s: cannot start sheet %s", x->path, name);

	/* The local-time columns say whose clock they show; the zone's name
	 * is beside them on every row, since one sheet can mix exchanges. */
	if (local_cols) {
		static const char *const h[3] = { "Date (exchange time)",
		    "Time (exchange time)", "Time zone" };
		for (c = 0; c < 3; c++) {
			worksheet_write_string(sh->ws, 0, (lxw_col_t)c, h[c], x->f_header);
			note_width(sh, c, (double)strlen(h[c]) + 2);
		}
		sh->colfmt[0] = x->f_date;
		sh->colfmt[1] = x->f_time;
		note_width(sh, 0, 10);
		note_width(sh, 1, 8);
	}
	for (i = 0; i < nfields; i++, c++) {
		worksheet_write_string(sh->ws, 0, (lxw_col_t)c, fields[i].name, x->f_header);
		/* Header text plus room for the autofilter button. */
		note_width(sh, c, (double)strlen(fields[i].name) + 2);
		sh->colfmt[c] = field_format(x, &fields[i]);
		if (strcmp(fields[i].name, "change_pct") == 0)
			sh->col_change_pct = c;
		else if (strcmp(fields[i].name, "spread_bps") == 0)
			sh->col_spread_bps = c;
	}
	worksheet_freeze_panes(sh->ws, 1, 0);
	sh->next_row = 1;
	return 0;
}

/* Local date and time at the exchange as Excel serial numbers (days since
 * 1899-12-30), so a person can sort, filter and compute with them. */
static lxw_error
put_local_time(struct mdas_xlsx *x, struct sheet *sh, const struct mdas_export_rec *rec)
{
	const struct mdas_export_val *v = mdas_export_at(rec, slot.ts_ms);
	const char *ts = mdas_export_str(rec, slot.ts);
	struct mdas_error terr;
	struct tm tm;
	const char *tz = mdas_export_str(rec, slot.exchange_tz);
	int64_t ms, local, days;
	long off = 0;
	lxw_error e;
	size_t i;

	if (v->type == MDAS_VAL_INT)
		ms = v->i;
	else if (ts == NULL || mdas_parse_iso(ts, &ms, NULL) < 0)
		return LXW_NO_ERROR;   /* no time: the cells stay empty */
	/* The reader lets no other time through (bounds.h); the arithmetic
	 * below must not overflow whoever calls us. */
	if (!mdas_bounds_ts_ms_ok(ms))
		return LXW_NO_ERROR;
	if (tz == NULL || *tz == '\0')
		tz = "UTC";
	if (mdas_tz_localtime(tz, ms, &tm, &off, &terr) < 0) {
		for (i = 0; i < x->nbad_zone; i++)
			if (strcmp(x->bad_zone[i], tz) == 0)
				break;
		if (i == x->nbad_zone && x->nbad_zone < MAX_BAD_ZONES) {
			char *dup = strdup(tz);
			if (dup != NULL) {
				x->bad_zone[x->nbad_zone++] = dup;
				warnf(x, "%s; showing UTC instead", terr.msg);
			}
		}
		tz = "UTC";
		off = 0;
	}
	local = ms + (int64_t)off * 1000;
	days = local / 86400000 - (local % 86400000 < 0);
	/* Serial 61 is 1900-03-01; before it Excel's calendar is off by one
	 * (its phantom 1900-02-29), so those rare dates stay blank. */
	if (days + 25569 >= 61) {
		if ((e = worksheet_write_number(sh->ws, sh->next_row, 0,
		    (double)(days + 25569), x->f_date)) != LXW_NO_ERROR)
			return e;
		if ((e = worksheet_write_number(sh->ws, sh->next_row, 1,
		    (double)(local - days * 86400000) / 86400000.0, x->f_time)) != LXW_NO_ERROR)
			return e;
	}
	return put_text(x, sh, 2, tz, strlen(tz), NULL);
}

static int
sheet_row(struct mdas_xlsx *x, struct sheet *sh, const struct mdas_export_rec *rec,
    struct mdas_error *err)
{
	const struct mdas_export_val *v;
	lxw_error e = LXW_NO_ERROR;
	size_t i;
	int c = sh->local_cols;

	if (sh->next_row > ROW_LAST)
		return mdas_error_set(err, "%s: sheet %s is full (Excel holds %lu rows)",
		    x->path, sh->name, (unsigned long)LXW_ROW_MAX);
	if (sh->local_cols && (e = put_local_time(x, sh, rec)) != LXW_NO_ERROR)
		return lxw_fail(x, sh, e, err);
	for (i = 0; i < sh->nfields; i++, c++) {
		v = mdas_export_at(rec, sh->slots[i]);
		if ((e = put_value(x, sh, c, &sh->fields[i], v, sh->colfmt[c])) != LXW_NO_ERROR)
			return lxw_fail(x, sh, e, err);
	}
	sh->next_row++;
	return 0;
}

/* ---- per-symbol bookkeeping ---- */

static struct symstat *
symstat_get(struct mdas_xlsx *x, const char *symbol, const char *source)
{
	unsigned h;
	struct symstat *s;

	if (symbol == NULL)
		symbol = "";
	if (source == NULL)
		source = "";
	h = hash3(symbol, source, NULL);
	for (s = x->sym[h]; s != NULL; s = s->next)
		if (strcmp(s->symbol, symbol) == 0 && strcmp(s->source, source) == 0)
			return s;
	if (x->nsym >= MAX_SYMBOLS) {
		if (x->other == NULL && (x->other = calloc(1, sizeof *x->other)) != NULL) {
			x->other->symbol = xstrdup(x, "(other symbols)");
			x->other->source = xstrdup(x, "");
			warnf(x, "more than %d symbols: Summary counts the rest together",
			    MAX_SYMBOLS);
		}
		return x->other;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		x->nomem = 1;
		return NULL;
	}
	s->symbol = xstrdup(x, symbol);
	s->source = xstrdup(x, source);
	if (s->symbol == NULL || s->source == NULL) {
		free(s->symbol);
		free(s->source);
		free(s);
		return NULL;
	}
	s->next = x->sym[h];
	x->sym[h] = s;
	x->nsym++;
	return s;
}

static void
series_note(struct mdas_xlsx *x, const struct mdas_export_rec *rec, lxw_row_t row)
{
	const char *symbol = mdas_export_str(rec, slot.symbol);
	const char *source = mdas_export_str(rec, slot.source);
	const char *interval = mdas_export_str(rec, slot.interval);
	struct series *s = x->ser_last_hit;
	unsigned h;

	symbol = symbol ? symbol : "";
	source = source ? source : "";
	interval = interval ? interval : "";
	/* Bars of one series arrive together: the last one hit is the usual
	 * answer, and the hash table the rest of the time. */
	if (s == NULL || strcmp(s->symbol, symbol) != 0 || strcmp(s->source, source) != 0 ||
	    strcmp(s->interval, interval) != 0) {
		h = hash3(symbol, source, interval);
		for (s = x->ser[h]; s != NULL; s = s->next)
			if (strcmp(s->symbol, symbol) == 0 && strcmp(s->source, source) == 0 &&
			    strcmp(s->interval, interval) == 0)
				break;
		if (s == NULL) {
			if (x->nser >= MAX_CHARTS) {
				if (!x->charts_capped_warned)
					warnf(x, "more than %d bar series: charting the first %d",
					    MAX_CHARTS, MAX_CHARTS);
				x->charts_capped_warned = 1;
				return;
			}
			if ((s = calloc(1, sizeof *s)) == NULL) {
				x->nomem = 1;
				return;
			}
			s->symbol = xstrdup(x, symbol);
			s->source = xstrdup(x, source);
			s->interval = xstrdup(x, interval);
			s->currency = xstrdup(x, mdas_export_str(rec, slot.currency));
			s->next = x->ser[h];
			x->ser[h] = s;
			if (x->ser_tail != NULL)
				x->ser_tail->order = s;
			else
				x->ser_first = s;
			x->ser_tail = s;
			x->nser++;
		}
		x->ser_last_hit = s;
	}
	if (s->nruns + s->dropped > 0 && s->prev_row + 1 == row) {
		if (!s->in_dropped)
			s->last[s->nruns - 1] = row;
	} else if (s->nruns < MAX_RUNS) {
		s->first[s->nruns] = s->last[s->nruns] = row;
		s->nruns++;
	} else {
		s->dropped++;
		s->in_dropped = 1;
	}
	s->prev_row = row;
}

/* The cell of a slot of rec, copied for Summary. */
static char *
summary_field(struct mdas_xlsx *x, const struct mdas_export_rec *rec, int i)
{
	struct mdas_cell cell;
	const char *v;
	size_t n;

	v = mdas_export_val_cell(mdas_export_at(rec, i), &cell, &n);
	return xml_dup(x, v, n, "Summary");
}

/* ---- public ---- */

static int
kind_of(const char *type)
{
	int k;

	for (k = 0; k < K_N; k++)
		if (type != NULL && strcmp(type, kind_names[k]) == 0)
			return k;
	return -1;
}

unsigned long
mdas_xlsx_count(const struct mdas_xlsx *x, const char *type)
{
	int k = kind_of(type);

	return k < 0 ? 0 : x->count[k];
}

struct mdas_xlsx *
mdas_xlsx_new(const char *path, const struct mdas_xlsx_options *opt,
    struct mdas_error *err)
{
	struct mdas_xlsx *x;
	lxw_workbook_options wo = { .constant_memory = LXW_TRUE, .tmpdir = NULL,
	    .use_zip64 = LXW_TRUE };
	lxw_doc_properties props = { 0 };
	char comments[200];

	slots_init();
	if ((x = calloc(1, sizeof *x)) == NULL) {
		mdas_error_errno(err, errno, "out of memory");
		return NULL;
	}
	x->path = strdup(opt->name != NULL ? opt->name : path);
	x->run_id = strdup(opt->run_id ? opt->run_id : "");
	x->generated_at = strdup(opt->generated_at ? opt->generated_at : "");
	x->warn = opt->warn;
	x->warn_arg = opt->warn_arg;
	if (x->path == NULL || x->run_id == NULL || x->generated_at == NULL) {
		mdas_error_errno(err, ENOMEM, "out of memory");
		goto fail;
	}
	wo.tmpdir = (char *)opt->tmpdir;
	/* zip64 so a million-row sheet (over 4 GB of XML is possible with
	 * long rows) never fails at the very end. */
	if ((x->wb = workbook_new_opt(path, &wo)) == NULL) {
		mdas_error_errno(err, errno, "%s: cannot start the workbook", path);
		goto fail;
	}
	make_formats(x);
	props.title = "mdas market data";
	snprintf(comments, sizeof comments, "run %s, generated %s", x->run_id,
	    x->generated_at);
	props.comments = comments;
	workbook_set_properties(x->wb, &props);
	workbook_set_custom_property_string(x->wb, "mdas_run_id", x->run_id);
	/* All data sheets now, so they stand in the same order in every
	 * workbook; the empty ones are hidden at the end. */
	if (sheet_open(x, &x->quotes, "Quotes", mdas_record_fields, mdas_record_nfields,
	    3, err) < 0 ||
	    sheet_open(x, &x->bars, "Bars", mdas_record_fields, mdas_record_nfields,
	    3, err) < 0 ||
	    sheet_open(x, &x->events, "Events", mdas_event_fields, mdas_event_nfields,
	    3, err) < 0 ||
	    sheet_open(x, &x->errors, "Errors", mdas_export_error_fields,
	    mdas_export_error_nfields, 0, err) < 0)
		goto fail;
	return x;
fail:
	mdas_xlsx_free(x);
	return NULL;
}

int
mdas_xlsx_add_rec(struct mdas_xlsx *x, const struct mdas_export_rec *rec,
    struct mdas_error *err)
{
	const char *type = mdas_export_str(rec, slot.type);
	struct symstat *st;
	struct sheet *sh;
	int k = kind_of(type), rc;

	if (k < 0)
		return mdas_error_set(err, "record type %s%s%s is not exported",
		    type ? "\"" : "", type ? type : "missing", type ? "\"" : "");
	switch (k) {
	case K_QUOTE: sh = &x->quotes; break;
	case K_BAR: sh = &x->bars; break;
	case K_DIVIDEND: case K_SPLIT: sh = &x->events; break;
	default: sh = &x->errors; break;
	}
	if (k == K_BAR)
		series_note(x, rec, sh->next_row);
	if ((rc = sheet_row(x, sh, rec, err)) < 0)
		return rc;
	x->count[k]++;
	st = symstat_get(x, mdas_export_str(rec, slot.symbol), mdas_export_str(rec, slot.source));
	if (st != NULL) {
		st->n[k]++;
		if (k == K_ERROR && st->fail_msg == NULL) {
			/* As the Errors sheet renders them (a code may be a
			 * number: Binance's -1121, an HTTP status). */
			st->fail_stage = summary_field(x, rec, slot.stage);
			st->fail_code = summary_field(x, rec, slot.code);
			st->fail_msg = summary_field(x, rec, slot.message);
			if (st->fail_msg != NULL && strlen(st->fail_msg) > FAIL_MSG_MAX) {
				st->fail_msg[FAIL_MSG_MAX] = '\0';
				trim_utf8(st->fail_msg);
			}
		}
	}
	if (x->nomem)
		return mdas_error_errno(err, ENOMEM, "%s", x->path);
	return 0;
}

int
mdas_xlsx_add(struct mdas_xlsx *x, struct json_object *rec, struct mdas_error *err)
{
	const char *type = mdas_json_any_str(rec, "type");
	enum mdas_export_kind k = MDAS_EXPORT_ERROR;
	struct mdas_export_rec r;

	/* A data record's slots as the reader fills them; any other type
	 * (errors, and those refused) with every slot. */
	if (type != NULL && (strcmp(type, "quote") == 0 || strcmp(type, "bar") == 0))
		k = MDAS_EXPORT_RECORD;
	else if (type != NULL && (strcmp(type, "dividend") == 0 || strcmp(type, "split") == 0))
		k = MDAS_EXPORT_EVENT;
	mdas_export_rec_from_json(&r, k, rec);
	return mdas_xlsx_add_rec(x, &r, err);
}

/* Filters, conditional formats and widths: all need the last row, which
 * constant_memory mode lets us give only now, after the rows. */
static void
sheet_finish(struct mdas_xlsx *x, struct sheet *sh)
{
	lxw_row_t last = sh->next_row - 1;
	int c;

	if (sh->ws == NULL)
		return;
	/* Quotes is the active sheet and stays visible, even when empty. */
	if (last < 1 && sh != &x->quotes)
		worksheet_hide(sh->ws);
	worksheet_autofilter(sh->ws, 0, 0, last, (lxw_col_t)(sh->ncols - 1));
	for (c = 0; c < sh->ncols && c < MAX_COLS; c++) {
		double w = sh->width[c] + 1;
		worksheet_set_column(sh->ws, (lxw_col_t)c, (lxw_col_t)c,
		    w > WIDTH_MAX ? WIDTH_MAX : w, NULL);
	}
	if (last < 1)
		return;
	if (sh->col_change_pct >= 0) {
		lxw_conditional_format up = { 0 }, down = { 0 };
		up.type = down.type = LXW_CONDITIONAL_TYPE_CELL;
		up.criteria = LXW_CONDITIONAL_CRITERIA_GREATER_THAN;
		down.criteria = LXW_CONDITIONAL_CRITERIA_LESS_THAN;
		up.value = down.value = 0;
		up.format = x->f_up;
		down.format = x->f_down;
		worksheet_conditional_format_range(sh->ws, 1, (lxw_col_t)sh->col_change_pct,
		    last, (lxw_col_t)sh->col_change_pct, &up);
		worksheet_conditional_format_range(sh->ws, 1, (lxw_col_t)sh->col_change_pct,
		    last, (lxw_col_t)sh->col_change_pct, &down);
	}
	if (sh->col_spread_bps >= 0) {
		/* Tight spreads green, wide ones red. */
		lxw_conditional_format scale = { 0 };
		scale.type = LXW_CONDITIONAL_3_COLOR_SCALE;
		scale.min_color = 0x63BE7B;
		scale.mid_color = 0xFFEB84;
		scale.max_color = 0xF8696B;
		worksheet_conditional_format_range(sh->ws, 1, (lxw_col_t)sh->col_spread_bps,
		    last, (lxw_col_t)sh->col_spread_bps, &scale);
	}
}

static int
symstat_cmp(const void *a, const void *b)
{
	const struct symstat *sa = *(struct symstat *const *)a;
	const struct symstat *sb = *(struct symstat *const *)b;
	int c = strcmp(sa->symbol, sb->symbol);

	return c != 0 ? c : strcmp(sa->source, sb->source);
}

/* Text on Summary: what XML can hold, within Excel's cell limit; an
 * empty text is no cell. */
static void
summary_text(struct mdas_xlsx *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c,
    const char *s)
{
	char *d = xml_strdup(x, s, "Summary");

	if (d == NULL)
		return;
	if (strlen(d) > CELL_TEXT_MAX) {
		d[CELL_TEXT_MAX] = '\0';
		trim_utf8(d);
	}
	if (*d != '\0')
		worksheet_write_string(ws, r, c, d, NULL);
	free(d);
}

static int
write_summary(struct mdas_xlsx *x, struct mdas_error *err)
{
	static const char *const head[] = { "Symbol", "Source", "Quotes", "Bars",
	    "Dividends", "Splits", "Errors" };
	static const char *const fhead[] = { "Symbol", "Source", "Stage", "Code", "Message" };
	static const char *const labels[K_N] = { "Quotes", "Bars", "Dividends",
	    "Splits", "Errors" };
	lxw_worksheet *ws;
	struct symstat **v = NULL;
	size_t i, n = 0, nfail = 0;
	lxw_row_t r = 0;
	int k;

	if ((ws = add_sheet(x, "Summary")) == NULL)
		return mdas_error_errno(err, errno, "%s: cannot start sheet Summary", x->path);
	if ((v = calloc(x->nsym + 1, sizeof *v)) == NULL)
		return mdas_error_errno(err, ENOMEM, "%s", x->path);
	for (i = 0; i < HASH_SIZE; i++)
		for (struct symstat *s = x->sym[i]; s != NULL; s = s->next)
			v[n++] = s;
	qsort(v, n, sizeof *v, symstat_cmp);
	if (x->other != NULL)
		v[n++] = x->other;

	worksheet_write_string(ws, r++, 0, "mdas market data export", x->f_title);
	worksheet_write_string(ws, r, 0, "Run ID", x->f_header);
	worksheet_write_string(ws, r++, 1, x->run_id, NULL);
	worksheet_write_string(ws, r, 0, "Generated at (UTC)", x->f_header);
	worksheet_write_string(ws, r++, 1, x->generated_at, NULL);
	worksheet_write_string(ws, r, 0, "Records", x->f_header);
	worksheet_write_number(ws, r++, 1,
	    (double)(x->count[K_QUOTE] + x->count[K_BAR] + x->count[K_DIVIDEND] +
	    x->count[K_SPLIT]), x->f_count);
	for (k = 0; k < K_N; k++) {
		worksheet_write_string(ws, r, 0, labels[k], x->f_header);
		worksheet_write_number(ws, r++, 1, (double)x->count[k], x->f_count);
	}
	r++;
	worksheet_write_string(ws, r++, 0, "Records per symbol and source", x->f_title);
	for (k = 0; k < 7; k++)
		worksheet_write_string(ws, r, (lxw_col_t)k, head[k], x->f_header);
	r++;
	for (i = 0; i < n; i++, r++) {
		summary_text(x, ws, r, 0, v[i]->symbol);
		summary_text(x, ws, r, 1, v[i]->source);
		for (k = 0; k < K_N; k++)
			worksheet_write_number(ws, r, (lxw_col_t)(k + 2), (double)v[i]->n[k],
			    x->f_count);
		if (v[i]->n[K_ERROR] > 0)
			nfail++;
	}
	r++;
	worksheet_write_string(ws, r++, 0, "Failed symbols", x->f_title);
	if (nfail == 0)
		worksheet_write_string(ws, r++, 0, "none", NULL);
	else {
		for (k = 0; k < 5; k++)
			worksheet_write_string(ws, r, (lxw_col_t)k, fhead[k], x->f_header);
		r++;
		for (i = 0; i < n; i++) {
			if (v[i]->n[K_ERROR] == 0)
				continue;
			summary_text(x, ws, r, 0, v[i]->symbol);
			summary_text(x, ws, r, 1, v[i]->source);
			summary_text(x, ws, r, 2, v[i]->fail_stage);
			summary_text(x, ws, r, 3, v[i]->fail_code);
			summary_text(x, ws, r, 4, v[i]->fail_msg);
			r++;
		}
	}
	worksheet_set_column(ws, 0, 0, 28, NULL);
	worksheet_set_column(ws, 1, 1, 24, NULL);
	worksheet_set_column(ws, 2, 6, 11, NULL);
	free(v);
	if (x->nomem)
		return mdas_error_errno(err, ENOMEM, "%s", x->path);
	return 0;
}

/* Daily and longer bars are charted against the local date; intraday
 * ones against the UTC timestamp, which is unique per bar. */
static int
daily_interval(const char *iv)
{
	size_t n = strlen(iv);

	return n > 1 && (iv[n - 1] == 'd' || iv[n - 1] == 'w' || iv[n - 1] == 'M' ||
	    strcmp(iv + n - 2, "wk") == 0 || strcmp(iv + n - 2, "mo") == 0);
}

static int
write_charts(struct mdas_xlsx *x, struct mdas_error *err)
{
	lxw_worksheet *ws;
	struct series *s;
	lxw_row_t at = 2;
	int close_col = x->bars.local_cols +
	    mdas_field_index(mdas_record_fields, mdas_record_nfields, "close");
	int ts_col = x->bars.local_cols +
	    mdas_field_index(mdas_record_fields, mdas_record_nfields, "ts");
	char title[256], name[128], yname[64];
	int i;

	if (x->ser_first == NULL)
		return 0;
	if ((ws = add_sheet(x, "Charts")) == NULL)
		return mdas_error_errno(err, errno, "%s: cannot start sheet Charts", x->path);
	worksheet_write_string(ws, 0, 0, "Close over time, one chart per series (data on sheet Bars)",
	    x->f_title);
	for (s = x->ser_first; s != NULL; s = s->order) {
		lxw_chart *ch = workbook_add_chart(x->wb, LXW_CHART_LINE);
		lxw_chart_options co = { .x_scale = 1.6, .y_scale = 1.1 };
		int daily = daily_interval(s->interval);
		lxw_col_t cat = (lxw_col_t)(daily ? 0 : ts_col);
		/* Chart text as XML can hold it; libxlsxwriter takes a name
		 * that starts with '=' for a formula, so such a symbol gets a
		 * leading ' as in the CSV. */
		char *sym = xml_strdup(x, s->symbol, "Charts");
		char *src = xml_strdup(x, s->source, "Charts");
		char *iv = xml_strdup(x, s->interval, "Charts");
		char *cur = xml_strdup(x, s->currency, "Charts");
		const char *q = sym != NULL && sym[0] == '=' ? "'" : "";

		if (ch == NULL || sym == NULL || src == NULL || iv == NULL || cur == NULL) {
			free(sym);
			free(src);
			free(iv);
			free(cur);
			return mdas_error_errno(err, ENOMEM, "%s", x->path);
		}
		if (s->nruns > 1 || s->dropped)
			warnf(x, "%s (%s, %s): bars are not contiguous; charting %d of %d pieces",
			    s->symbol, s->source, s->interval, s->nruns, s->nruns + s->dropped);
		for (i = 0; i < s->nruns; i++) {
			lxw_chart_series *se = chart_add_series(ch, NULL, NULL);
			if (se == NULL) {
				free(sym);
				free(src);
				free(iv);
				free(cur);
				return mdas_error_errno(err, ENOMEM, "%s", x->path);
			}
			chart_series_set_categories(se, "Bars", s->first[i], cat, s->last[i], cat);
			chart_series_set_values(se, "Bars", s->first[i], (lxw_col_t)close_col,
			    s->last[i], (lxw_col_t)close_col);
			if (s->nruns > 1)
				snprintf(name, sizeof name, "%s%s rows %lu-%lu", q, sym,
				    (unsigned long)s->first[i] + 1, (unsigned long)s->last[i] + 1);
			else
				snprintf(name, sizeof name, "%s%s", q, sym);
			trim_utf8(name);
			chart_series_set_name(se, name);
		}
		snprintf(title, sizeof title, "%s%s close (%s, %s)", q, sym, src, iv);
		trim_utf8(title);
		chart_title_set_name(ch, title);
		chart_axis_set_name(ch->x_axis, daily ? "Date (exchange time)" : "ts (UTC)");
		snprintf(yname, sizeof yname, "close%s%s%s", *cur ? " (" : "", cur,
		    *cur ? ")" : "");
		trim_utf8(yname);
		chart_axis_set_name(ch->y_axis, yname);
		chart_axis_set_num_format(ch->y_axis, "#,##0.00");
		if (s->nruns <= 1)
			chart_legend_set_position(ch, LXW_CHART_LEGEND_NONE);
		worksheet_insert_chart_opt(ws, at, 0, ch, &co);
		at += 18;
		free(sym);
		free(src);
		free(iv);
		free(cur);
	}
	return 0;
}

int
mdas_xlsx_finish(struct mdas_xlsx *x, struct mdas_error *err)
{
	lxw_error e;
	int rc = 0, errnum, q;

	sheet_finish(x, &x->quotes);
	sheet_finish(x, &x->bars);
	sheet_finish(x, &x->events);
	sheet_finish(x, &x->errors);
	if (write_summary(x, err) < 0 || write_charts(x, err) < 0) {
		mdas_xlsx_free(x);
		return -1;
	}
	q = quiet_begin();
	errno = 0;
	e = workbook_close(x->wb);
	errnum = errno;
	quiet_end(q);
	x->wb = NULL;
	if (e != LXW_NO_ERROR) {
		/* libxlsxwriter's message is generic ("Zip generic error
		 * ZIP_ERRNO ..."); errno, when set, is the real reason. */
		if (errnum != 0)
			rc = mdas_error_errno(err, errnum, "%s", x->path);
		else
			rc = mdas_error_set(err, "%s: %s", x->path, lxw_strerror(e));
	}
	mdas_xlsx_free(x);
	return rc;
}

static void
free_sheet_chains(struct mdas_xlsx *x)
{
	size_t i;

	for (i = 0; i < HASH_SIZE; i++) {
		struct symstat *s, *sn;
		struct series *r, *rn;
		for (s = x->sym[i]; s != NULL; s = sn) {
			sn = s->next;
			free(s->symbol);
			free(s->source);
			free(s->fail_stage);
			free(s->fail_code);
			free(s->fail_msg);
			free(s);
		}
		for (r = x->ser[i]; r != NULL; r = rn) {
			rn = r->next;
			free(r->symbol);
			free(r->source);
			free(r->interval);
			free(r->currency);
			free(r);
		}
	}
}

void
mdas_xlsx_free(struct mdas_xlsx *x)
{
	size_t i;

	if (x == NULL)
		return;
	if (x->wb != NULL)
		lxw_workbook_free(x->wb);   /* abandons it: nothing is written */
	free_sheet_chains(x);
	if (x->other != NULL) {
		free(x->other->symbol);
		free(x->other->source);
		free(x->other->fail_stage);
		free(x->other->fail_code);
		free(x->other->fail_msg);
		free(x->other);
	}
	for (i = 0; i < x->nbad_zone; i++)
		free(x->bad_zone[i]);
	free(x->path);
	free(x->run_id);
	free(x->generated_at);
	free(x);
}
