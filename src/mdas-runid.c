/* mdas-runid: allocate the next run ID (or print the current one). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"
#include "runid.h"
#include "settings.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s [OPTION]...\n"
	    "Allocate the next run ID and print it.\n\n"
	    "  -c, --current        print the last allocated ID; allocate nothing\n"
	    "  -s, --state-dir DIR  keep the counter in DIR (default: $MDAS_STATE_DIR,\n"
	    "                       else state_dir from the configuration)\n"
	    "      --config PATH    configuration file\n"
	    "  -q, --quiet          print errors only\n"
	    "  -v, --verbose        print debug messages\n"
	    "  -h, --help           show this help and exit\n"
	    "  -V, --version        show the version and exit\n",
	    mdas_log_progname());
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "current", no_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'C' },
		MDAS_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct mdas_settings *settings = NULL;
	const char *state_dir = NULL, *config_path = NULL;
	char id[MDAS_RUNID_MAX];
	struct mdas_error err;
	int c, current = 0, rc;

	mdas_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "cs:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': current = 1; break;
		case 's': state_dir = optarg; break;
		case 'C': config_path = optarg; break;
		default:
			if ((c = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON)
				return c;
		}
	}
	if (optind < argc)
		return mdas_cli_operand_error(argv[optind], usage);
	if (state_dir == NULL && (state_dir = getenv("MDAS_STATE_DIR")) != NULL &&
	    *state_dir == '\0')
		state_dir = NULL;
	/* The configuration is read only when it has to name the directory. */
	if (state_dir == NULL) {
		if ((settings = mdas_cli_load_settings(config_path)) == NULL)
			return MDAS_EXIT_USAGE;
		state_dir = mdas_settings_string(settings, "state_dir");
	}

	if (current) {
		rc = mdas_runid_current(state_dir, id, &err);
		if (rc == 1)
			mdas_errorx("%s: no run ID allocated yet", state_dir);
	} else
		rc = mdas_runid_next(state_dir, id, NULL, &err);
	if (rc < 0)
		mdas_errorx("%s", err.msg);
	else if (rc == 0) {
		puts(id);
		mdas_debug("allocated in %s", state_dir);
	}
	mdas_settings_free(settings);
	if (mdas_close_stdout() < 0)
		return MDAS_EXIT_FAILURE;
	return rc == 0 ? MDAS_EXIT_OK : MDAS_EXIT_FAILURE;
}
