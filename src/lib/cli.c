#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "settings.h"

void
mdas_print_version(void)
{
	printf("%s (%s) %s\n", mdas_log_progname(), PACKAGE_NAME, PACKAGE_VERSION);
}

int
mdas_cli_option(int c, void (*usage)(FILE *))
{
	switch (c) {
	case 'q':
		mdas_log_set_level(MDAS_LOG_ERROR);
		return MDAS_CLI_GO_ON;
	case 'v':
		mdas_log_set_level(MDAS_LOG_DEBUG);
		return MDAS_CLI_GO_ON;
	case 'h':
		usage(stdout);
		return mdas_close_stdout() < 0 ? MDAS_EXIT_FAILURE : MDAS_EXIT_OK;
	case 'V':
		mdas_print_version();
		return mdas_close_stdout() < 0 ? MDAS_EXIT_FAILURE : MDAS_EXIT_OK;
	default:
		usage(stderr);
		return MDAS_EXIT_USAGE;
	}
}

int
mdas_cli_operand_error(const char *arg, void (*usage)(FILE *))
{
	mdas_errorx("unexpected argument '%s'", arg);
	usage(stderr);
	return MDAS_EXIT_USAGE;
}

int
mdas_close_stdout(void)
{
	int failed = ferror(stdout);

	errno = 0;
	if (fclose(stdout) != 0 || failed) {
		mdas_errorx("write error on standard output%s%s",
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	return 0;
}

int
mdas_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
mdas_parse_positive(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0)
		return -1;
	*out = v;
	return 0;
}

int
mdas_cli_report_settings(const struct mdas_settings *s)
{
	const struct mdas_settings_problem *p;
	size_t i;

	if (mdas_settings_created_from(s) != NULL)
		mdas_notice("%s: missing; created from %s", mdas_settings_path(s),
		    mdas_settings_created_from(s));
	for (i = 0; (p = mdas_settings_problem(s, i)) != NULL; i++) {
		if (p->is_error)
			mdas_errorx("%s: %s", mdas_settings_path(s), p->msg);
		else
			mdas_warn("%s: %s", mdas_settings_path(s), p->msg);
	}
	return mdas_settings_has_errors(s) ? -1 : 0;
}

struct mdas_settings *
mdas_cli_load_settings(const char *explicit_path)
{
	struct mdas_settings *s;
	struct mdas_error err;

	if ((s = mdas_settings_load(explicit_path, &err)) == NULL) {
		mdas_errorx("%s", err.msg);
		return NULL;
	}
	if (mdas_cli_report_settings(s) < 0) {
		mdas_settings_free(s);
		return NULL;
	}
	return s;
}
