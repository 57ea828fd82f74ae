/* mdas-export-csv: unified records on stdin to an RFC 4180 CSV file. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csvout.h"
#include "export.h"
#include "log.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s [OPTION]...\n"
	    "Write the unified records read on standard input to a CSV file,\n"
	    "DIR/PREFIX_RUNID.csv, and error records to DIR/PREFIX_RUNID_errors.csv\n"
	    "(only when there are any); print the paths written.\n\n"
	    "      --run-id ID        run ID of the files (default: $MDAS_RUN_ID, else a new one)\n"
	    "      --output-dir DIR   write into DIR (default: export.dir from the configuration)\n"
	    "  -o, --output FILE      write to FILE instead ('-': standard output)\n"
	    "      --force            replace an existing file\n"
	    "      --no-header        leave out the header row\n"
	    "  -d, --delimiter C      separate fields with the character C, or 'tab' (default ',')\n"
	    "      --lf               end rows with LF instead of CRLF\n"
	    "      --config PATH      configuration file\n"
	    "  -q, --quiet            print errors only\n"
	    "  -v, --verbose          print debug messages\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n",
	    mdas_log_progname());
}

enum { OPT_NO_HEADER = 0x100, OPT_LF };

/* With -o FILE, errors go beside it: out.csv -> out_errors.csv. */
static char *
errors_path(const char *path)
{
	size_t n = strlen(path);
	char *p = malloc(n + sizeof("_errors.csv"));

	if (p == NULL)
		return NULL;
	if (n > 4 && strcmp(path + n - 4, ".csv") == 0)
		n -= 4;
	memcpy(p, path, n);
	strcpy(p + n, "_errors.csv");
	return p;
}

static int
parse_delimiter(const char *s, unsigned char *out)
{
	if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0)
		*out = '\t';
	else if (strlen(s) == 1 && strchr("\"\r\n", s[0]) == NULL)
		*out = (unsigned char)s[0];
	else
		return -1;
	return 0;
}

static struct mdas_export_out *
open_errors(struct mdas_export *x, const char *output, struct mdas_error *err)
{
	struct mdas_export_out *out;
	char *path;

	if (output == NULL)
		return mdas_export_out_open(x, "_errors.csv", 0, err);
	if ((path = errors_path(output)) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", output);
		return NULL;
	}
	out = mdas_export_out_open_path(x, path, err);
	free(path);
	return out;
}

/* Commits out and prints its path (not for standard output). */
static int
commit_and_print(struct mdas_export *x, struct mdas_export_out *out,
    struct mdas_error *err)
{
	char *path = strdup(mdas_export_out_path(out));
	int rc;

	if (path == NULL) {
		mdas_export_out_abort(out);
		return mdas_error_errno(err, ENOMEM, "commit");
	}
	if ((rc = mdas_export_out_commit(out, err)) == 0 && !mdas_export_to_stdout(x))
		puts(path);
	free(path);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		MDAS_EXPORT_LONGOPTS,
		{ "no-header", no_argument, NULL, OPT_NO_HEADER },
		{ "delimiter", required_argument, NULL, 'd' },
		{ "lf", no_argument, NULL, OPT_LF },
		MDAS_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mdas_export_opts o = MDAS_EXPORT_OPTS_INIT;
	struct mdas_export *x = NULL;
	struct mdas_export_out *out = NULL, *eout = NULL;
	struct mdas_csvout *csv = NULL, *ecsv = NULL;
	struct mdas_export_reader *r = NULL;
	struct json_object *rec;
	struct mdas_error err;
	enum mdas_export_kind k;
	unsigned char delim = ',';
	unsigned long skipped = 0;
	int c, header = 1, crlf = 1, status = MDAS_EXIT_FAILURE, rc;
	const char *failed_path = NULL;

	mdas_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:d:qvhV", longopts, NULL)) != -1) {
		if (mdas_export_getopt(&o, c, optarg))
			continue;
		switch (c) {
		case OPT_NO_HEADER: header = 0; break;
		case OPT_LF: crlf = 0; break;
		case 'd':
			if (parse_delimiter(optarg, &delim) != 0) {
				mdas_errorx("--delimiter: expected one character other than '\"', CR, LF, or 'tab', not '%s'", optarg);
				return MDAS_EXIT_USAGE;
			}
			break;
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
	if ((out = mdas_export_out_open(x, ".csv", 1, &err)) == NULL) {
		mdas_errorx("%s", err.msg);
		goto done;
	}
	if ((csv = mdas_csvout_new(mdas_export_out_fp(out), delim, crlf)) == NULL ||
	    (r = mdas_export_reader_new(stdin, "<stdin>")) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		goto done;
	}
	if (header && mdas_csvout_header(csv, mdas_export_fields, mdas_export_nfields) != 0) {
		failed_path = mdas_export_out_path(out);
		goto write_failed;
	}
	while ((k = mdas_export_next(r, &rec, &err)) > 0) {
		if (k != MDAS_EXPORT_ERROR) {
			if (mdas_csvout_row(csv, rec, mdas_export_fields, mdas_export_nfields) != 0) {
				failed_path = mdas_export_out_path(out);
				goto write_failed;
			}
			continue;
		}
		if (mdas_export_to_stdout(x)) {
			skipped++;
			continue;
		}
		if (eout == NULL) {
			if ((eout = open_errors(x, o.output, &err)) == NULL) {
				mdas_errorx("%s", err.msg);
				goto done;
			}
			if ((ecsv = mdas_csvout_new(mdas_export_out_fp(eout), delim, crlf)) == NULL) {
				mdas_errorx("%s", strerror(ENOMEM));
				goto done;
			}
			if (header && mdas_csvout_header(ecsv, mdas_export_error_fields,
			    mdas_export_error_nfields) != 0) {
				failed_path = mdas_export_out_path(eout);
				goto write_failed;
			}
		}
		if (mdas_csvout_row(ecsv, rec, mdas_export_error_fields,
		    mdas_export_error_nfields) != 0) {
			failed_path = mdas_export_out_path(eout);
			goto write_failed;
		}
	}
	if (k == MDAS_EXPORT_IOERR) {
		/* A partial input must not look like a complete export. */
		mdas_errorx("%s", err.msg);
		goto done;
	}
	if (skipped > 0)
		mdas_warn("%lu error record%s not written: %s holds the records only",
		    skipped, skipped == 1 ? "" : "s",
		    strcmp(o.output, "-") == 0 ? "standard output" : o.output);
	/* The data file first: an errors file alone would be misleading. */
	if (commit_and_print(x, out, &err) != 0) {
		out = NULL;
		mdas_errorx("%s", err.msg);
		goto done;
	}
	out = NULL;
	if (eout != NULL) {
		rc = commit_and_print(x, eout, &err);
		eout = NULL;
		if (rc != 0) {
			mdas_errorx("%s", err.msg);
			goto done;
		}
	}
	status = MDAS_EXIT_OK;
	goto done;
write_failed:
	mdas_errorx("%s: write failed: %s", strcmp(failed_path, "-") == 0 ?
	    "standard output" : failed_path, strerror(errno ? errno : EIO));
done:
	mdas_export_out_abort(out);
	mdas_export_out_abort(eout);
	mdas_csvout_free(csv);
	mdas_csvout_free(ecsv);
	if (r != NULL && status == MDAS_EXIT_OK)
		status = mdas_export_status(r);
	mdas_export_reader_free(r);
	mdas_export_free(x);
	if (mdas_close_stdout() < 0)
		status = MDAS_EXIT_FAILURE;
	return status;
}
