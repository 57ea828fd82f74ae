/* mdas-config: read and check the mdas configuration from shell scripts. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "settings.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s [OPTION]... get KEY\n"
	    "       %s [OPTION]... init|check|path\n"
	    "Read the mdas configuration (like git config, for shell scripts).\n\n"
	    "  get KEY    print the effective value of a dotted KEY (arrays one\n"
	    "             item per line, objects as JSON); exit 1 if it is unset\n"
	    "  init       create the configuration file from settings_example.json\n"
	    "  check      validate the file and report every problem\n"
	    "  path       print which configuration file is in use\n\n"
	    "      --config PATH  configuration file (default: $MDAS_CONFIG, else\n"
	    "                     ./config/settings.json)\n"
	    "  -q, --quiet        print errors only\n"
	    "  -v, --verbose      print debug messages\n"
	    "  -h, --help         show this help and exit\n"
	    "  -V, --version      show the version and exit\n",
	    mdas_log_progname(), mdas_log_progname());
}

static void
print_value(struct json_object *v)
{
	size_t i, n;

	switch (json_object_get_type(v)) {
	case json_type_string:
		puts(json_object_get_string(v));
		break;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			print_value(json_object_array_get_idx(v, i));
		break;
	default:
		puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	}
}

static int
cmd_init(const char *config_path)
{
	char example[4096];
	struct mdas_error err;
	const char *path = config_path;

	if (path == NULL && (path = getenv("MDAS_CONFIG")) != NULL && *path == '\0')
		path = NULL;
	if (path == NULL)
		path = "config/settings.json";
	if (mdas_settings_init_file(path, example, sizeof(example), &err) < 0) {
		if (err.errnum == EEXIST) {
			mdas_notice("%s: already exists; left unchanged", path);
			puts(path);
			return MDAS_EXIT_OK;
		}
		mdas_errorx("%s", err.msg);
		return MDAS_EXIT_USAGE;
	}
	mdas_notice("%s: created from %s", path, example);
	puts(path);
	return MDAS_EXIT_OK;
}

static int
cmd_check(const char *config_path)
{
	struct mdas_settings *s;
	struct mdas_error err;
	int rc;

	if ((s = mdas_settings_load(config_path, &err)) == NULL) {
		mdas_errorx("%s", err.msg);
		return MDAS_EXIT_USAGE;
	}
	rc = mdas_cli_report_settings(s) < 0 ? MDAS_EXIT_USAGE : MDAS_EXIT_OK;
	if (rc == MDAS_EXIT_OK)
		printf("%s: ok\n", mdas_settings_path(s));
	mdas_settings_free(s);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'C' },
		MDAS_CLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *cmd;
	struct mdas_settings *s;
	struct json_object *v;
	int c, rc;

	mdas_log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "+qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': config_path = optarg; break;
		default:
			if ((c = mdas_cli_option(c, usage)) != MDAS_CLI_GO_ON)
				return c;
		}
	}
	if (optind >= argc) {
		mdas_errorx("missing command (get, init, check or path)");
		usage(stderr);
		return MDAS_EXIT_USAGE;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "get") == 0 ? argc - optind != 1 : argc - optind != 0) {
		mdas_errorx("%s: wrong number of arguments", cmd);
		usage(stderr);
		return MDAS_EXIT_USAGE;
	}

	if (strcmp(cmd, "init") == 0)
		rc = cmd_init(config_path);
	else if (strcmp(cmd, "check") == 0)
		rc = cmd_check(config_path);
	else if (strcmp(cmd, "path") == 0 || strcmp(cmd, "get") == 0) {
		if ((s = mdas_cli_load_settings(config_path)) == NULL)
			return MDAS_EXIT_USAGE;
		rc = MDAS_EXIT_OK;
		if (strcmp(cmd, "path") == 0)
			puts(mdas_settings_path(s));
		else if ((v = mdas_settings_get(s, argv[optind])) != NULL)
			print_value(v);
		else {
			mdas_debug("%s: not set", argv[optind]);
			rc = MDAS_EXIT_FAILURE;
		}
		mdas_settings_free(s);
	} else {
		mdas_errorx("%s: unknown command (expected get, init, check or path)", cmd);
		usage(stderr);
		return MDAS_EXIT_USAGE;
	}
	if (mdas_close_stdout() < 0)
		return MDAS_EXIT_FAILURE;
	return rc;
}
