/* mdas-export-csv: unified records on stdin to an RFC 4180 CSV file. */
#include "config.h"

#include <string.h>

#include "cli.h"
#include "csvout.h"
#include "log.h"
#include "sink.h"

struct csv {
	struct mdas_csv_style style;
	struct mdas_export *x;
	struct mdas_export_out *out, *eout;   /* records, error records */
	struct mdas_csvout *csv, *ecsv;
	unsigned long skipped;          /* error records not written (-o -) */
};

enum { OPT_NO_HEADER = 0x100, OPT_LF };

static int
csv_option(void *st, int c, const char *arg)
{
	struct mdas_csv_style *style = &((struct csv *)st)->style;

	if (c == OPT_NO_HEADER)
		style->no_header = 1;
	else if (c == OPT_LF)
		style->lf = 1;
	else if (mdas_csvout_parse_delimiter(arg, &style->delim) != 0) {
		mdas_errorx("--delimiter: expected one character other than '\"', CR, LF, or 'tab', not '%s'", arg);
		return MDAS_EXIT_USAGE;
	}
	return MDAS_EXIT_OK;
}

static int
csv_open(void *st, struct mdas_export *x, struct mdas_error *err)
{
	struct csv *s = st;

	s->x = x;
	if ((s->out = mdas_export_out_open(x, ".csv", 1, err)) == NULL ||
	    (s->csv = mdas_csvout_table(s->out, mdas_export_fields, mdas_export_nfields,
	    &s->style, err)) == NULL)
		return -1;
	return 0;
}

static int
csv_put(void *st, enum mdas_export_kind k, struct json_object *rec,
    unsigned long line, struct mdas_error *err)
{
	struct csv *s = st;

	(void)line;
	if (k != MDAS_EXPORT_ERROR)
		return mdas_csvout_add(s->csv, rec, err);
	if (mdas_export_to_stdout(s->x)) {
		s->skipped++;
		return 0;
	}
	/* The errors file is made at the first error record. */
	if (s->eout == NULL && ((s->eout = mdas_csvout_open_errors(s->x, err)) == NULL ||
	    (s->ecsv = mdas_csvout_table(s->eout, mdas_export_error_fields,
	    mdas_export_error_nfields, &s->style, err)) == NULL))
		return -1;
	return mdas_csvout_add(s->ecsv, rec, err);
}

static int
csv_finish(void *st, struct mdas_export *x, const struct mdas_export_reader *r,
    struct mdas_error *err)
{
	struct csv *s = st;
	const char *o = mdas_export_output(x);
	int rc;

	(void)r;
	if (s->skipped > 0)
		mdas_warn("%lu error record%s not written: %s holds the records only",
		    s->skipped, s->skipped == 1 ? "" : "s",
		    strcmp(o, "-") == 0 ? "standard output" : o);
	/* The data file first: an errors file alone would be misleading.
	 * Commit frees the output whatever happens. */
	rc = mdas_export_out_commit_print(s->out, err);
	s->out = NULL;
	if (rc == 0 && s->eout != NULL) {
		rc = mdas_export_out_commit_print(s->eout, err);
		s->eout = NULL;
	}
	return rc;
}

static void
csv_done(void *st)
{
	struct csv *s = st;

	mdas_csvout_free(s->csv);
	mdas_csvout_free(s->ecsv);
	mdas_export_out_abort(s->out);
	mdas_export_out_abort(s->eout);
}

static const struct option csv_longopts[] = {
	{ "no-header", no_argument, NULL, OPT_NO_HEADER },
	{ "delimiter", required_argument, NULL, 'd' },
	{ "lf", no_argument, NULL, OPT_LF },
	{ NULL, 0, NULL, 0 },
};

static const struct mdas_sink csv_sink = {
	.help =
	    "Write the unified records read on standard input to a CSV file,\n"
	    "DIR/PREFIX_RUNID.csv, and error records to DIR/PREFIX_RUNID_errors.csv\n"
	    "(only when there are any); print the paths written.\n\n",
	.options =
	    "      --no-header        leave out the header row\n"
	    "  -d, --delimiter C      separate fields with the character C, or 'tab' (default ',')\n"
	    "      --lf               end rows with LF instead of CRLF\n",
	.shortopts = "d:",
	.longopts = csv_longopts,
	.flags = MDAS_SINK_FILES,
	.state_size = sizeof(struct csv),
	.option = csv_option,
	.open = csv_open,
	.put = csv_put,
	.finish = csv_finish,
	.done = csv_done,
};

int
main(int argc, char **argv)
{
	return mdas_sink_main(&csv_sink, argc, argv);
}
