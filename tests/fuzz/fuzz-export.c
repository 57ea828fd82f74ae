/* fuzz-export-*: the exporters' record reader (mdas_export_next_rec in
 * src/lib/export.c, its fast path in fastrec.c) and each writer, driven
 * as src/mdas-export-*.c drive them.  The input is the exporters'
 * standard input (unified records, NDJSON).  Built once per sink
 * (MDAS_FUZZ_SINK, see fuzz.am):
 *
 *   reader  the fast path against the json-c path (mdas_export_next):
 *           the same records, kinds and lines, the same count of bad
 *           lines, and every cell the same (mdas_export_val_cell against
 *           mdas_export_cell), strict UTF-8 within the scratch buffer
 *   csv     csvout.c: the data and errors tables; libcsv reads them back
 *           and every row must have as many fields as the header
 *   json    jsonout.c: the document written to a seekable file, to an
 *           unseekable one (spooled) and as NDJSON; each must be JSON
 *           (strict UTF-8) and record_count must match
 *   xlsx    xlsx.c: a workbook in a scratch directory, removed after
 *
 * Every record the reader accepts must be written (add and finish
 * succeed): a record lost there is silent loss. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "fuzz.h"

#define SINK_READER 0
#define SINK_CSV    1
#define SINK_JSON   2
#define SINK_XLSX   3

#ifndef MDAS_FUZZ_SINK
#define MDAS_FUZZ_SINK SINK_READER
#endif

#if MDAS_FUZZ_SINK == SINK_CSV
#include <csv.h>
#include "csvout.h"
#elif MDAS_FUZZ_SINK == SINK_JSON
#include "jsonout.h"
#elif MDAS_FUZZ_SINK == SINK_XLSX
#include "xlsx.h"
static char scratch_dir[4096];
static char book_path[4200];

static void
remove_scratch_dir(void)
{
	rmdir(scratch_dir);
}
#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
#if MDAS_FUZZ_SINK == SINK_XLSX
	{
		const char *t = getenv("TMPDIR");

		snprintf(scratch_dir, sizeof scratch_dir, "%s/mdas-fuzz-xlsx.XXXXXX",
		    t != NULL && *t != '\0' ? t : "/tmp");
		if (mkdtemp(scratch_dir) == NULL) {
			perror(scratch_dir);
			abort();
		}
		snprintf(book_path, sizeof book_path, "%s/book.xlsx", scratch_dir);
		atexit(remove_scratch_dir);
	}
#endif
	return 0;
}

#if MDAS_FUZZ_SINK == SINK_READER
static void
cells(struct json_object *rec, const struct mdas_export_rec *view,
    const struct mdas_field *f, size_t nf)
{
	struct mdas_cell scratch, js;
	const int *slots = mdas_export_slots(f, nf);
	const char *s, *j;
	size_t i, len, jlen;

	FUZZ_ASSERT(slots != NULL, "no slots");
	for (i = 0; i < nf; i++) {
		j = mdas_export_cell(rec, f[i].name, &js, &jlen);
		s = mdas_export_val_cell(mdas_export_at(view, slots[i]), &scratch, &len);
		FUZZ_ASSERT(s != NULL && len == jlen && memcmp(s, j, len) == 0,
		    "cell %s: '%.*s' on the fast path, '%.*s' through json-c", f[i].name,
		    (int)(len < 200 ? len : 200), s ? s : "", (int)(jlen < 200 ? jlen : 200), j);
		FUZZ_ASSERT(s != NULL, "cell %s: NULL", f[i].name);
		FUZZ_ASSERT(s < scratch.buf || s >= scratch.buf + sizeof scratch.buf ||
		    s + len < scratch.buf + sizeof scratch.buf,
		    "cell %s: %zu bytes past the scratch buffer", f[i].name, len);
		FUZZ_ASSERT(!fuzz_utf8_checked() || fuzz_utf8_bad(s, len) < 0,
		    "cell %s is not strict UTF-8: %.*s", f[i].name,
		    (int)(len < 200 ? len : 200), s);
	}
}
#endif

#if MDAS_FUZZ_SINK == SINK_CSV
struct csv_count {
	size_t fields, want, rows;
};

static void
on_field(void *s, size_t len, void *arg)
{
	((struct csv_count *)arg)->fields++;
}

static void
on_row(int c, void *arg)
{
	struct csv_count *n = arg;

	FUZZ_ASSERT(n->fields == n->want, "CSV row %zu has %zu fields, not %zu",
	    n->rows + 1, n->fields, n->want);
	n->fields = 0;
	n->rows++;
}

/* Reads the CSV back with libcsv (as tests/export-csv.test does). */
static void
csv_check(const char *what, FILE *fp, size_t want, size_t want_rows)
{
	struct csv_parser p;
	struct csv_count n = { 0, want, 0 };
	size_t len;
	char *text = fuzz_take(fp, &len);

	FUZZ_ASSERT(!fuzz_utf8_checked() || fuzz_utf8_bad(text, len) < 0,
	    "%s: not strict UTF-8 at byte %ld", what, fuzz_utf8_bad(text, len));
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		abort();
	FUZZ_ASSERT(csv_parse(&p, text, len, on_field, on_row, &n) == len,
	    "%s: libcsv: %s", what, csv_strerror(csv_error(&p)));
	FUZZ_ASSERT(csv_fini(&p, on_field, on_row, &n) == 0,
	    "%s: libcsv: %s", what, csv_strerror(csv_error(&p)));
	FUZZ_ASSERT(n.rows == want_rows, "%s: %zu rows read back, %zu written",
	    what, n.rows, want_rows);
	csv_free(&p);
	free(text);
}
#endif

#if MDAS_FUZZ_SINK == SINK_JSON
/* The whole document (or each NDJSON line) must be JSON; the document's
 * record_count must be the number of records and events read. */
static void
json_run(const uint8_t *data, size_t size, int seekable, int ndjson)
{
	struct mdas_export_reader *r;
	struct mdas_jsondoc *d;
	const struct mdas_export_rec *rec;
	struct json_object *doc, *count;
	struct mdas_error err;
	enum mdas_export_kind k;
	FILE *in, *out;
	size_t len;
	char *text;

	in = fuzz_input(data, size);
	out = fuzz_scratch();
	if ((r = mdas_export_reader_new(in, "<stdin>")) == NULL)
		abort();
	d = mdas_jsondoc_begin(out, seekable, ndjson, "20261123T101500Z-1", &err);
	FUZZ_ASSERT(d != NULL, "jsondoc_begin: %s", err.msg);
	while ((k = mdas_export_next_rec(r, &rec, &err)) > 0)
		FUZZ_ASSERT(mdas_jsondoc_add(d, rec, k, &err) == 0, "jsondoc_add: %s", err.msg);
	FUZZ_ASSERT(k == MDAS_EXPORT_EOF, "reader: %s", err.msg);
	FUZZ_ASSERT(mdas_jsondoc_finish(d, &err) == 0, "jsondoc_finish: %s", err.msg);
	mdas_jsondoc_free(d);
	text = fuzz_take(out, &len);
	if (ndjson)
		fuzz_assert_json_lines("NDJSON export", text, len);
	else {
		fuzz_assert_json(seekable ? "JSON export" : "JSON export (spooled)", text, len);
		doc = json_tokener_parse(text);
		FUZZ_ASSERT(json_object_object_get_ex(doc, "record_count", &count) &&
		    json_object_get_int64(count) ==
		    (int64_t)(mdas_export_nrecords(r) + mdas_export_nevents(r)),
		    "record_count %s, but %lu records and %lu events were read",
		    json_object_to_json_string(count), mdas_export_nrecords(r),
		    mdas_export_nevents(r));
		json_object_put(doc);
	}
	free(text);
	mdas_export_reader_free(r);
	fclose(in);
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dump(data, size);
#if MDAS_FUZZ_SINK == SINK_READER
	{
		struct mdas_export_reader *r, *fr;
		const struct mdas_export_rec *view;
		struct json_object *rec;
		struct mdas_error err, ferr;
		const struct mdas_field *f;
		enum mdas_export_kind k, fk;
		size_t nf;
		FILE *in = fuzz_input(data, size), *fin = fuzz_input(data, size);

		if ((r = mdas_export_reader_new(in, "<stdin>")) == NULL ||
		    (fr = mdas_export_reader_new(fin, "<stdin>")) == NULL)
			abort();
		for (;;) {
			k = mdas_export_next(r, &rec, &err);
			fk = mdas_export_next_rec(fr, &view, &ferr);
			FUZZ_ASSERT(k == fk && mdas_export_line(r) == mdas_export_line(fr),
			    "kind %d at line %lu through json-c, %d at line %lu on the fast path",
			    (int)k, mdas_export_line(r), (int)fk, mdas_export_line(fr));
			if (k <= 0)
				break;
			FUZZ_ASSERT(json_object_is_type(rec, json_type_object),
			    "kind %d: not an object", (int)k);
			FUZZ_ASSERT(view->kind == k && view->line == mdas_export_line(r),
			    "the view's kind or line");
			if (k == MDAS_EXPORT_ERROR)
				cells(rec, view, mdas_export_error_fields, mdas_export_error_nfields);
			else {
				f = mdas_export_fields_for(k, &nf);
				FUZZ_ASSERT(f != NULL, "no fields for kind %d", (int)k);
				cells(rec, view, f, nf);
				cells(rec, view, mdas_export_fields, mdas_export_nfields);
			}
		}
		FUZZ_ASSERT(k == MDAS_EXPORT_EOF, "reader: %s", err.msg);
		FUZZ_ASSERT(mdas_export_nbad(r) == mdas_export_nbad(fr),
		    "%lu bad lines through json-c, %lu on the fast path",
		    mdas_export_nbad(r), mdas_export_nbad(fr));
		mdas_export_reader_free(r);
		mdas_export_reader_free(fr);
		fclose(in);
		fclose(fin);
	}
#elif MDAS_FUZZ_SINK == SINK_CSV
	{
		struct mdas_export_reader *r;
		struct mdas_csvout *c, *ec;
		const struct mdas_export_rec *rec;
		struct mdas_error err;
		enum mdas_export_kind k;
		size_t rows = 1, erows = 1;
		FILE *in = fuzz_input(data, size), *out = fuzz_scratch(), *eout = fuzz_scratch();

		if ((r = mdas_export_reader_new(in, "<stdin>")) == NULL ||
		    (c = mdas_csvout_new(out, ',', 1)) == NULL ||
		    (ec = mdas_csvout_new(eout, ',', 1)) == NULL)
			abort();
		FUZZ_ASSERT(mdas_csvout_header(c, mdas_export_fields, mdas_export_nfields) == 0 &&
		    mdas_csvout_header(ec, mdas_export_error_fields, mdas_export_error_nfields) == 0,
		    "header not written");
		while ((k = mdas_export_next_rec(r, &rec, &err)) > 0) {
			if (k == MDAS_EXPORT_ERROR) {
				FUZZ_ASSERT(mdas_csvout_row_rec(ec, rec, mdas_export_error_fields,
				    mdas_export_error_nfields) == 0, "error row not written");
				erows++;
			} else {
				FUZZ_ASSERT(mdas_csvout_row_rec(c, rec, mdas_export_fields,
				    mdas_export_nfields) == 0, "row not written");
				rows++;
			}
		}
		FUZZ_ASSERT(k == MDAS_EXPORT_EOF, "reader: %s", err.msg);
		mdas_csvout_free(c);
		mdas_csvout_free(ec);
		csv_check("CSV export", out, mdas_export_nfields, rows);
		csv_check("CSV errors export", eout, mdas_export_error_nfields, erows);
		mdas_export_reader_free(r);
		fclose(in);
	}
#elif MDAS_FUZZ_SINK == SINK_JSON
	json_run(data, size, 1, 0);
	json_run(data, size, 0, 0);
	json_run(data, size, 0, 1);
#elif MDAS_FUZZ_SINK == SINK_XLSX
	{
		struct mdas_xlsx_options xo;
		struct mdas_export_reader *r;
		struct mdas_xlsx *wb;
		const struct mdas_export_rec *rec;
		struct mdas_error err;
		enum mdas_export_kind k;
		FILE *in = fuzz_input(data, size);

		memset(&xo, 0, sizeof xo);
		xo.run_id = "20261123T101500Z-1";
		xo.generated_at = "2026-11-23T10:15:00.123Z";
		xo.tmpdir = scratch_dir;
		if ((r = mdas_export_reader_new(in, "<stdin>")) == NULL)
			abort();
		wb = mdas_xlsx_new(book_path, &xo, &err);
		FUZZ_ASSERT(wb != NULL, "xlsx_new: %s", err.msg);
		while ((k = mdas_export_next_rec(r, &rec, &err)) > 0)
			FUZZ_ASSERT(mdas_xlsx_add_rec(wb, rec, &err) == 0, "xlsx_add: %s", err.msg);
		FUZZ_ASSERT(k == MDAS_EXPORT_EOF, "reader: %s", err.msg);
		FUZZ_ASSERT(mdas_xlsx_finish(wb, &err) == 0, "xlsx_finish: %s", err.msg);
		unlink(book_path);
		mdas_export_reader_free(r);
		fclose(in);
	}
#endif
	return 0;
}
