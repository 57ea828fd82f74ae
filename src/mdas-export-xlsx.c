/* mdas-export-xlsx: unified records on stdin -> an Excel workbook for people. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "sink.h"
#include "timeutil.h"
#include "xlsx.h"

struct xl {
	struct mdas_export_out *out;
	struct mdas_xlsx *wb;
	char now[MDAS_ISO_MAX], dir[4096];
};

static void
print_warning(void *arg, const char *msg)
{
	(void)arg;
	mdas_warn("%s", msg);
}

static int
xl_open(void *st, struct mdas_export *x, struct mdas_error *err)
{
	struct xl *s = st;
	struct mdas_xlsx_options xo = { 0 };

	if ((s->out = mdas_export_out_open(x, ".xlsx", 1, err)) == NULL)
		return -1;
	/* libxlsxwriter's row scratch files go beside the output: the same
	 * file system, where there is room for the result anyway (a tmpfs
	 * /tmp would turn "constant memory" back into memory). */
	mdas_dirname(mdas_export_out_path(s->out), s->dir, sizeof s->dir);
	mdas_format_iso_ms(mdas_now_ms(), s->now);
	xo.name = mdas_export_out_path(s->out);
	xo.run_id = mdas_export_run_id(x);
	xo.generated_at = s->now;
	xo.tmpdir = s->dir;
	xo.warn = print_warning;
	s->wb = mdas_xlsx_new(mdas_export_out_tmp_path(s->out), &xo, err);
	return s->wb != NULL ? 0 : -1;
}

static int
xl_put(void *st, enum mdas_export_kind k, struct json_object *rec,
    unsigned long line, struct mdas_error *err)
{
	(void)k;
	(void)line;
	return mdas_xlsx_add(((struct xl *)st)->wb, rec, err) < 0 ? -1 : 0;
}

static int
xl_finish(void *st, struct mdas_export *x, const struct mdas_export_reader *r,
    struct mdas_error *err)
{
	struct xl *s = st;
	int rc;

	(void)x;
	(void)r;
	mdas_debug("%lu quotes, %lu bars, %lu dividends, %lu splits, %lu errors",
	    mdas_xlsx_count(s->wb, "quote"), mdas_xlsx_count(s->wb, "bar"),
	    mdas_xlsx_count(s->wb, "dividend"), mdas_xlsx_count(s->wb, "split"),
	    mdas_xlsx_count(s->wb, "error"));
	rc = mdas_xlsx_finish(s->wb, err);
	s->wb = NULL;
	if (rc < 0)
		return -1;
	rc = mdas_export_out_commit_print(s->out, err);
	s->out = NULL;  /* freed whatever happened */
	return rc;
}

static void
xl_done(void *st)
{
	struct xl *s = st;

	mdas_xlsx_free(s->wb);
	mdas_export_out_abort(s->out);
}

static const struct mdas_sink xlsx_sink = {
	.help =
	    "Read unified records (NDJSON) on standard input and write an Excel\n"
	    "workbook DIR/PREFIX_RUNID.xlsx atomically: sheets Quotes, Bars, Events,\n"
	    "Errors, Summary and Charts.  Print the path written.\n\n",
	.flags = MDAS_SINK_FILES | MDAS_SINK_NO_STREAM,
	.noun = "a workbook",
	.state_size = sizeof(struct xl),
	.open = xl_open,
	.put = xl_put,
	.finish = xl_finish,
	.done = xl_done,
};

int
main(int argc, char **argv)
{
	return mdas_sink_main(&xlsx_sink, argc, argv);
}
