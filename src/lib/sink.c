/* sink.c: the one main() of every exporter (sink.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export.h"
#include "log.h"
#include "sink.h"

/* mdas_cli_option() takes a usage function without a context, and a
 * process runs one sink. */
static const struct mdas_sink *the_sink;

/* The input's name in messages, as the reader's own say it. */
static const char input_name[] = "<stdin>";

/* The shared lines in the column of the sinks' own (sink.h). */
static void
usage(FILE *fp)
{
	const struct mdas_sink *s = the_sink;

	fprintf(fp, "Usage: %s [OPTION]...\n", mdas_log_progname());
	if (s->help != NULL)
		fputs(s->help, fp);
	fputs("      --run-id ID        run ID of the output (default: $MDAS_RUN_ID, else a new one)\n",
	    fp);
	if (s->flags & MDAS_SINK_FILES) {
		fputs("      --output-dir DIR   write into DIR (default: export.dir from the configuration)\n",
		    fp);
		if (s->flags & MDAS_SINK_NO_STREAM)
			fputs("  -o, --output FILE      write to FILE instead (not '-', a FIFO or a device)\n",
			    fp);
		else
			fputs("  -o, --output FILE      write to FILE instead ('-': standard output)\n",
			    fp);
		fputs("      --force            replace an existing file\n", fp);
	}
	if (s->options != NULL)
		fputs(s->options, fp);
	fputs("      --config PATH      configuration file\n"
	    "  -q, --quiet            print errors only\n"
	    "  -v, --verbose          print debug messages\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n", fp);
}

/* The shared export options this sink takes. */
static int
shared_export_option(const struct mdas_sink *s, int c)
{
	if (c == MDAS_EXPORT_OPT_CONFIG || c == MDAS_EXPORT_OPT_RUN_ID)
		return 1;
	return (s->flags & MDAS_SINK_FILES) && (c == MDAS_EXPORT_OPT_OUTPUT_DIR ||
	    c == MDAS_EXPORT_OPT_FORCE || c == 'o');
}

/* Whether c is one of the sink's own option codes. */
static int
own_option(const struct mdas_sink *s, int c)
{
	const struct option *lo;

	if (c > 0 && c < 256 && c != ':' && s->shortopts != NULL &&
	    strchr(s->shortopts, c) != NULL)
		return 1;
	for (lo = s->longopts; lo != NULL && lo->name != NULL; lo++)
		if (lo->flag == NULL && lo->val == c)
			return 1;
	return 0;
}

/* The merged option table and optstring (malloc'ed): the sink's own,
 * then the shared export options it takes, then the ones of every
 * program. */
static int
build_options(const struct mdas_sink *s, struct option **longopts, char **shortopts)
{
	static const struct option export[] = { MDAS_EXPORT_LONGOPTS };
	static const struct option cli[] = { MDAS_CLI_LONGOPTS };
	const char *own = s->shortopts != NULL ? s->shortopts : "";
	size_t n = 0, i, at = 0, len = strlen(own) + sizeof("o:qvhV");

	while (s->longopts != NULL && s->longopts[n].name != NULL)
		n++;
	*longopts = calloc(n + sizeof(export) / sizeof(export[0]) +
	    sizeof(cli) / sizeof(cli[0]) + 1, sizeof(**longopts));
	if (*longopts == NULL || (*shortopts = malloc(len)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		(*longopts)[at++] = s->longopts[i];
	for (i = 0; i < sizeof(export) / sizeof(export[0]); i++)
		if (shared_export_option(s, export[i].val))
			(*longopts)[at++] = export[i];
	for (i = 0; i < sizeof(cli) / sizeof(cli[0]); i++)
		(*longopts)[at++] = cli[i];
	/* The zero entry that ends the table is calloc's. */
	snprintf(*shortopts, len, "%s%sqvhV",
	    (s->flags & MDAS_SINK_FILES) ? "o:" : "", own);
	return 0;
}

/* Options and operands: MDAS_CLI_GO_ON, or the exit status. */
static int
parse_options(const struct mdas_sink *s, void *st, int argc, char **argv,
    struct mdas_export_opts *o)
{
	struct option *longopts = NULL;
	char *shortopts = NULL;
	int c, status = MDAS_CLI_GO_ON;

	if (build_options(s, &longopts, &shortopts) != 0) {
		mdas_errorx("%s", strerror(ENOMEM));
		status = MDAS_EXIT_FAILURE;
		goto done;
	}
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (shared_export_option(s, c)) {
			mdas_export_getopt(o, c, optarg);
			continue;
		}
		if (s->option != NULL && own_option(s, c)) {
			if ((c = s->option(st, c, optarg)) != MDAS_EXIT_OK) {
				status = c;
				goto done;
			}
			continue;
		}
		if ((status = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON)
			goto done;
	}
	if (optind < argc) {
		status = mdas_cli_operand_error(argv[optind], usage);
		goto done;
	}
	/* A zip file is written with seeks, so it cannot go down a pipe;
	 * say so before anything is opened. */
	if ((s->flags & MDAS_SINK_NO_STREAM) && o->output != NULL &&
	    mdas_export_output_is_stream(o->output)) {
		const char *noun = s->noun != NULL ? s->noun : "the output";

		if (strcmp(o->output, "-") == 0)
			mdas_errorx("-o -: %s cannot be written to standard output", noun);
		else
			mdas_errorx("-o %s: %s cannot be written to a FIFO or character device",
			    o->output, noun);
		status = MDAS_EXIT_USAGE;
	}
done:
	free(longopts);
	free(shortopts);
	return status;
}

/* open(), the records, finish(): the exit status. */
static int
load(const struct mdas_sink *s, void *st, struct mdas_export *x)
{
	struct mdas_export_reader *r = NULL;
	struct json_object *rec;
	struct mdas_error err;
	enum mdas_export_kind k;
	unsigned long rejected = 0, line;
	int rc, status = MDAS_EXIT_FAILURE;

	mdas_error_clear(&err);
	if ((rc = s->open(st, x, &err)) != 0) {
		mdas_errorx("%s", err.msg);
		return rc == MDAS_SINK_REFUSED ? MDAS_EXIT_USAGE : MDAS_EXIT_FAILURE;
	}
	if ((r = mdas_export_reader_new(stdin, input_name)) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		return MDAS_EXIT_FAILURE;
	}
	while ((k = mdas_export_next(r, &rec, &err)) > 0) {
		line = mdas_export_line(r);
		if ((rc = s->put(st, k, rec, line, &err)) == 0)
			continue;
		if (rc == MDAS_SINK_REJECTED) {
			/* Worded like the reader's own bad lines. */
			mdas_errorx("%s:%lu: %s", input_name, line, err.msg);
			rejected++;
			continue;
		}
		mdas_errorx("%s", err.msg);
		goto done;
	}
	if (k == MDAS_EXPORT_IOERR) {
		/* A partial input must not look like a complete export. */
		mdas_errorx("%s", err.msg);
		goto done;
	}
	if ((rc = s->finish(st, x, r, &err)) < 0) {
		mdas_errorx("%s", err.msg);
		goto done;
	}
	if (rc == MDAS_SINK_REJECTED)
		rejected++;       /* the sink named them itself */
	status = rejected > 0 ? MDAS_EXIT_FAILURE : mdas_export_status(r);
done:
	mdas_export_reader_free(r);
	return status;
}

int
mdas_sink_main(const struct mdas_sink *s, int argc, char **argv)
{
	struct mdas_export_opts o = MDAS_EXPORT_OPTS_INIT;
	struct mdas_export *x = NULL;
	void *st;
	int status;

	mdas_log_init(argv[0]);
	the_sink = s;
	if ((st = calloc(1, s->state_size > 0 ? s->state_size : 1)) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		return MDAS_EXIT_FAILURE;
	}
	/* -h and -V have closed standard output already. */
	if ((status = parse_options(s, st, argc, argv, &o)) != MDAS_CLI_GO_ON)
		goto done;
	if (s->needs_run_id != NULL && s->needs_run_id(st) == 0)
		o.no_new_run_id = 1;
	if ((x = mdas_export_begin(&o, &status)) == NULL)
		goto done;
	if (s->instead == NULL || (status = s->instead(st, x)) < 0)
		status = load(s, st, x);
	if (s->done != NULL)
		s->done(st);
	mdas_export_free(x);
	free(st);
	if (mdas_close_stdout() < 0)
		status = MDAS_EXIT_FAILURE;
	return status;
done:
	if (s->done != NULL)
		s->done(st);
	free(st);
	return status;
}
