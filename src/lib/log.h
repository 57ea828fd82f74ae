/* log.h: diagnostics on stderr, shared by every program.
 *
 * Text format (default):   prog: message             (level error)
 *                          prog: warning: message    (other levels)
 * JSON format (MDAS_LOG_FORMAT=json): one object per line,
 *   {"ts":"2026-11-23T10:15:00.123Z","prog":"mdas-fetch","level":"warning",
 *    "run_id":"...","msg":"..."}   (run_id from MDAS_RUN_ID, else null)
 *
 * Levels, most to least verbose: debug, info, notice, warning, error.
 * The threshold comes from MDAS_LOG_LEVEL (default: notice), and
 * --verbose (debug) / --quiet (error) override it through
 * mdas_log_set_level().  This module is the one place in the library
 * allowed to write to stderr; it never exits.
 */
#ifndef MDAS_LOG_H
#define MDAS_LOG_H

enum mdas_log_level {
	MDAS_LOG_DEBUG = 0,
	MDAS_LOG_INFO,
	MDAS_LOG_NOTICE,
	MDAS_LOG_WARNING,
	MDAS_LOG_ERROR,
};

/* Sets the program name (basename of argv0) and reads MDAS_LOG_FORMAT and
 * MDAS_LOG_LEVEL.  Call first in main().  Returns -1 if an environment
 * value is invalid (a warning has then been printed and the default kept). */
int mdas_log_init(const char *argv0);

const char *mdas_log_progname(void);
void mdas_log_set_level(enum mdas_log_level level);
enum mdas_log_level mdas_log_get_level(void);
int mdas_log_enabled(enum mdas_log_level level);
/* Parses "debug", "info", "notice", "warning"/"warn", "error"; -1 if unknown. */
int mdas_log_level_parse(const char *name);
void mdas_log_set_json(int on);

void mdas_log(enum mdas_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define mdas_debug(...)  mdas_log(MDAS_LOG_DEBUG, __VA_ARGS__)
#define mdas_info(...)   mdas_log(MDAS_LOG_INFO, __VA_ARGS__)
#define mdas_notice(...) mdas_log(MDAS_LOG_NOTICE, __VA_ARGS__)
#define mdas_warn(...)   mdas_log(MDAS_LOG_WARNING, __VA_ARGS__)
#define mdas_errorx(...) mdas_log(MDAS_LOG_ERROR, __VA_ARGS__)

#endif
