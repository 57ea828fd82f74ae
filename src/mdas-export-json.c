/* mdas-export-json: unified records on stdin to one JSON document (or NDJSON). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export.h"
#include "jsonout.h"
#include "log.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s [OPTION]...\n"
	    "Write the unified records read on standard input to one JSON document,\n"
	    "DIR/PREFIX_RUNID.json, with error records in its \"errors\" array; print\n"
	    "the path written.\n\n"
	    "      --run-id ID        run ID of the file (default: $MDAS_RUN_ID, else a new one)\n"
	    "      --output-dir DIR   write into DIR (default: export.dir from the configuration)\n"
	    "  -o, --output FILE      write to FILE instead ('-': standard output)\n"
	    "      --force            replace an existing file\n"
	    "      --ndjson           write one record per line (DIR/PREFIX_RUNID.ndjson),\n"
	    "                         then the error records\n"
	    "      --config PATH      configuration file\n"
	    "  -q, --quiet            print errors only\n"
	    "  -v, --verbose          print debug messages\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n",
	    mdas_log_progname());
}

enum { OPT_NDJSON = 0x100 };

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MDAS_EXPORT_LONGOPTS,
		{ "ndjson", no_argument, NULL, OPT_NDJSON },
		MDAS_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mdas_export_opts o = MDAS_EXPORT_OPTS_INIT;
	struct mdas_export *x = NULL;
	struct mdas_export_out *out = NULL;
	struct mdas_export_reader *r = NULL;
	struct mdas_jsondoc *doc = NULL;
	struct json_object *rec;
	struct mdas_error err;
	enum mdas_export_kind k;
	char *path = NULL;
	int c, ndjson = 0, status = MDAS_EXIT_FAILURE;

	mdas_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:qvhV", longopts, NULL)) != -1) {
		if (mdas_export_getopt(&o, c, optarg))
			continue;
		switch (c) {
		case OPT_NDJSON: ndjson = 1; break;
		default:
			if ((c = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON)
				return c;
		}
	}
	if (optind < argc)
		return mdas_cli_operand_error(argv[optind], usage);
	if ((x = mdas_export_begin(&o, &status)) == NULL)
		return status;
	status = MDAS_EXIT_FAILURE;
	if ((out = mdas_export_out_open(x, ndjson ? ".ndjson" : ".json", 1, &err)) == NULL) {
		mdas_errorx("%s", err.msg);
		goto done;
	}
	if ((path = strdup(mdas_export_out_path(out))) == NULL ||
	    (r = mdas_export_reader_new(stdin, "<stdin>")) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		goto done;
	}
	/* The atomic temporary is ours from its first byte, so the record
	 * count can be filled in afterwards; standard output cannot. */
	doc = mdas_jsondoc_begin(mdas_export_out_fp(out),
	    mdas_export_out_tmp_path(out) != NULL, ndjson, mdas_export_run_id(x), &err);
	if (doc == NULL) {
		mdas_errorx("%s", err.msg);
		goto done;
	}
	while ((k = mdas_export_next(r, &rec, &err)) > 0)
		if (mdas_jsondoc_add(doc, rec, k, &err) != 0)
			goto write_failed;
	if (k == MDAS_EXPORT_IOERR) {
		/* A partial input must not look like a complete export. */
		mdas_errorx("%s", err.msg);
		goto done;
	}
	if (mdas_jsondoc_finish(doc, &err) != 0)
		goto write_failed;
	mdas_jsondoc_free(doc);
	doc = NULL;
	if (mdas_export_out_commit(out, &err) != 0) {
		out = NULL;
		mdas_errorx("%s", err.msg);
		goto done;
	}
	out = NULL;
	if (!mdas_export_to_stdout(x))
		puts(path);
	status = MDAS_EXIT_OK;
	goto done;
write_failed:
	mdas_errorx("%s: %s", strcmp(path, "-") == 0 ? "standard output" : path, err.msg);
done:
	mdas_jsondoc_free(doc);
	mdas_export_out_abort(out);
	if (r != NULL && status == MDAS_EXIT_OK)
		status = mdas_export_status(r);
	mdas_export_reader_free(r);
	mdas_export_free(x);
	free(path);
	if (mdas_close_stdout() < 0)
		status = MDAS_EXIT_FAILURE;
	return status;
}
