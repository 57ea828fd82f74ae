#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "log.h"
#include "timeutil.h"

static const char *progname = "mdas";
static enum mdas_log_level threshold = MDAS_LOG_NOTICE;
static int json_format;

static const char *const level_names[] = {
	"debug", "info", "notice", "warning", "error",
};

int
mdas_log_level_parse(const char *name)
{
	size_t i;

	if (strcmp(name, "warn") == 0)
		return MDAS_LOG_WARNING;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int
mdas_log_init(const char *argv0)
{
	const char *s;
	int level, rc = 0;

	if (argv0 != NULL) {
		s = strrchr(argv0, '/');
		progname = s != NULL ? s + 1 : argv0;
		/* libtool wrappers run "lt-prog"; users should see "prog". */
		if (strncmp(progname, "lt-", 3) == 0)
			progname += 3;
	}
	if ((s = getenv("MDAS_LOG_FORMAT")) != NULL && *s != '\0') {
		if (strcmp(s, "json") == 0)
			json_format = 1;
		else if (strcmp(s, "text") != 0) {
			mdas_warn("MDAS_LOG_FORMAT: expected text or json, got '%s'", s);
			rc = -1;
		}
	}
	if ((s = getenv("MDAS_LOG_LEVEL")) != NULL && *s != '\0') {
		if ((level = mdas_log_level_parse(s)) >= 0)
			threshold = (enum mdas_log_level)level;
		else {
			mdas_warn("MDAS_LOG_LEVEL: expected debug, info, notice, warning or error, got '%s'", s);
			rc = -1;
		}
	}
	return rc;
}

const char *
mdas_log_progname(void)
{
	return progname;
}

void
mdas_log_set_level(enum mdas_log_level level)
{
	threshold = level;
}

enum mdas_log_level
mdas_log_get_level(void)
{
	return threshold;
}

int
mdas_log_enabled(enum mdas_log_level level)
{
	return level >= threshold;
}

void
mdas_log_set_json(int on)
{
	json_format = on;
}

void
mdas_log(enum mdas_log_level level, const char *fmt, ...)
{
	char msg[4096], ts[MDAS_ISO_MAX];
	struct mdas_jsonw *w;
	const char *run_id;
	va_list ap;

	if (level < threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (!json_format) {
		if (level == MDAS_LOG_ERROR)
			fprintf(stderr, "%s: %s\n", progname, msg);
		else
			fprintf(stderr, "%s: %s: %s\n", progname, level_names[level], msg);
		return;
	}
	w = mdas_jsonw_new();
	if (w == NULL) {
		fprintf(stderr, "%s: %s: %s\n", progname, level_names[level], msg);
		return;
	}
	mdas_format_iso_ms(mdas_now_ms(), ts);
	run_id = getenv("MDAS_RUN_ID");
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "ts");
	mdas_jsonw_string(w, ts);
	mdas_jsonw_key(w, "prog");
	mdas_jsonw_string(w, progname);
	mdas_jsonw_key(w, "level");
	mdas_jsonw_string(w, level_names[level]);
	mdas_jsonw_key(w, "run_id");
	if (run_id != NULL && *run_id != '\0')
		mdas_jsonw_string(w, run_id);
	else
		mdas_jsonw_null(w);
	mdas_jsonw_key(w, "msg");
	mdas_jsonw_string(w, msg);
	mdas_jsonw_end_object(w);
	mdas_jsonw_write_line(w, stderr);
	mdas_jsonw_free(w);
}
