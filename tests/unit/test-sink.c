/* Unit tests for mdas_sink_main() (sink.c): which callbacks run in which
 * order, the options each kind of sink takes, the "<stdin>:LINE: why"
 * message of a rejected record and every exit status.  Each case runs
 * the driver in a child with its standard streams on files. */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "jsonget.h"
#include "log.h"
#include "sink.h"
#include "tap.h"

/* What the fake sink does, set per case. */
static struct {
	int open_rc, finish_rc, instead_rc, needs_run_id;
	int fatal_at;  /* put number */
} how;

static FILE *trace;

struct fake {
	unsigned long puts;
	int opened;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(trace, fmt, ap);
	va_end(ap);
	fflush(trace);
}

static int
fake_option(void *st, int c, const char *arg)
{
	(void)st;
	if (c == 'n' && strcmp(arg, "bad") == 0) {
		mdas_errorx("-n: bad");
		return MDAS_EXIT_USAGE;
	}
	say("option %s %d\n", arg != NULL ? arg : "-", c);
	return MDAS_EXIT_OK;
}

static int
fake_needs_run_id(void *st)
{
	(void)st;
	say("needs_run_id\n");
	return how.needs_run_id;
}

static int
fake_instead(void *st, struct mdas_export *x)
{
	(void)st;
	say("instead %s\n", mdas_export_run_id(x));
	return how.instead_rc;
}

static int
fake_open(void *st, struct mdas_export *x, struct mdas_error *err)
{
	(void)x;
	say("open\n");
	((struct fake *)st)->opened = 1;
	if (how.open_rc != 0)
		mdas_error_set(err, "cannot open: %s", how.open_rc == MDAS_SINK_REFUSED ?
		    "refused" : "failed");
	return how.open_rc;
}

/* Rejects records whose symbol is "BAD". */
static int
fake_put(void *st, enum mdas_export_kind k, struct json_object *rec,
    unsigned long line, struct mdas_error *err)
{
	struct fake *f = st;
	const char *sym = mdas_json_str(rec, "symbol");

	say("put %s %lu\n", k == MDAS_EXPORT_ERROR ? "error" : "record", line);
	if (++f->puts == (unsigned long)how.fatal_at)
		return mdas_error_set(err, "fatal at line %lu", line);
	if (sym != NULL && strcmp(sym, "BAD") == 0) {
		mdas_error_set(err, "symbol: BAD is not stored");
		return MDAS_SINK_REJECTED;
	}
	return 0;
}

static int
fake_finish(void *st, struct mdas_export *x, const struct mdas_export_reader *r,
    struct mdas_error *err)
{
	(void)st;
	(void)x;
	say("finish %lu\n", mdas_export_nrecords(r));
	if (how.finish_rc != 0)
		return mdas_error_set(err, "commit failed");
	puts("written");
	return 0;
}

static void
fake_done(void *st)
{
	say("done%s\n", ((struct fake *)st)->opened ? " opened" : "");
}

static const struct option fake_longopts[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "flag", no_argument, NULL, 0x100 },
	{ NULL, 0, NULL, 0 },
};

static struct mdas_sink sink = {
	.help = "Store records.\n\n",
	.options = "  -n, --name NAME        a name\n",
	.shortopts = "n:",
	.longopts = fake_longopts,
	.noun = "a thing",
	.state_size = sizeof(struct fake),
	.option = fake_option,
	.open = fake_open,
	.put = fake_put,
	.finish = fake_finish,
	.done = fake_done,
};

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static char out[65536], err[65536], log_[65536];
static int status;

static void
slurp(const char *path, char *buf, size_t n)
{
	FILE *fp = fopen(path, "r");
	size_t got = 0;

	if (fp != NULL) {
		got = fread(buf, 1, n - 1, fp);
		fclose(fp);
	}
	buf[got] = '\0';
}

/* Runs the driver on input with args (NULL-terminated), the fake sink
 * having flags. */
static void
run(unsigned flags, const char *input, ...)
{
	char *argv[32];
	va_list ap;
	pid_t pid;
	int argc = 0, ws, fd;
	FILE *fp;

	argv[argc++] = "test-sink";
	va_start(ap, input);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if ((fp = fopen("in", "w")) != NULL) {
		fputs(input, fp);
		fclose(fp);
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		sink.flags = flags;
		if ((trace = fopen("trace", "w")) == NULL)
			_exit(99);
		if (strcmp(input, "<dir>") == 0)
			fd = open(".", O_RDONLY);
		else
			fd = open("in", O_RDONLY);
		dup2(fd, 0);
		fd = open("out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		fd = open("err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		_exit(mdas_sink_main(&sink, argc, argv));
	}
	waitpid(pid, &ws, 0);
	status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
	slurp("out", out, sizeof(out));
	slurp("err", err, sizeof(err));
	slurp("trace", log_, sizeof(log_));
}

#define REC(sym) "{\"type\":\"quote\",\"source\":\"yahoo\",\"symbol\":\"" sym "\"," \
	"\"ts\":\"2023-09-01T20:00:01.000Z\",\"ts_ms\":1693598401000,\"schema_version\":1}\n"
#define ERR "{\"type\":\"error\",\"stage\":\"fetch\",\"message\":\"boom\"}\n"

int
main(void)
{
	char dir[] = "/tmp/mdas-sink-XXXXXX";
	FILE *fp;

	tap_plan(68);
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		return 99;
	if ((fp = fopen("settings.json", "w")) == NULL)
		return 99;
	fputs("{\"export\": {\"dir\": \"exports\"}, \"state_dir\": \"state\"}\n", fp);
	fclose(fp);
	if ((fp = fopen("broken.json", "w")) == NULL)
		return 99;
	fputs("{\"export\": \n", fp);
	fclose(fp);

	run(0, REC("A") ERR REC("B"), "--config=settings.json", "--run-id", "R1", NULL);
	tap_is_int(status, 0, "all taken: exit 0");
	tap_is_str(log_, "open\nput record 1\nput error 2\nput record 3\nfinish 2\ndone opened\n",
	    "all taken: open, put per record with its line, finish, done");
	tap_is_str(out, "written\n", "all taken: finish's output on stdout");
	tap_is_str(err, "", "all taken: nothing on stderr");

	run(0, REC("A") "\n" REC("BAD") "{oops\n" REC("C") REC("BAD"),
	    "--config=settings.json", "--run-id=R1", NULL);
	tap_is_int(status, 1, "rejected: exit 1");
	tap_is_str(err, "test-sink: <stdin>:3: symbol: BAD is not stored\n"
	    "test-sink: <stdin>:4: invalid JSON: quoted object property name expected\n"
	    "test-sink: <stdin>:6: symbol: BAD is not stored\n",
	    "rejected: each with its line, worded like the reader's bad lines, in input order");
	tap_is_str(log_, "open\nput record 1\nput record 3\nput record 5\nput record 6\n"
	    "finish 4\ndone opened\n", "rejected: the rest is still put and finished");
	tap_is_str(out, "written\n", "rejected: finish still commits");

	run(0, REC("BAD") REC("A"), "--config=settings.json", "--run-id=R1", NULL);
	tap_is_int(status, 1, "a rejected record alone: exit 1");
	tap_is_str(out, "written\n", "a rejected record alone: the rest finished");
	run(0, REC("A") "{oops\n", "--config=settings.json", "--run-id=R1", NULL);
	tap_is_int(status, 1, "a bad line alone: exit 1");

	how.fatal_at = 2;
	run(0, REC("A") REC("B") REC("C"), "--config=settings.json", "--run-id=R1", NULL);
	tap_is_int(status, 1, "fatal put: exit 1");
	tap_is_str(err, "test-sink: fatal at line 2\n", "fatal put: err.msg as it is");
	tap_is_str(log_, "open\nput record 1\nput record 2\ndone opened\n",
	    "fatal put: stops reading, no finish, done");
	tap_is_str(out, "", "fatal put: nothing written");
	how.fatal_at = 0;

	how.open_rc = MDAS_SINK_REFUSED;
	run(0, REC("A"), "--config=settings.json", "--run-id=R1", NULL);
	tap_is_int(status, 2, "open refused: exit 2");
	tap_is_str(err, "test-sink: cannot open: refused\n", "open refused: message");
	tap_is_str(log_, "open\ndone opened\n", "open refused: no put, no finish, done");
	how.open_rc = -1;
	run(0, REC("A"), "--config=settings.json", "--run-id=R1", NULL);
	tap_is_int(status, 1, "open failed: exit 1");
	tap_is_str(err, "test-sink: cannot open: failed\n", "open failed: message");
	how.open_rc = 0;

	how.finish_rc = -1;
	run(0, REC("A"), "--config=settings.json", "--run-id=R1", NULL);
	tap_is_int(status, 1, "finish failed: exit 1");
	tap_is_str(err, "test-sink: commit failed\n", "finish failed: message");
	tap_is_str(log_, "open\nput record 1\nfinish 1\ndone opened\n", "finish failed: then done");
	how.finish_rc = 0;

	run(0, "<dir>", "--config=settings.json", "--run-id=R1", NULL);
	tap_is_int(status, 1, "read error: exit 1");
	tap_ok(strstr(err, "Is a directory") != NULL, "read error: the reason");
	tap_is_str(log_, "open\ndone opened\n", "read error: no finish, done");

	sink.instead = fake_instead;
	how.instead_rc = 0;
	run(0, REC("A"), "--config=settings.json", "--run-id=R7", NULL);
	tap_is_int(status, 0, "instead 0: exit 0");
	tap_is_str(log_, "instead R7\ndone\n", "instead 0: after begin (run ID known), nothing opened or read");
	how.instead_rc = 2;
	run(0, REC("A"), "--config=settings.json", "--run-id=R7", NULL);
	tap_is_int(status, 2, "instead 2: its status");
	how.instead_rc = -1;
	run(0, REC("A"), "--config=settings.json", "--run-id=R7", NULL);
	tap_is_str(log_, "instead R7\nopen\nput record 1\nfinish 1\ndone opened\n",
	    "instead -1: the load goes on");
	/* needs_run_id: without --run-id, a run ID is allocated (notice)
	 * unless the sink says this invocation needs none. */
	how.instead_rc = 0;
	run(0, REC("A"), "--config=settings.json", NULL);
	tap_ok(starts(log_, "instead 2") && starts(err, "test-sink: notice: no --run-id or MDAS_RUN_ID: allocated run ID 2"),
	    "no needs_run_id: a run ID is allocated and said");
	sink.needs_run_id = fake_needs_run_id;
	how.needs_run_id = 0;
	if (system("rm -rf state") != 0)
		return 99;
	run(0, REC("A"), "--config=settings.json", NULL);
	tap_is_str(log_, "needs_run_id\ninstead \ndone\n", "needs_run_id 0: after the options, run ID \"\"");
	tap_is_str(err, "", "needs_run_id 0: nothing allocated, nothing said");
	tap_ok(access("state", F_OK) != 0, "needs_run_id 0: the state directory is not touched");
	run(0, REC("A"), "--config=settings.json", "--run-id=R9", NULL);
	tap_is_str(log_, "needs_run_id\ninstead R9\ndone\n", "needs_run_id 0: --run-id still counts");
	how.needs_run_id = 1;
	run(0, REC("A"), "--config=settings.json", NULL);
	tap_ok(starts(log_, "needs_run_id\ninstead 2"), "needs_run_id 1: allocated");
	sink.needs_run_id = NULL;
	sink.instead = NULL;

	run(0, REC("A"), "--config=settings.json", "--run-id=R1", "-n", "x", "--name=y", "--flag", NULL);
	tap_is_int(status, 0, "own options: exit 0");
	tap_is_str(log_, "option x 110\noption y 110\noption - 256\nopen\nput record 1\nfinish 1\ndone opened\n",
	    "own options: short, long, long-only, in order, before open");
	run(0, REC("A"), "--config=settings.json", "-n", "bad", NULL);
	tap_is_int(status, 2, "own option refused: exit 2");
	tap_is_str(err, "test-sink: -n: bad\n", "own option refused: its message only");
	tap_is_str(log_, "done\n", "own option refused: done, nothing else");

	run(0, REC("A"), "--config=settings.json", "--run-id=R1", "-o", "x", NULL);
	tap_is_int(status, 2, "no MDAS_SINK_FILES: -o is unknown");
	tap_ok(starts(err, "test-sink: invalid option -- 'o'\nUsage: test-sink [OPTION]...\n"),
	    "no MDAS_SINK_FILES: getopt's message, then the usage");
	run(0, REC("A"), "--config=settings.json", "--output-dir=x", NULL);
	tap_is_int(status, 2, "no MDAS_SINK_FILES: --output-dir is unknown");
	run(0, REC("A"), "--config=settings.json", "--force", NULL);
	tap_is_int(status, 2, "no MDAS_SINK_FILES: --force is unknown");
	tap_is_str(log_, "done\n", "usage error: done still runs");
	run(MDAS_SINK_FILES, REC("A"), "--config=settings.json", "--run-id=R1", "-o", "x",
	    "--output-dir=d", "--force", NULL);
	tap_is_int(status, 0, "MDAS_SINK_FILES: -o, --output-dir, --force taken");
	tap_is_str(log_, "open\nput record 1\nfinish 1\ndone opened\n",
	    "MDAS_SINK_FILES: not passed to option()");

	run(MDAS_SINK_FILES | MDAS_SINK_NO_STREAM, REC("A"), "--config=nowhere.json", "-o", "-", NULL);
	tap_is_int(status, 2, "NO_STREAM -o -: exit 2");
	tap_is_str(err, "test-sink: -o -: a thing cannot be written to standard output\n",
	    "NO_STREAM -o -: message, before the configuration is read");
	run(MDAS_SINK_FILES | MDAS_SINK_NO_STREAM, REC("A"), "--config=nowhere.json",
	    "-o", "/dev/null", NULL);
	tap_is_str(err, "test-sink: -o /dev/null: a thing cannot be written to a FIFO or character device\n",
	    "NO_STREAM -o DEVICE: message");
	run(MDAS_SINK_FILES, REC("A"), "--config=settings.json", "--run-id=R1", "-o", "-", NULL);
	tap_is_int(status, 0, "without NO_STREAM, -o - is fine");

	run(0, REC("A"), "--config=settings.json", "extra", NULL);
	tap_is_int(status, 2, "operand: exit 2");
	tap_ok(starts(err, "test-sink: unexpected argument 'extra'\nUsage: test-sink [OPTION]...\n"),
	    "operand: message and usage on stderr");
	run(0, REC("A"), "--config=settings.json", "--run-id", "no way", NULL);
	tap_is_int(status, 2, "bad --run-id: exit 2 (mdas_export_begin)");
	tap_is_str(log_, "done\n", "bad --run-id: nothing opened");
	run(0, REC("A"), "--config=broken.json", "--run-id=R1", NULL);
	tap_is_int(status, 2, "a broken configuration: exit 2");
	tap_is_str(log_, "done\n", "a broken configuration: nothing opened");

	run(0, "", "--help", NULL);
	tap_is_int(status, 0, "--help: exit 0");
	tap_is_str(out, "Usage: test-sink [OPTION]...\nStore records.\n\n"
	    "      --run-id ID        run ID of the output (default: $MDAS_RUN_ID, else a new one)\n"
	    "  -n, --name NAME        a name\n"
	    "      --config PATH      configuration file\n"
	    "  -q, --quiet            print errors only\n"
	    "  -v, --verbose          print debug messages\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n",
	    "--help without MDAS_SINK_FILES: help, --run-id, own options, the rest");
	tap_is_str(log_, "done\n", "--help: done");
	run(MDAS_SINK_FILES | MDAS_SINK_NO_STREAM, "", "-h", NULL);
	tap_ok(strstr(out, "      --run-id ID        run ID of the output (default: $MDAS_RUN_ID, else a new one)\n"
	    "      --output-dir DIR   write into DIR (default: export.dir from the configuration)\n"
	    "  -o, --output FILE      write to FILE instead (not '-', a FIFO or a device)\n"
	    "      --force            replace an existing file\n"
	    "  -n, --name NAME        a name\n"
	    "      --config PATH      configuration file\n") != NULL,
	    "--help with MDAS_SINK_FILES: the output options before the sink's own");
	run(0, "", "-V", NULL);
	tap_is_int(status, 0, "-V: exit 0");
	tap_ok(starts(out, "test-sink (mdas) "), "-V: the version");

	run(0, REC("A") "{oops\n", "--config=settings.json", "--run-id=R1", "-q", NULL);
	tap_ok(strstr(err, "<stdin>:2:") != NULL, "-q: errors are still printed");
	run(0, REC("A"), "--config=settings.json", "--run-id=R1", "-v", NULL);
	tap_is_int(status, 0, "-v: taken");

	/* Standard output that cannot be written: the driver closes it and
	 * says so. */
	if (fork() == 0) {
		int fd = open("/dev/full", O_WRONLY);

		if (fd < 0)
			_exit(99);
		dup2(fd, 1);
		fd = open("err2", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		fd = open("in", O_RDONLY);
		dup2(fd, 0);
		trace = fopen("trace", "w");
		_exit(mdas_sink_main(&sink, 3, (char *[]){ "test-sink",
		    "--config=settings.json", "--run-id=R1", NULL }));
	}
	wait(&status);
	slurp("err2", err, sizeof(err));
	tap_is_int(WEXITSTATUS(status), 1, "stdout full: exit 1");
	tap_is_str(err, "test-sink: write error on standard output: No space left on device\n",
	    "stdout full: mdas_close_stdout's message");

	if (chdir("/") == 0) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return tap_done();
}
