/* mdas-normalize: mdas-fetch envelopes in, unified records out. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonw.h"
#include "log.h"
#include "ndjson.h"
#include "normalize.h"
#include "runid.h"
#include "settings.h"
#include "tradinggaps.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s [OPTION]... [FILE]...\n"
	    "Turn mdas-fetch envelopes (NDJSON, from FILEs or standard input) into\n"
	    "unified quote, bar, dividend and split records on standard output.\n\n"
	    "      --missing=MODE   null bars: ffill (fill from the previous close),\n"
	    "                       drop, or keep (default: normalize.missing, ffill)\n"
	    "      --window N       log returns per rolling_vol, 2-100000\n"
	    "                       (default: normalize.window, 20)\n"
	    "      --strict         stop at the first rejected input\n"
	    "      --rejects FILE   write each rejected input line and its reason\n"
	    "                       to FILE as NDJSON\n"
	    "      --config PATH    configuration file\n"
	    "      --trading-gaps   instead: print the bars missing inside Yahoo's\n"
	    "                       tradingPeriods of intraday chart envelopes, as the\n"
	    "                       store's gap lines (mdas-store(7), GAPS)\n"
	    "  -q, --quiet          print errors only\n"
	    "  -v, --verbose        print debug messages\n"
	    "  -h, --help           show this help and exit\n"
	    "  -V, --version        show the version and exit\n\n"
	    "Exit status: 0 every input used, 1 some input rejected (the output is\n"
	    "good), 2 usage or configuration error, 3 the output could not be\n"
	    "written whole (do not use it).\n",
	    mdas_log_progname());
}

struct reject_sink {
	FILE *fp;
	const char *path;
	struct mdas_jsonw *w;
	int strict;
	int write_failed;
};

static int
on_reject(void *arg, const struct mdas_reject *rj)
{
	struct reject_sink *rs = arg;

	if (rj->symbol != NULL)
		mdas_errorx("%s:%lu: %s: %s", rj->input, rj->line, rj->symbol, rj->reason);
	else
		mdas_errorx("%s:%lu: %s", rj->input, rj->line, rj->reason);
	if (rs->fp != NULL && !rs->write_failed) {
		mdas_jsonw_begin_object(rs->w);
		mdas_jsonw_key(rs->w, "input");
		mdas_jsonw_string(rs->w, rj->input);
		mdas_jsonw_key(rs->w, "line");
		mdas_jsonw_int(rs->w, (int64_t)rj->line);
		mdas_jsonw_key(rs->w, "symbol");
		mdas_jsonw_string(rs->w, rj->symbol);
		mdas_jsonw_key(rs->w, "reason");
		mdas_jsonw_string(rs->w, rj->reason);
		mdas_jsonw_key(rs->w, "text");
		mdas_jsonw_string_n(rs->w, rj->text != NULL ? rj->text : "", rj->text_len);
		mdas_jsonw_end_object(rs->w);
		if (mdas_jsonw_write_line(rs->w, rs->fp) < 0) {
			mdas_errorx("%s: %s", rs->path, strerror(errno));
			rs->write_failed = 1;
		}
	}
	return rs->strict;
}

/* --trading-gaps: gap lines for the envelopes of fp; lines that are not
 * envelopes are left (the normalize stage reports them).  Returns 0, or
 * -1 after a message. */
static int
trading_gaps(FILE *fp, const char *name, unsigned long *gaps)
{
	struct mdas_ndjson *r = mdas_ndjson_open(fp, name, 0);
	struct json_object *v;
	struct mdas_error err;
	int rc;

	if (r == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		return -1;
	}
	while ((rc = mdas_ndjson_next(r, &v, &err)) != MDAS_NDJSON_EOF) {
		if (rc == MDAS_NDJSON_IOERR) {
			mdas_errorx("%s", err.msg);
			mdas_ndjson_free(r);
			return -1;
		}
		if (rc != MDAS_NDJSON_VALUE)
			continue;
		rc = mdas_trading_gaps(v, stdout, gaps);
		json_object_put(v);
		if (rc < 0) {
			mdas_errorx("standard output: %s", strerror(errno));
			mdas_ndjson_free(r);
			return -1;
		}
	}
	mdas_ndjson_free(r);
	return 0;
}

/* Returns MDAS_NORM_OK, _STOP or _FAIL; *bad is set on a read error. */
static int
run_input(struct mdas_normalizer *n, FILE *fp, const char *name, int *bad)
{
	struct mdas_error err;
	int failed = 0, rc;

	rc = mdas_normalizer_run(n, fp, name, &failed, &err);
	if (rc == MDAS_NORM_FAIL || failed)
		mdas_errorx("%s", err.msg);
	if (failed)
		*bad = 1;
	return rc;
}

int
main(int argc, char **argv)
{
	enum { OPT_MISSING = 256, OPT_WINDOW, OPT_STRICT, OPT_REJECTS, OPT_CONFIG, OPT_TGAPS };
	static const struct option longopts[] = {
		{ "missing", required_argument, NULL, OPT_MISSING },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "rejects", required_argument, NULL, OPT_REJECTS },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "trading-gaps", no_argument, NULL, OPT_TGAPS },
		MDAS_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct reject_sink rs = { NULL, NULL, NULL, 0, 0 };
	struct mdas_normalize_opts o;
	const struct mdas_normalize_stats *st;
	struct mdas_normalizer *n = NULL;
	struct mdas_settings *settings;
	struct mdas_error err;
	const char *missing = NULL, *window = NULL, *config_path = NULL, *run_id;
	long wlong;
	int c, m, i, rc = MDAS_NORM_OK, bad = 0, status, tgaps = 0;
	unsigned long ngaps = 0;

	mdas_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MISSING: missing = optarg; break;
		case OPT_WINDOW: window = optarg; break;
		case OPT_STRICT: rs.strict = 1; break;
		case OPT_REJECTS: rs.path = optarg; break;
		case OPT_CONFIG: config_path = optarg; break;
		case OPT_TGAPS: tgaps = 1; break;
		default:
			if ((c = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON)
				return c;
		}
	}

	if (tgaps) {
		status = MDAS_EXIT_OK;
		if (optind == argc && trading_gaps(stdin, "<stdin>", &ngaps) < 0)
			status = MDAS_EXIT_FAILURE;
		for (i = optind; i < argc; i++) {
			FILE *fp = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");

			if (fp == NULL) {
				mdas_errorx("%s: %s", argv[i], strerror(errno));
				status = MDAS_EXIT_FAILURE;
				continue;
			}
			if (trading_gaps(fp, fp == stdin ? "<stdin>" : argv[i], &ngaps) < 0)
				status = MDAS_EXIT_FAILURE;
			if (fp != stdin)
				fclose(fp);
		}
		mdas_info("%lu gaps inside Yahoo's trading periods", ngaps);
		if (mdas_close_stdout() < 0)
			status = MDAS_EXIT_INCOMPLETE;
		return status;
	}
	if ((settings = mdas_cli_load_settings(config_path)) == NULL)
		return MDAS_EXIT_USAGE;
	memset(&o, 0, sizeof(o));
	if (missing == NULL) {
		missing = mdas_settings_string(settings, "normalize.missing");
		if ((m = mdas_missing_parse(missing)) < 0) {
			mdas_errorx("%s: normalize.missing: '%s': expected ffill, drop or keep",
			    mdas_settings_path(settings), missing);
			mdas_settings_free(settings);
			return MDAS_EXIT_USAGE;
		}
	} else if ((m = mdas_missing_parse(missing)) < 0) {
		mdas_errorx("--missing: '%s': expected ffill, drop or keep", missing);
		mdas_settings_free(settings);
		return MDAS_EXIT_USAGE;
	}
	o.missing = (enum mdas_missing)m;
	if (window == NULL) {
		wlong = (long)mdas_settings_int(settings, "normalize.window");
		if (wlong < 2 || wlong > 100000) {
			mdas_errorx("%s: normalize.window: %ld: expected 2 to 100000",
			    mdas_settings_path(settings), wlong);
			mdas_settings_free(settings);
			return MDAS_EXIT_USAGE;
		}
	} else if (mdas_parse_long(window, 2, 100000, &wlong) < 0) {
		mdas_errorx("--window: '%s': expected a whole number from 2 to 100000", window);
		mdas_settings_free(settings);
		return MDAS_EXIT_USAGE;
	}
	mdas_settings_free(settings);
	o.window = (size_t)wlong;
	if ((run_id = getenv("MDAS_RUN_ID")) != NULL && *run_id == '\0')
		run_id = NULL;
	if (run_id != NULL && !mdas_runid_valid(run_id)) {
		mdas_errorx("MDAS_RUN_ID: '%s': not a valid run ID", run_id);
		return MDAS_EXIT_USAGE;
	}
	o.run_id = run_id;

	if (rs.path != NULL) {
		if ((rs.fp = fopen(rs.path, "w")) == NULL) {
			mdas_errorx("%s: %s", rs.path, strerror(errno));
			return MDAS_EXIT_USAGE;
		}
		if ((rs.w = mdas_jsonw_new()) == NULL) {
			mdas_errorx("%s", strerror(ENOMEM));
			fclose(rs.fp);
			return MDAS_EXIT_FAILURE;
		}
	}
	if ((n = mdas_normalizer_new(&o, stdout, on_reject, &rs)) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		return MDAS_EXIT_FAILURE;
	}

	if (optind == argc)
		rc = run_input(n, stdin, "<stdin>", &bad);
	for (i = optind; i < argc && rc == MDAS_NORM_OK; i++) {
		FILE *fp;

		if (strcmp(argv[i], "-") == 0) {
			rc = run_input(n, stdin, "<stdin>", &bad);
			continue;
		}
		if ((fp = fopen(argv[i], "r")) == NULL) {
			mdas_errorx("%s: %s", argv[i], strerror(errno));
			bad = 1;
			continue;
		}
		rc = run_input(n, fp, argv[i], &bad);
		fclose(fp);
	}
	/* Bars held back are complete records from earlier lines: they are
	 * written even after --strict stopped the stream. */
	if (rc != MDAS_NORM_FAIL && mdas_normalizer_finish(n, &err) < 0) {
		mdas_errorx("%s", err.msg);
		rc = MDAS_NORM_FAIL;
	}

	st = mdas_normalizer_stats(n);
	if (st->duplicates > 0)
		mdas_warn("%llu duplicate bars or events: kept the last", st->duplicates);
	if (st->stale > 0)
		mdas_warn("%llu bars at or before a bar already written for their series: dropped",
		    st->stale);
	if (st->unfilled > 0)
		mdas_warn("%llu null bars with no earlier close to fill from: kept as nulls",
		    st->unfilled);
	if (st->filled > 0)
		mdas_info("%llu null bars forward-filled", st->filled);
	if (st->dropped > 0)
		mdas_info("%llu null bars dropped", st->dropped);
	if (st->rejected > 0)
		mdas_errorx("%llu input%s rejected", st->rejected, st->rejected == 1 ? "" : "s");
	mdas_debug("%llu records, %llu events, %llu fetch errors passed through",
	    st->records, st->events, st->passed);

	status = rc == MDAS_NORM_OK && st->rejected == 0 && !bad ?
	    MDAS_EXIT_OK : MDAS_EXIT_FAILURE;
	/* Exit 1 says "some input was rejected, the rest is good"; a stream
	 * that could not be written whole (or ran out of memory) is not. */
	if (rc == MDAS_NORM_FAIL)
		status = MDAS_EXIT_INCOMPLETE;
	mdas_normalizer_free(n);
	if (rs.fp != NULL) {
		if (fclose(rs.fp) != 0 && !rs.write_failed) {
			mdas_errorx("%s: %s", rs.path, strerror(errno));
			rs.write_failed = 1;
		}
		if (rs.write_failed)
			status = MDAS_EXIT_FAILURE;
	}
	mdas_jsonw_free(rs.w);
	if (mdas_close_stdout() < 0)
		status = MDAS_EXIT_INCOMPLETE;
	return status;
}
