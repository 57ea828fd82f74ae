/* sink.h: the one shape of every exporter's main().
 *
 * mdas-export-csv, -json, -xlsx, -sqlite and -pg all read the same
 * record stream and differ only in where the records go.  Each is a
 * struct mdas_sink (its options, its help text and five callbacks), and
 * its main() is one line:
 *
 *   int main(int argc, char **argv) { return mdas_sink_main(&csv_sink, argc, argv); }
 *
 * mdas_sink_main() does what every exporter must do alike: option
 * parsing (the shared MDAS_EXPORT_LONGOPTS / MDAS_CLI_LONGOPTS plus the
 * sink's own), mdas_export_begin() (settings, run ID, output directory),
 * reading stdin with mdas_export_next(), the "prog: <stdin>:LINE: why"
 * message for each line a sink rejects, the exit status, and closing
 * standard output.  Nothing here exits; messages go through log.h.
 *
 * Order of calls:
 *   option()  for each option code that is not a shared one;
 *   instead() when set and it returns >= 0: that is the exit status and
 *             nothing is read (mdas-export-sqlite --last, --init);
 *   open()    once, after mdas_export_begin();
 *   put()     for each usable record (RECORD, EVENT, ERROR), in order;
 *   finish()  at end of input (commit, print what was written);
 *   done()    always last, also after a failure: free everything,
 *             abort what was not committed.  It is called whenever the
 *             state was allocated, even when the run stopped before
 *             open() (a usage error, --help): then the state is as
 *             option() left it, else all zero.
 * A failed open() is followed by done() only; a fatal put(), or an input
 * read error, by done() without finish().  The messages of a failed
 * callback are err.msg, printed by the driver as "prog: MSG".
 */
#ifndef MDAS_SINK_H
#define MDAS_SINK_H

#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "error.h"
#include "export.h"

/* mdas_sink.flags */
#define MDAS_SINK_FILES      0x01  /* takes -o FILE, --output-dir DIR, --force */
#define MDAS_SINK_NO_STREAM  0x02  /* -o cannot be a pipe or a device (a zip file) */

/* What put() returns besides 0 (taken) and -1 (fatal: err says why, the
 * run stops and nothing is committed). */
#define MDAS_SINK_REJECTED 1       /* this record only: err says why; the
                                    * driver prints it with the line, counts
                                    * it (exit 1) and goes on */

#define MDAS_SINK_REFUSED (-2)    /* open() only: configuration-class failure */

struct mdas_sink {
	/* Help text after the "Usage: PROG [OPTION]...\n" line: what the
	 * program does and a blank line.  The driver then prints --run-id
	 * (and with MDAS_SINK_FILES --output-dir, -o, --force), then
	 * options, then --config, -q, -v, -h, -V.  Option lines have the
	 * description at column 26: "  -d, --delimiter C      separate...".
	 * With options NULL, help may end with the sink's own option lines:
	 * they then come before all the shared ones. */
	const char *help;
	const char *options;            /* its own option lines, or NULL */
	const char *shortopts;          /* its own short options, e.g. "d:", or NULL */
	/* Its own, { NULL } terminated, or NULL.  Entries have flag NULL;
	 * their val (and the letters of shortopts) go to option(). */
	const struct option *longopts;
	unsigned flags;                 /* MDAS_SINK_* */
	/* With MDAS_SINK_NO_STREAM: what it writes, for the messages about
	 * -o ("a workbook": "-o -: a workbook cannot be written to standard
	 * output"). */
	const char *noun;
	size_t state_size;              /* bytes of its state (zeroed) */

	/* An option of its own (arg: optarg or NULL): MDAS_EXIT_OK, or
	 * MDAS_EXIT_USAGE after printing why with mdas_errorx().  NULL when
	 * it has none. */
	int (*option)(void *st, int c, const char *arg);
	/* Optional.  Returns 0 when this invocation needs no run ID (a
	 * store's --last): mdas_export_begin() then allocates none when
	 * neither --run-id nor MDAS_RUN_ID gives one.  Called after the
	 * options. */
	int (*needs_run_id)(void *st);
	/* Optional.  Called after mdas_export_begin(); returns -1 to go on
	 * reading the stream, or an exit status to stop with. */
	int (*instead)(void *st, struct mdas_export *x);
	/* Opens the destination: 0, or -1 with err (exit 1), or
	 * MDAS_SINK_REFUSED with err (exit 2: e.g. a database of a newer
	 * schema version, never altered). */
	int (*open)(void *st, struct mdas_export *x, struct mdas_error *err);
	/* One record (rec owned by the reader: valid during the call only);
	 * line is its input line number.  0, MDAS_SINK_REJECTED with err
	 * the reason alone (the driver adds "<stdin>:LINE: "), or -1 with
	 * err the whole message. */
	int (*put)(void *st, enum mdas_export_kind k, struct json_object *rec,
	    unsigned long line, struct mdas_error *err);
	/* End of input: commit and print: 0, or -1 with err, or
	 * MDAS_SINK_REJECTED when it committed but refused records itself
	 * (and named them): exit 1.  The reader is there for counts
	 * (mdas_export_nrecords(), ...). */
	int (*finish)(void *st, struct mdas_export *x,
	    const struct mdas_export_reader *r, struct mdas_error *err);
	/* Frees the state's contents (not st itself); after any outcome. */
	void (*done)(void *st);
};

/* Runs the exporter; returns its exit status: 0 ok, 1 some input lines
 * bad or rejected (the rest was written) or a runtime failure (nothing
 * committed), 2 usage or configuration error. */
int mdas_sink_main(const struct mdas_sink *s, int argc, char **argv);

#endif
