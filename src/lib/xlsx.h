/* xlsx.h: the human-centric workbook written by mdas-export-xlsx.
 *
 * Records are added one at a time as they arrive and written at once, in
 * libxlsxwriter's constant_memory mode: each sheet keeps its own row
 * order, so memory stays flat however many rows there are.  What has to
 * be known at the end (row counts for autofilter and conditional formats,
 * column widths, per-symbol counts for Summary, the row ranges of each
 * bar series for Charts) is kept per column or per symbol, never per row.
 *
 * Sheets, always in this order (Bars, Events and Errors exist from the
 * start, since the input's types are not known in advance, and are hidden
 * when they stay empty):
 *   Quotes   one row per quote record
 *   Bars     one row per bar
 *   Events   one row per dividend or split
 *   Errors   one row per error record (mdas_export_error_fields)
 *   Summary  run ID, generation time, counts per symbol and source,
 *            failed symbols (stage, code and message of the first error)
 *   Charts   only when there are bars: a line chart of close per series
 *            (symbol, source, interval), referencing ranges of Bars
 * Quotes, Bars and Events start with the local date and time at the
 * exchange (an Excel date and time, computed with mdas_tz_localtime()
 * from ts_ms and exchange_tz) and the zone's name, followed by every
 * schema field under its schema name, in schema order.  Text stays text
 * (a cell is never a formula), numbers are numbers (to 16 significant
 * digits: libxlsxwriter 1.1.4 writes them with %.16G), null is an
 * empty cell, other values are rendered as mdas_export_cell_value() does
 * for the CSV.  Text XML 1.0 cannot hold (C0 controls but tab, LF and CR;
 * U+FFFE, U+FFFF; bytes that are not UTF-8) becomes U+FFFD wherever it
 * goes (cells, Summary, chart titles), with one warning, so the file is
 * well-formed whatever it is given; times outside bounds.h leave the
 * local-time cells empty.
 */
#ifndef MDAS_XLSX_H
#define MDAS_XLSX_H

#include <json-c/json.h>

#include "error.h"
#include "export.h"

struct mdas_xlsx;

struct mdas_xlsx_options {
	const char *name;          /* the path messages name (the final one);
	                            * NULL: the path written */
	const char *run_id;        /* shown on Summary and in the properties */
	const char *generated_at;  /* ISO 8601 UTC, shown on Summary */
	const char *tmpdir;        /* constant_memory scratch files; NULL: system */
	/* Called for each non-fatal problem (a series charted in pieces, a
	 * cell truncated to Excel's limit, an unknown time zone); may be NULL. */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
};

/* Starts a workbook that workbook_close will write to path (normally the
 * temporary of an atomic file; nothing is written there before
 * mdas_xlsx_finish()).  Returns NULL on failure. */
struct mdas_xlsx *mdas_xlsx_new(const char *path,
    const struct mdas_xlsx_options *opt, struct mdas_error *err);

/* Adds one record: quote, bar, dividend, split or error, chosen by its
 * "type" (anything else is an error and nothing is written).  Returns 0,
 * or -1 when the record cannot be written (a sheet full at Excel's
 * 1,048,576 rows, out of memory); the workbook can still be finished. */
int mdas_xlsx_add(struct mdas_xlsx *x, struct json_object *rec,
    struct mdas_error *err);
/* The same for a record's view (mdas_export_next_rec()). */
int mdas_xlsx_add_rec(struct mdas_xlsx *x, const struct mdas_export_rec *rec,
    struct mdas_error *err);

/* Writes Summary and Charts, the widths, filters and conditional
 * formats, and the file itself.  Frees x whatever happens; returns 0 or
 * -1 (the message names the path and the reason, e.g. "File too large").
 * libxlsxwriter's own stderr lines about the failure are suppressed: the
 * caller reports it once, in the program's format. */
int mdas_xlsx_finish(struct mdas_xlsx *x, struct mdas_error *err);

/* Abandons the workbook without writing the file; NULL is accepted. */
void mdas_xlsx_free(struct mdas_xlsx *x);

/* Counts so far, for the caller's own reporting. */
unsigned long mdas_xlsx_count(const struct mdas_xlsx *x, const char *type);

#endif
