/* csvout.h: CSV rows for mdas-export-csv, quoted by libcsv.
 *
 * Fields are RFC 4180: a field that holds the delimiter, a double quote,
 * CR or LF is written in double quotes with inner quotes doubled
 * (libcsv's csv_fwrite2); other fields are written bare; null is the
 * empty field.  Rows end in CRLF (RFC 4180) or, on request, LF.
 *
 * Formula injection: a cell that came from a JSON string and begins with
 * '=', '+', '-', '@', TAB or CR would be run as a formula by a
 * spreadsheet that opens the file, so it is written with a leading
 * apostrophe ("'=HYPERLINK(...)"), which spreadsheets show as text.  A
 * string that is a plain decimal number ("-1121", a Binance error code)
 * is left alone: read as a formula it is just that number.  Numbers are
 * never touched (a negative change stays -1880.95).
 */
#ifndef MDAS_CSVOUT_H
#define MDAS_CSVOUT_H

#include <stdio.h>

#include <json-c/json.h>

#include "error.h"
#include "schema.h"

struct mdas_csvout;

/* A writer on fp (not closed by it) with the given delimiter.  NULL when
 * out of memory. */
struct mdas_csvout *mdas_csvout_new(FILE *fp, unsigned char delim, int crlf);
/* Frees c; NULL is accepted. */
void mdas_csvout_free(struct mdas_csvout *c);

/* The header row: the field names. */
int mdas_csvout_header(struct mdas_csvout *c, const struct mdas_field *fields, size_t n);
/* One row: rec's value of each field, rendered by mdas_export_cell(). */
int mdas_csvout_row(struct mdas_csvout *c, struct json_object *rec,
    const struct mdas_field *fields, size_t n);
/* Both return 0, or -1 when the stream has failed (errno set). */


/* ---- Tables on an exporter's outputs (mdas-export-csv) ---- */

/* How mdas-export-csv writes; all zero is the default. */
struct mdas_csv_style {
	unsigned char delim;   /* 0: ',' */
	int lf;                /* end rows with LF, not CRLF */
	int no_header;         /* leave out the header row */
};

/* --delimiter's argument: one character other than '"', CR and LF, or
 * "tab" (or "\\t").  0 with *out set, or -1. */
int mdas_csvout_parse_delimiter(const char *s, unsigned char *out);

struct mdas_export;
struct mdas_export_out;

/* Opens the output of the error records: DIR/PREFIX_RUNID_errors.csv,
 * or with -o FILE beside it (out.csv -> out_errors.csv, out ->
 * out_errors.csv).  NULL with err (mdas_export_out_open()). */
struct mdas_export_out *mdas_csvout_open_errors(struct mdas_export *x,
    struct mdas_error *err);

/* A writer on out's stream (out must outlive it) for the table of fields
 * (kept, not copied), its header row written unless style->no_header.
 * NULL with err: out of memory, or "PATH: write failed: REASON" (PATH
 * "standard output" for -o -). */
struct mdas_csvout *mdas_csvout_table(struct mdas_export_out *out,
    const struct mdas_field *fields, size_t n, const struct mdas_csv_style *style,
    struct mdas_error *err);
/* A row of the table's fields: 0, or -1 with err as above.  Only for a
 * writer made by mdas_csvout_table(). */
int mdas_csvout_add(struct mdas_csvout *c, struct json_object *rec, struct mdas_error *err);

/* True when text s (len bytes) must be neutralized as described above. */
int mdas_csv_is_formula(const char *s, size_t len);

#endif
