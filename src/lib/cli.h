/* cli.h: what every program's main() shares: --version text, the checked
 * close of stdout, and the exit codes documented in mdas(7). */
#ifndef MDAS_CLI_H
#define MDAS_CLI_H

#include <stdio.h>

enum {
	MDAS_EXIT_OK = 0,        /* everything succeeded */
	MDAS_EXIT_FAILURE = 1,   /* runtime or partial failure */
	MDAS_EXIT_USAGE = 2,     /* usage or configuration error */
	MDAS_EXIT_INCOMPLETE = 3, /* a filter's output is not whole: do not use it */
};

/* The long options every program has, for the end of its option table
 * (before the terminating zero entry); their short forms are "qvhV". */
#define MDAS_CLI_LONGOPTS \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }

#define MDAS_CLI_GO_ON (-1)

/* Handles an option every program shares, given getopt_long's c: -q and
 * -v set the log level and return MDAS_CLI_GO_ON; -h and -V print the
 * usage or the version and return the exit status for main() to return;
 * anything else is an unknown option: usage on stderr, MDAS_EXIT_USAGE.
 * Callers write `if ((c = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON)
 * return c;` in their switch's default case. */
int mdas_cli_option(int c, void (*usage)(FILE *));

/* Reports an operand a program does not take, with the usage on stderr;
 * returns MDAS_EXIT_USAGE. */
int mdas_cli_operand_error(const char *arg, void (*usage)(FILE *));

/* Prints "PROG (mdas) VERSION" to stdout. */
void mdas_print_version(void);

/* Flushes and closes stdout, reporting a write error (a full disk, a
 * closed pipe with SIGPIPE ignored).  Returns 0, or -1 after printing. */
int mdas_close_stdout(void);

/* Parses a whole decimal number in [min, max]; -1 on anything else. */
int mdas_parse_long(const char *s, long min, long max, long *out);
/* Parses a finite decimal number > 0; -1 on anything else. */
int mdas_parse_positive(const char *s, double *out);



struct mdas_settings;
/* Loads the settings the way every program does: reports a file created
 * from the example (notice), unknown keys (warnings) and every error
 * (naming the file and key path).  Returns NULL when the program should
 * exit with MDAS_EXIT_USAGE. */
struct mdas_settings *mdas_cli_load_settings(const char *explicit_path);
/* Prints what mdas_cli_load_settings() prints about a loaded file; returns
 * -1 when it has errors. */
int mdas_cli_report_settings(const struct mdas_settings *s);
#endif
