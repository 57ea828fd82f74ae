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

/* True when text s (len bytes) must be neutralized as described above. */
int mdas_csv_is_formula(const char *s, size_t len);

#endif
