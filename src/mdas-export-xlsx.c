/* mdas-export-xlsx: unified records on stdin -> an Excel workbook for people. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export.h"
#include "fsutil.h"
#include "log.h"
#include "timeutil.h"
#include "xlsx.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s [OPTION]...\n"
	    "Read unified records (NDJSON) on standard input and write an Excel\n"
	    "workbook DIR/PREFIX_RUNID.xlsx atomically: sheets Quotes, Bars, Events,\n"
	    "Errors, Summary and Charts.  Print the path written.\n\n"
	    "      --run-id ID       run ID for the file name (default: $MDAS_RUN_ID,\n"
	    "                        else a new one, as mdas-runid allocates)\n"
	    "      --output-dir DIR  directory of the file (default: export.dir)\n"
	    "  -o, --output FILE     write exactly FILE instead\n"
	    "      --force           replace an existing file\n"
	    "      --config PATH     configuration file\n"
	    "  -q, --quiet           print errors only\n"
	    "  -v, --verbose         print debug messages\n"
	    "  -h, --help            show this help and exit\n"
	    "  -V, --version         show the version and exit\n",
	    mdas_log_progname());
}

static void
print_warning(void *arg, const char *msg)
{
	(void)arg;
	mdas_warn("%s", msg);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MDAS_EXPORT_LONGOPTS,
		MDAS_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mdas_export_opts o = MDAS_EXPORT_OPTS_INIT;
	struct mdas_xlsx_options xo = { 0 };
	struct mdas_export *x = NULL;
	struct mdas_export_out *out = NULL;
	struct mdas_export_reader *r = NULL;
	struct mdas_xlsx *wb = NULL;
	struct json_object *rec;
	char *final = NULL;
	struct mdas_error err;
	char now[MDAS_ISO_MAX], dir[4096];
	enum mdas_export_kind k;
	int c, status = MDAS_EXIT_FAILURE;

	mdas_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:qvhV", longopts, NULL)) != -1) {
		if (mdas_export_getopt(&o, c, optarg))
			continue;
		switch (c) {
		default:
			if ((c = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON)
				return c;
		}
	}
	if (optind < argc)
		return mdas_cli_operand_error(argv[optind], usage);
	/* A zip file is written with seeks, so it cannot go down a pipe. */
	if (o.output != NULL && mdas_export_output_is_stream(o.output)) {
		if (strcmp(o.output, "-") == 0)
			mdas_errorx("-o -: a workbook cannot be written to standard output");
		else
			mdas_errorx("-o %s: a workbook cannot be written to a FIFO or character device",
			    o.output);
		return MDAS_EXIT_USAGE;
	}
	if ((x = mdas_export_begin(&o, &status)) == NULL)
		return status;
	status = MDAS_EXIT_FAILURE;
	if ((out = mdas_export_out_open(x, ".xlsx", 1, &err)) == NULL) {
		mdas_errorx("%s", err.msg);
		goto done;
	}
	/* libxlsxwriter's row scratch files go beside the output: the same
	 * file system, where there is room for the result anyway (a tmpfs
	 * /tmp would turn "constant memory" back into memory). */
	mdas_dirname(mdas_export_out_path(out), dir, sizeof dir);
	mdas_format_iso_ms(mdas_now_ms(), now);
	xo.name = mdas_export_out_path(out);
	xo.run_id = mdas_export_run_id(x);
	xo.generated_at = now;
	xo.tmpdir = dir;
	xo.warn = print_warning;
	if ((wb = mdas_xlsx_new(mdas_export_out_tmp_path(out), &xo, &err)) == NULL ||
	    (r = mdas_export_reader_new(stdin, "<stdin>")) == NULL) {
		mdas_errorx("%s", wb == NULL ? err.msg : "out of memory");
		goto done;
	}
	while ((k = mdas_export_next(r, &rec, &err)) > 0) {
		if (mdas_xlsx_add(wb, rec, &err) < 0) {
			mdas_errorx("%s", err.msg);
			goto done;
		}
	}
	if (k == MDAS_EXPORT_IOERR) {
		mdas_errorx("%s", err.msg);
		goto done;
	}
	mdas_debug("%lu quotes, %lu bars, %lu dividends, %lu splits, %lu errors",
	    mdas_xlsx_count(wb, "quote"), mdas_xlsx_count(wb, "bar"),
	    mdas_xlsx_count(wb, "dividend"), mdas_xlsx_count(wb, "split"),
	    mdas_xlsx_count(wb, "error"));
	c = mdas_xlsx_finish(wb, &err);
	wb = NULL;
	if (c < 0) {
		mdas_errorx("%s", err.msg);
		goto done;
	}
	/* commit frees out whatever happens: keep its name first. */
	if ((final = strdup(mdas_export_out_path(out))) == NULL) {
		mdas_errorx("out of memory");
		goto done;
	}
	c = mdas_export_out_commit(out, &err);
	out = NULL;
	if (c < 0) {
		mdas_errorx("%s", err.msg);
		goto done;
	}
	printf("%s\n", final);
	status = mdas_export_status(r);
done:
	free(final);
	mdas_xlsx_free(wb);
	mdas_export_out_abort(out);
	mdas_export_reader_free(r);
	mdas_export_free(x);
	if (mdas_close_stdout() < 0)
		status = MDAS_EXIT_FAILURE;
	return status;
}
