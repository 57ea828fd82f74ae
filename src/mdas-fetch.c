/* mdas-fetch: fetch quotes or history from Yahoo Finance and Binance as
 * NDJSON envelopes (the work is done in src/lib/fetch.c). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fetch.h"
#include "fetchbody.h"
#include "log.h"
#include "marks.h"
#include "settings.h"
#include "shard.h"
#include "symbol.h"
#include "timeutil.h"

#define LINE_MAX_BYTES 1024

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s [OPTION]... [SYMBOL...]\n"
	    "Fetch quotes or history from Yahoo Finance and Binance as NDJSON.\n"
	    "Symbols come from the arguments, else from standard input (one per line),\n"
	    "or with --config and no symbols from data_sources.symbols.\n\n"
	    "      --quote          latest snapshot (default: fetch.mode)\n"
	    "      --history        bars over a period\n"
	    "      --interval I     bar interval: 1m 2m 5m 15m 30m 60m 90m 1h 4h 1d 5d 1wk\n"
	    "                       1mo 3mo (default: fetch.interval)\n"
	    "      --range R        period: 1d 5d 1mo 3mo 6mo 1y 2y 5y 10y ytd max\n"
	    "                       (default: fetch.range)\n"
	    "      --start D        period start, ISO date or date-time (instead of --range)\n"
	    "      --end D          period end, exclusive (default: now)\n"
	    "      --since-last FILE  history from the high-water marks in FILE (- for\n"
	    "                       standard input; what mdas-export-sqlite --last prints):\n"
	    "                       a series with a mark from its last bar to now\n"
	    "      --spans FILE     history: also ask once more for the gaps in FILE (what\n"
	    "                       mdas-export-sqlite --gaps prints), at most %d per series\n"
	    "      --shard K/N      only the symbols of shard K of N (default:\n"
	    "                       data_sources.shard)\n"
	    "      --source S       fetch every symbol from S: yahoo or binance\n"
	    "      --jobs N         concurrent requests (default: http.max_concurrency)\n"
	    "      --rate R         requests per second per host (default: http.rate_per_second)\n"
	    "      --retries N      retries of a failed request (default: http.retries)\n"
	    "      --max-wait S     longest wait before one retry (default: http.max_wait_seconds)\n"
	    "      --timeout S      time limit of one request (default: http.timeout_seconds)\n"
	    "      --batch N        symbols per quote request, 1 to disable batching\n"
	    "                       (default and maximum: 50 Yahoo, 100 Binance)\n"
	    "      --config PATH    configuration file\n"
	    "  -q, --quiet          print errors only\n"
	    "  -v, --verbose        print debug messages\n"
	    "  -h, --help           show this help and exit\n"
	    "  -V, --version        show the version and exit\n\n"
	    "Exit status: 0 every symbol fetched, 1 some symbol failed (its error\n"
	    "record is in the output) or a marks line was malformed, 2 usage or\n"
	    "configuration error, 3 the output could not be written whole (do not\n"
	    "use it).\n",
	    mdas_log_progname(), MDAS_SPANS_PER_SERIES);
}

struct ui {
	int tty;                   /* progress line on stderr */
	int shown;
	int64_t last_ms;           /* when it was last drawn */
};

static void
clear_progress(struct ui *ui)
{
	if (ui->shown) {
		fputs("\r\033[K", stderr);
		ui->shown = 0;
	}
}

static void
on_failure(void *ctx, const char *source, const char *symbol, long http_status,
    const char *code, const char *message)
{
	char detail[96] = "", name[300], text[1100];

	clear_progress(ctx);
	/* Both can carry outside bytes (a symbol as typed, an upstream's
	 * message): one line each, whatever they hold. */
	mdas_symbol_quote(symbol, name, sizeof(name));
	mdas_body_clean_text(message, strlen(message), 1000, text, sizeof(text));
	message = text;
	symbol = name;
	/* The status and code go in parentheses unless the message has them. */
	if (http_status > 0 && strncmp(message, "HTTP ", 5) != 0 && code != NULL)
		snprintf(detail, sizeof(detail), " (HTTP %ld, code %s)", http_status, code);
	else if (http_status > 0 && strncmp(message, "HTTP ", 5) != 0)
		snprintf(detail, sizeof(detail), " (HTTP %ld)", http_status);
	if (source != NULL)
		mdas_warn("%s:%s: %s%s", source, symbol, message, detail);
	else
		mdas_warn("%s: %s%s", symbol, message, detail);
}

static void
on_progress(void *ctx, const struct mdas_fetch_stats *st)
{
	struct ui *ui = ctx;

	int64_t now;

	if (!ui->tty)
		return;
	/* At most ten redraws a second, and always the last state. */
	now = mdas_monotonic_ms();
	if (ui->shown && now - ui->last_ms < 100 && st->done < st->total)
		return;
	ui->last_ms = now;
	fprintf(stderr, "\r%s: %zu/%zu done, %zu failed, %ld retries\033[K",
	    mdas_log_progname(), st->done, st->total, st->failed, st->http.retries);
	ui->shown = 1;
}

static void
on_bad_mark(void *ctx, const char *msg)
{
	clear_progress(ctx);
	mdas_errorx("%s", msg);
}

/* MDAS_NOW_MS: "now" pinned, for tests of what a run asks for; unset (the
 * clock) otherwise.  Returns -1 after a message when it is not a time. */
static int
now_from_env(int64_t *now)
{
	const char *v = getenv("MDAS_NOW_MS");
	long long x;
	char *e;

	*now = 0;
	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	x = strtoll(v, &e, 10);
	if (errno != 0 || *e != '\0' || x <= 0 || x > INT64_C(253402300799999)) {
		mdas_errorx("MDAS_NOW_MS: expected milliseconds since 1970, not '%s'", v);
		return -1;
	}
	*now = x;
	return 0;
}

/* Symbols from standard input: one per line, blank lines and #comments
 * skipped.  Returns -1 after a message on a bad line or a read error. */
static int
read_symbols(char ***list, size_t *n)
{
	char *line = NULL, *p, *e, **nl;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (len > LINE_MAX_BYTES) {
			mdas_errorx("<stdin>:%lu: line longer than %d bytes", lineno, LINE_MAX_BYTES);
			free(line);
			return -1;
		}
		if (memchr(line, '\0', (size_t)len) != NULL) {
			/* A symbol with a NUL cannot be passed on as typed. */
			mdas_errorx("<stdin>:%lu: NUL byte in a symbol line", lineno);
			free(line);
			return -1;
		}
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		for (e = p + strlen(p); e > p && strchr(" \t\r\n", e[-1]) != NULL; e--)
			;
		*e = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if ((nl = realloc(*list, (*n + 1) * sizeof(**list))) == NULL ||
		    (nl[*n] = strdup(p)) == NULL) {
			if (nl != NULL)
				*list = nl;
			mdas_errorx("out of memory");
			free(line);
			return -1;
		}
		*list = nl;
		(*n)++;
	}
	free(line);
	if (ferror(stdin)) {
		mdas_errorx("<stdin>: read error");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_QUOTE = 256, O_HISTORY, O_INTERVAL, O_RANGE, O_START, O_END, O_SOURCE,
		O_JOBS, O_RATE, O_RETRIES, O_MAXWAIT, O_TIMEOUT, O_BATCH, O_CONFIG,
		O_SINCE, O_SHARD, O_SPANS };
	static const struct option longopts[] = {
		{ "quote", no_argument, NULL, O_QUOTE },
		{ "history", no_argument, NULL, O_HISTORY },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "range", required_argument, NULL, O_RANGE },
		{ "start", required_argument, NULL, O_START },
		{ "end", required_argument, NULL, O_END },
		{ "source", required_argument, NULL, O_SOURCE },
		{ "jobs", required_argument, NULL, O_JOBS },
		{ "rate", required_argument, NULL, O_RATE },
		{ "retries", required_argument, NULL, O_RETRIES },
		{ "max-wait", required_argument, NULL, O_MAXWAIT },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "since-last", required_argument, NULL, O_SINCE },
		{ "spans", required_argument, NULL, O_SPANS },
		{ "shard", required_argument, NULL, O_SHARD },
		MDAS_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mdas_settings *settings = NULL;
	struct mdas_fetch_opts fo;
	struct mdas_http_opts ho;
	struct mdas_fetch_stats st;
	struct mdas_fetch_hooks hooks;
	struct mdas_error err;
	struct ui ui = { 0, 0, 0 };
	const char *config_path = NULL, *start = NULL, *end = NULL, *since = NULL;
	const char *spans_path = NULL;
	struct mdas_spans *spans = NULL;
	unsigned long slines = 0, sbad = 0;
	size_t skept = 0, sover = 0;
	const char *shard = NULL;
	struct mdas_marks *marks = NULL;
	unsigned long mlines = 0, mbad = 0;
	size_t mkept = 0;
	char why[128];
	char **list = NULL;
	size_t nlist = 0, i;
	long jobs = 0, retries = -1, batch = 0;
	double rate = 0, max_wait = 0, timeout = 0;
	int c, mode = -1, src, rc = MDAS_EXIT_USAGE, from_stdin = 0;

	mdas_log_init(argv[0]);
	memset(&fo, 0, sizeof(fo));
	memset(&ho, 0, sizeof(ho));
	while ((c = getopt_long(argc, argv, "qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case O_QUOTE: mode = 0; break;
		case O_HISTORY: mode = 1; break;
		case O_INTERVAL:
			if (!mdas_fetch_interval_known(optarg)) {
				mdas_errorx("--interval: unknown interval '%s'", optarg);
				return MDAS_EXIT_USAGE;
			}
			fo.interval = optarg;
			break;
		case O_RANGE:
			if (!mdas_fetch_range_known(optarg)) {
				mdas_errorx("--range: unknown range '%s'", optarg);
				return MDAS_EXIT_USAGE;
			}
			fo.range = optarg;
			break;
		case O_START: start = optarg; break;
		case O_END: end = optarg; break;
		case O_SOURCE:
			if ((src = mdas_source_parse(optarg)) < 0) {
				mdas_errorx("--source: expected yahoo or binance, not '%s'", optarg);
				return MDAS_EXIT_USAGE;
			}
			fo.force = (enum mdas_source)src;
			break;
		case O_JOBS:
			if (mdas_parse_long(optarg, 1, 1000, &jobs) < 0) {
				mdas_errorx("--jobs: expected a whole number from 1 to 1000, not '%s'", optarg);
				return MDAS_EXIT_USAGE;
			}
			break;
		case O_RETRIES:
			if (mdas_parse_long(optarg, 0, 100, &retries) < 0) {
				mdas_errorx("--retries: expected a whole number from 0 to 100, not '%s'", optarg);
				return MDAS_EXIT_USAGE;
			}
			break;
		case O_BATCH:
			if (mdas_parse_long(optarg, 1, 100, &batch) < 0) {
				mdas_errorx("--batch: expected a whole number from 1 to 100, not '%s'", optarg);
				return MDAS_EXIT_USAGE;
			}
			break;
		case O_RATE:
		case O_MAXWAIT:
		case O_TIMEOUT: {
			double v;

			if (mdas_parse_positive(optarg, &v) < 0) {
				mdas_errorx("--%s: expected a positive number, not '%s'",
				    c == O_RATE ? "rate" : c == O_MAXWAIT ? "max-wait" : "timeout", optarg);
				return MDAS_EXIT_USAGE;
			}
			*(c == O_RATE ? &rate : c == O_MAXWAIT ? &max_wait : &timeout) = v;
			break;
		}
		case O_CONFIG: config_path = optarg; break;
		case O_SINCE: since = optarg; break;
		case O_SPANS: spans_path = optarg; break;
		case O_SHARD:
			if (mdas_shard_parse(optarg, &fo.shard_k, &fo.shard_n, why, sizeof(why)) < 0) {
				mdas_errorx("--shard: %s, not '%s'", why, optarg);
				return MDAS_EXIT_USAGE;
			}
			shard = optarg;
			break;
		default:
			if ((c = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON)
				return c;
		}
	}

	if ((settings = mdas_cli_load_settings(config_path)) == NULL)
		return MDAS_EXIT_USAGE;
	if (now_from_env(&fo.now_ms) < 0)
		goto out;
	if (shard == NULL && mdas_settings_get(settings, "data_sources.shard") != NULL &&
	    (shard = mdas_settings_string(settings, "data_sources.shard")) != NULL &&
	    mdas_shard_parse(shard, &fo.shard_k, &fo.shard_n, why, sizeof(why)) < 0) {
		/* settings.c checked it already; this is belt and braces. */
		mdas_errorx("data_sources.shard: %s, not '%s'", why, shard);
		goto out;
	}
	if (mode < 0)
		mode = strcmp(mdas_settings_string(settings, "fetch.mode"), "history") == 0;
	fo.history = mode;
	if (!fo.history && (fo.interval || fo.range || start || end)) {
		mdas_errorx("--interval, --range, --start and --end need --history");
		goto out;
	}
	if (!fo.history && since != NULL) {
		mdas_errorx("--since-last needs --history");
		goto out;
	}
	if (!fo.history && spans_path != NULL) {
		mdas_errorx("--spans needs --history");
		goto out;
	}
	if (fo.range != NULL && (start != NULL || end != NULL)) {
		mdas_errorx("--range and --start/--end exclude each other");
		goto out;
	}
	if (end != NULL && start == NULL) {
		mdas_errorx("--end needs --start");
		goto out;
	}
	if (start != NULL) {
		if (mdas_parse_iso(start, &fo.start_ms, &err) < 0) {
			mdas_errorx("--start: %s", err.msg);
			goto out;
		}
		fo.end_ms = fo.now_ms > 0 ? fo.now_ms : mdas_now_ms();
		if (end != NULL && mdas_parse_iso(end, &fo.end_ms, &err) < 0) {
			mdas_errorx("--end: %s", err.msg);
			goto out;
		}
		if (fo.end_ms <= fo.start_ms) {
			mdas_errorx("--end must come after --start");
			goto out;
		}
	} else if (fo.range == NULL)
		fo.range = mdas_settings_string(settings, "fetch.range");
	if (fo.interval == NULL)
		fo.interval = mdas_settings_string(settings, "fetch.interval");
	fo.yahoo_base = mdas_settings_string(settings, "data_sources.yahoo.base_url");
	fo.yahoo_cookie = mdas_settings_string(settings, "data_sources.yahoo.cookie_url");
	fo.binance_base = mdas_settings_string(settings, "data_sources.binance.base_url");
	fo.batch = batch;

	ho.jobs = jobs ? jobs : (long)mdas_settings_int(settings, "http.max_concurrency");
	ho.rate = rate ? rate : mdas_settings_number(settings, "http.rate_per_second");
	ho.retries = retries >= 0 ? retries : (long)mdas_settings_int(settings, "http.retries");
	ho.max_wait_s = max_wait ? max_wait : mdas_settings_number(settings, "http.max_wait_seconds");
	ho.timeout_s = timeout ? timeout : mdas_settings_number(settings, "http.timeout_seconds");
	ho.connect_timeout_s = mdas_settings_number(settings, "http.connect_timeout_seconds");
	ho.max_bytes = (long long)mdas_settings_int(settings, "http.max_response_bytes");
	ho.user_agent = mdas_settings_string(settings, "http.user_agent");

	if (since != NULL && strcmp(since, "-") == 0 && optind == argc && config_path == NULL) {
		mdas_errorx("--since-last -: standard input holds the marks; give the symbols "
		    "as arguments or with --config");
		goto out;
	}
	if (optind < argc) {
		list = argv + optind;
		nlist = (size_t)(argc - optind);
	} else if (config_path != NULL) {
		nlist = mdas_settings_array_len(settings, "data_sources.symbols");
		if ((list = calloc(nlist ? nlist : 1, sizeof(*list))) == NULL) {
			mdas_errorx("out of memory");
			rc = MDAS_EXIT_FAILURE;
			goto out;
		}
		for (i = 0; i < nlist; i++)
			list[i] = (char *)mdas_settings_array_string(settings, "data_sources.symbols", i);
		from_stdin = -1;     /* list owned, items not */
	} else {
		from_stdin = 1;
		if (read_symbols(&list, &nlist) < 0)
			goto out;
	}
	if (nlist == 0) {
		mdas_errorx("no symbols given");
		goto out;
	}
	if (since != NULL) {
		FILE *mf = strcmp(since, "-") == 0 ? stdin : fopen(since, "r");
		struct mdas_error merr;
		const char *mname = mf == stdin ? "<stdin>" : since;

		if (mf == NULL) {
			mdas_errorx("--since-last: %s: %s", since, strerror(errno));
			goto out;
		}
		marks = mdas_marks_read(mf, mname, fo.interval, on_bad_mark, &ui, &merr);
		if (mf != stdin)
			fclose(mf);
		if (marks == NULL) {
			mdas_errorx("--since-last: %s", merr.msg);
			goto out;
		}
		mdas_marks_counts(marks, &mlines, &mkept, &mbad);
		fo.marks = marks;
	}

	if (spans_path != NULL) {
		FILE *sf = fopen(spans_path, "r");
		struct mdas_error serr;

		if (sf == NULL) {
			mdas_errorx("--spans: %s: %s", spans_path, strerror(errno));
			goto out;
		}
		spans = mdas_spans_read(sf, spans_path, fo.interval, on_bad_mark, &ui, &serr);
		fclose(sf);
		if (spans == NULL) {
			mdas_errorx("--spans: %s", serr.msg);
			goto out;
		}
		mdas_spans_counts(spans, &slines, &skept, &sover, &sbad);
		fo.spans = spans;
	}

	ui.tty = isatty(STDERR_FILENO) && mdas_log_enabled(MDAS_LOG_NOTICE);
	hooks.on_failure = on_failure;
	hooks.on_progress = on_progress;
	hooks.ctx = &ui;
	if (mdas_fetch_run(&fo, &ho, (const char *const *)list, nlist, stdout, &hooks, &st, &err) < 0) {
		clear_progress(&ui);
		mdas_errorx("%s", err.msg);
		/* Already reported: a second message about stdout adds nothing. */
		fclose(stdout);
		rc = MDAS_EXIT_INCOMPLETE;
		goto out;
	} else {
		clear_progress(&ui);
		mdas_info("%zu symbols, %zu failed; %ld requests, %ld retries, %ld connections; "
		    "binance weight %ld", st.total, st.failed, st.http.requests, st.http.retries,
		    st.http.connections, st.weight);
		if (fo.marks != NULL)
			mdas_info("marks: %lu lines, %zu of interval %s, %lu bad; %zu symbols "
			    "from their mark", mlines, mkept, fo.interval, mbad, st.marked);
		if (fo.shard_n > 0)
			mdas_info("shard %d/%d: %zu symbols here, %zu left to the other shards",
			    fo.shard_k, fo.shard_n, st.total, st.other_shards);
		if (st.beyond > 0)
			mdas_info("%zu span%s beyond the sources' limits not requested "
			    "(beyond_source_limit records)", st.beyond, st.beyond == 1 ? "" : "s");
		if (fo.spans != NULL)
			mdas_info("gaps: %lu lines, %zu of interval %s kept (%zu over %d per series "
			    "left for later), %lu bad; %zu asked for again (%zu still without bars at "
			    "the source), %zu inside the normal requests, %zu beyond the source's "
			    "limit not asked", slines, skept, fo.interval, sover, MDAS_SPANS_PER_SERIES,
			    sbad, st.spans_asked, st.spans_empty, st.spans_covered, st.spans_beyond);
		if (st.failed > 0)
			mdas_errorx("%zu of %zu symbols failed", st.failed, st.total);
		if (sbad > 0)
			mdas_errorx("%lu malformed gap line%s skipped", sbad, sbad == 1 ? "" : "s");
		if (mbad > 0)
			mdas_errorx("%lu malformed marks line%s skipped", mbad, mbad == 1 ? "" : "s");
		rc = st.failed > 0 || mbad > 0 || sbad > 0 ? MDAS_EXIT_FAILURE : MDAS_EXIT_OK;
	}
	if (mdas_close_stdout() < 0)
		rc = MDAS_EXIT_INCOMPLETE;
out:
	if (from_stdin == 1)
		for (i = 0; i < nlist; i++)
			free(list[i]);
	if (from_stdin != 0)
		free(list);
	mdas_marks_free(marks);
	mdas_spans_free(spans);
	mdas_settings_free(settings);
	return rc;
}
