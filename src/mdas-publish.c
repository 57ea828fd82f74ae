/* mdas-publish: move a run's staged exports to their final names with a
 * manifest, crash-safely; recover an interrupted publish; append to a log
 * without following symbolic links.  The protocol is in publish.h and
 * mdas-publish(1). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "publish.h"
#include "runid.h"
#include "settings.h"
#include "timeutil.h"

#define APPEND_MAX ((size_t)64 << 20)

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s [OPTION]... --export-dir DIR --staged-dir DIR --file FMT:NAME... [--] [SYMBOL]...\n"
	    "  or:  %s --recover DIR...\n"
	    "  or:  %s --append FILE... <LINES\n"
	    "Publish a run's staged exports and its manifest crash-safely, or finish or\n"
	    "roll back an interrupted publish, or append to files without following links.\n\n"
	    "      --export-dir DIR   the export directory (final names)\n"
	    "      --staged-dir DIR   where the exports were written (a .mdas-run-* directory\n"
	    "                         inside the export directory)\n"
	    "      --file FMT:NAME    a staged export and its format (repeatable)\n"
	    "      --run-id ID        the run ID (default: $MDAS_RUN_ID)\n"
	    "      --config PATH      configuration (hashed into the manifest; default\n"
	    "                         mode, prefix and requested symbols)\n"
	    "      --prefix PREFIX    manifest name PREFIX_RUNID.manifest.json\n"
	    "      --mode MODE        fetch mode for the manifest\n"
	    "      --records FILE     the normalized stream (record counts, symbols)\n"
	    "      --stages FILE      stage metrics, one JSON object a line\n"
	    "      --started-ms MS    when the run started, ms since the epoch\n"
	    "      --partial          a stage reported a partial failure\n"
	    "      --store FILE       the record store's statistics (its --stats FILE)\n"
	    "      --store-failed ENGINE:REASON\n"
	    "                         the store's entry when FILE is missing or unusable\n"
	    "      --gaps FILE        the store's gap lines (its --gaps output): \"gaps\"\n"
	    "      --gaps-asked N     gaps this run's fetch asked for again\n"
	    "      --keep-runs N      keep the N newest complete runs, remove older ones\n"
	    "                         (0: all; default export.keep_runs, else all)\n"
	    "      --latest, --no-latest\n"
	    "                         point PREFIX_latest.* at the newest complete run, or\n"
	    "                         leave them alone (default export.latest, else on)\n"
	    "      --recover          recover each DIR and remove stale files\n"
	    "      --append           append standard input to each FILE\n"
	    "  -q, --quiet            print errors only\n"
	    "  -v, --verbose          print debug messages\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n\n"
	    "Exit status: 0 published (status ok) or done, 1 published with failed\n"
	    "symbols or store (status partial) or a recovery/append failed, 2 usage or\n"
	    "configuration error, 3 not published (nothing under a final name).\n",
	    mdas_log_progname(), mdas_log_progname(), mdas_log_progname());
}

enum {
	OPT_EXPORT_DIR = 0x1000,
	OPT_STAGED_DIR,
	OPT_FILE,
	OPT_RUN_ID,
	OPT_CONFIG,
	OPT_PREFIX,
	OPT_MODE,
	OPT_RECORDS,
	OPT_STAGES,
	OPT_STARTED,
	OPT_PARTIAL,
	OPT_STORE,
	OPT_STORE_FAILED,
	OPT_GAPS,
	OPT_GAPS_ASKED,
	OPT_RECOVER,
	OPT_APPEND,
	OPT_KEEP_RUNS,
	OPT_LATEST,
	OPT_NO_LATEST,
};

#define EXIT_NOT_PUBLISHED 3

static void
note(void *ctx, const char *msg)
{
	(void)ctx;
	mdas_notice("%s", msg);
}

static int
do_append(int argc, char **argv)
{
	char *buf;
	size_t len = 0, off;
	ssize_t k;
	int i, fd, rc = MDAS_EXIT_OK;
	struct mdas_error err;

	if ((buf = malloc(APPEND_MAX)) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		return MDAS_EXIT_FAILURE;
	}
	while (len < APPEND_MAX && (k = read(STDIN_FILENO, buf + len, APPEND_MAX - len)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			mdas_errorx("standard input: %s", strerror(errno));
			free(buf);
			return MDAS_EXIT_FAILURE;
		}
		len += (size_t)k;
	}
	if (len == APPEND_MAX) {
		mdas_errorx("standard input: more than %zu bytes", APPEND_MAX);
		free(buf);
		return MDAS_EXIT_FAILURE;
	}
	for (i = 0; i < argc; i++) {
		if ((fd = mdas_open_append(argv[i], &err)) < 0) {
			mdas_errorx("%s", err.msg);
			rc = MDAS_EXIT_FAILURE;
			continue;
		}
		/* One write for everything: lines of concurrent appenders do
		 * not interleave (O_APPEND). */
		for (off = 0; off < len;) {
			k = write(fd, buf + off, len - off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				mdas_errorx("%s: write failed: %s", argv[i], strerror(errno));
				rc = MDAS_EXIT_FAILURE;
				break;
			}
			off += (size_t)k;
		}
		if (close(fd) != 0 && rc == MDAS_EXIT_OK) {
			mdas_errorx("%s: close failed: %s", argv[i], strerror(errno));
			rc = MDAS_EXIT_FAILURE;
		}
	}
	free(buf);
	return rc;
}

static int
do_recover(int argc, char **argv)
{
	struct mdas_error err;
	int i, rc = MDAS_EXIT_OK;

	for (i = 0; i < argc; i++)
		if (mdas_publish_recover(argv[i], MDAS_RECOVER_SCRATCH, note, NULL,
		    &err) < 0) {
			mdas_errorx("%s", err.msg);
			rc = MDAS_EXIT_FAILURE;
		}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "export-dir", required_argument, NULL, OPT_EXPORT_DIR },
		{ "staged-dir", required_argument, NULL, OPT_STAGED_DIR },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "run-id", required_argument, NULL, OPT_RUN_ID },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "records", required_argument, NULL, OPT_RECORDS },
		{ "stages", required_argument, NULL, OPT_STAGES },
		{ "started-ms", required_argument, NULL, OPT_STARTED },
		{ "partial", no_argument, NULL, OPT_PARTIAL },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "store-failed", required_argument, NULL, OPT_STORE_FAILED },
		{ "gaps", required_argument, NULL, OPT_GAPS },
		{ "gaps-asked", required_argument, NULL, OPT_GAPS_ASKED },
		{ "recover", no_argument, NULL, OPT_RECOVER },
		{ "append", no_argument, NULL, OPT_APPEND },
		{ "keep-runs", required_argument, NULL, OPT_KEEP_RUNS },
		{ "latest", no_argument, NULL, OPT_LATEST },
		{ "no-latest", no_argument, NULL, OPT_NO_LATEST },
		MDAS_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mdas_publish_req r;
	struct mdas_publish_result res;
	struct mdas_publish_file *files = NULL;
	struct mdas_settings *settings = NULL;
	struct mdas_error err;
	const char **symbols = NULL, *pause;
	size_t nfiles = 0, i;
	int c, recover = 0, append = 0, rc, latest = -1;
	long v, keep = -1;

	mdas_log_init(argv[0]);
	memset(&r, 0, sizeof(r));
	r.gaps_asked = -1;
	r.started_ms = -1;
	if ((files = calloc((size_t)argc, sizeof(*files))) == NULL) {
		mdas_errorx("%s", strerror(ENOMEM));
		return MDAS_EXIT_FAILURE;
	}
	while ((c = getopt_long(argc, argv, "qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_EXPORT_DIR: r.export_dir = optarg; break;
		case OPT_STAGED_DIR: r.staged_dir = optarg; break;
		case OPT_FILE: {
			char *colon = strchr(optarg, ':');

			if (colon == NULL || colon == optarg || colon[1] == '\0') {
				mdas_errorx("--file: expected FORMAT:NAME, got '%s'", optarg);
				free(files);
				return MDAS_EXIT_USAGE;
			}
			*colon = '\0';
			files[nfiles].format = optarg;
			files[nfiles++].name = colon + 1;
			break;
		}
		case OPT_RUN_ID: r.run_id = optarg; break;
		case OPT_CONFIG: r.config_path = optarg; break;
		case OPT_PREFIX: r.prefix = optarg; break;
		case OPT_MODE: r.mode = optarg; break;
		case OPT_RECORDS: r.records_path = optarg; break;
		case OPT_STAGES: r.stages_path = optarg; break;
		case OPT_STARTED:
			if (mdas_parse_long(optarg, 0, 253402300799999L, &v) != 0) {
				mdas_errorx("--started-ms: expected milliseconds since the epoch, got '%s'",
				    optarg);
				free(files);
				return MDAS_EXIT_USAGE;
			}
			r.started_ms = v;
			break;
		case OPT_PARTIAL: r.partial = 1; break;
		case OPT_STORE: r.store_stats = optarg; break;
		case OPT_GAPS: r.gaps_path = optarg; break;
		case OPT_GAPS_ASKED: {
			char *e;

			errno = 0;
			r.gaps_asked = strtol(optarg, &e, 10);
			if (errno != 0 || e == optarg || *e != '\0' || r.gaps_asked < 0) {
				mdas_errorx("--gaps-asked: expected a count, got '%s'", optarg);
				free(files);
				return MDAS_EXIT_USAGE;
			}
			break;
		}
		case OPT_STORE_FAILED: {
			char *colon = strchr(optarg, ':');

			if (colon == NULL || colon == optarg) {
				mdas_errorx("--store-failed: expected ENGINE:REASON, got '%s'", optarg);
				free(files);
				return MDAS_EXIT_USAGE;
			}
			*colon = '\0';
			r.store_engine = optarg;
			r.store_reason = colon + 1;
			break;
		}
		case OPT_KEEP_RUNS:
			if (mdas_parse_long(optarg, 0, 1000000000L, &keep) != 0) {
				mdas_errorx("--keep-runs: expected a number of runs (0: all), got '%s'",
				    optarg);
				free(files);
				return MDAS_EXIT_USAGE;
			}
			break;
		case OPT_LATEST: latest = 1; break;
		case OPT_NO_LATEST: latest = 0; break;
		case OPT_RECOVER: recover = 1; break;
		case OPT_APPEND: append = 1; break;
		default:
			if ((c = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON) {
				free(files);
				return c;
			}
		}
	}
	if (recover + append > 0) {
		free(files);
		if (recover && append) {
			mdas_errorx("--recover and --append exclude each other");
			usage(stderr);
			return MDAS_EXIT_USAGE;
		}
		if (optind == argc) {
			mdas_errorx("%s: a %s operand is required", recover ? "--recover" : "--append",
			    recover ? "DIR" : "FILE");
			usage(stderr);
			return MDAS_EXIT_USAGE;
		}
		return recover ? do_recover(argc - optind, argv + optind) :
		    do_append(argc - optind, argv + optind);
	}

	if (r.run_id == NULL && (r.run_id = getenv("MDAS_RUN_ID")) != NULL && *r.run_id == '\0')
		r.run_id = NULL;
	rc = MDAS_EXIT_USAGE;
	if (r.export_dir == NULL || r.staged_dir == NULL || nfiles == 0 || r.run_id == NULL) {
		mdas_errorx("%s is required", r.export_dir == NULL ? "--export-dir" :
		    r.staged_dir == NULL ? "--staged-dir" : nfiles == 0 ? "--file" :
		    "--run-id (or MDAS_RUN_ID)");
		usage(stderr);
		goto out;
	}
	if (!mdas_runid_valid(r.run_id)) {
		mdas_errorx("invalid run ID '%s' (1-64 characters of A-Za-z0-9_-)", r.run_id);
		goto out;
	}
	if (strcmp(r.run_id, "latest") == 0 || strncmp(r.run_id, "latest_", 7) == 0) {
		mdas_errorx("run ID '%s' is reserved (PREFIX_latest.* name the newest run)",
		    r.run_id);
		goto out;
	}
	if (r.config_path != NULL) {
		if ((settings = mdas_settings_load(r.config_path, &err)) == NULL) {
			mdas_errorx("%s", err.msg);
			goto out;
		}
		if (r.mode == NULL)
			r.mode = mdas_settings_string(settings, "fetch.mode");
		if (r.prefix == NULL)
			r.prefix = mdas_settings_string(settings, "export.prefix");
		/* What the SQLite store's program opens (the pipeline passes no
		 * --db); a PostgreSQL DSN may hold a password: never copied. */
		if (r.store_engine != NULL && strcmp(r.store_engine, "sqlite") == 0)
			r.store_database = mdas_settings_string(settings, "store.path");
		if (latest < 0)
			latest = mdas_settings_bool(settings, "export.latest");
		if (keep < 0 && mdas_settings_int(settings, "export.keep_runs") > 0)
			keep = (long)mdas_settings_int(settings, "export.keep_runs");
	}
	/* The defaults of export.latest and export.keep_runs. */
	r.latest = latest != 0;
	r.keep_runs = keep > 0 ? (unsigned long)keep : 0;
	if (r.prefix == NULL)
		r.prefix = "market_data";
	/* Symbols as operands, else from the configuration: read as JSON, so
	 * a symbol with a newline stays one symbol. */
	if (optind < argc) {
		r.symbols = (const char *const *)argv + optind;
		r.nsymbols = (size_t)(argc - optind);
	} else if (settings != NULL) {
		r.nsymbols = mdas_settings_array_len(settings, "data_sources.symbols");
		if ((symbols = calloc(r.nsymbols + 1, sizeof(*symbols))) == NULL) {
			mdas_errorx("%s", strerror(ENOMEM));
			rc = EXIT_NOT_PUBLISHED;
			goto out;
		}
		for (i = 0; i < r.nsymbols; i++)
			symbols[i] = mdas_settings_array_string(settings, "data_sources.symbols", i);
		r.symbols = symbols;
	}
	if (r.started_ms < 0)
		r.started_ms = mdas_now_ms();
	r.files = files;
	r.nfiles = nfiles;
	/* Test only (mdas-publish(1)): widen the windows between the steps
	 * so a test can kill us inside each of them. */
	if ((pause = getenv("MDAS_TEST_PUBLISH_PAUSE_MS")) != NULL && *pause != '\0') {
		if (mdas_parse_long(pause, 0, 60000, &v) != 0) {
			mdas_errorx("MDAS_TEST_PUBLISH_PAUSE_MS: expected 0..60000, got '%s'", pause);
			goto out;
		}
		r.pause_ms = (unsigned)v;
	}

	if (mdas_publish_run(&r, &res, note, NULL, &err) != 0) {
		mdas_errorx("%s; nothing of run %s published", err.msg, r.run_id);
		rc = EXIT_NOT_PUBLISHED;
		goto out;
	}
	/* Published: a latest name or a retention that failed is a warning,
	 * never the run's failure. */
	if (res.nwarnings > 0)
		mdas_warn("%s%s", res.warning, res.nwarnings > 1 ? " (and more)" : "");
	for (i = 0; i < nfiles; i++)
		printf("%s/%s\n", r.export_dir, files[i].name);
	printf("%s\n", res.manifest_path);
	rc = res.partial ? MDAS_EXIT_FAILURE : MDAS_EXIT_OK;
	if (mdas_close_stdout() < 0)
		rc = MDAS_EXIT_FAILURE;
out:
	free(symbols);
	free(files);
	mdas_settings_free(settings);
	return rc;
}
