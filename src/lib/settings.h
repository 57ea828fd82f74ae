/* config.h: settings.json, its defaults, validation and self-healing.
 *
 * Resolution order: the path given by the caller (--config), then
 * $MDAS_CONFIG, then ./config/settings.json.  A missing file is created
 * from settings_example.json, looked up beside it and then in the
 * installed data directory.  Every known key has a type and a built-in
 * default (the same values as settings_example.json); unknown keys are
 * warnings, values of the wrong type or out of range are errors naming the
 * key path ("data_sources.symbols[2]: ..." for an item).  A file that is
 * not strict UTF-8 or holds a \u0000 or unpaired surrogate escape does
 * not load ("path:LINE: ... at byte N").  No string may hold a control
 * character (paths, the user agent, symbols), and symbols no '"' or '\';
 * integers are at most 2^53, other numbers at most 1e9.
 * MDAS_YAHOO_BASE_URL, MDAS_YAHOO_COOKIE_URL, MDAS_BINANCE_BASE_URL and
 * MDAS_STATE_DIR override their keys.
 *
 * (This file is settings.h, not config.h: autoconf owns config.h.)
 */
#ifndef MDAS_SETTINGS_H
#define MDAS_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

struct mdas_settings;

struct mdas_settings_problem {
	int is_error;            /* 0: warning (unknown key), 1: error */
	char msg[512];           /* "scheduler.interval_seconds: expected ..." */
};

/* Finds, creates if missing, reads and validates the settings file.
 * Returns NULL when the file cannot be found, created, read or parsed
 * (err says which and why).  A parsed file is returned even when it has
 * problems: check mdas_settings_nproblems() / mdas_settings_has_errors(). */
struct mdas_settings *mdas_settings_load(const char *explicit_path, struct mdas_error *err);
/* Frees cfg; NULL is accepted. */
void mdas_settings_free(struct mdas_settings *s);

/* The resolved path, and whether this load created it from the example
 * (and from which file). */
const char *mdas_settings_path(const struct mdas_settings *s);
const char *mdas_settings_created_from(const struct mdas_settings *s);

size_t mdas_settings_nproblems(const struct mdas_settings *s);
const struct mdas_settings_problem *mdas_settings_problem(const struct mdas_settings *s, size_t i);
int mdas_settings_has_errors(const struct mdas_settings *s);

/* The effective value of a dotted key (file, environment override or
 * built-in default), or NULL when it is unset and has no default.  The
 * returned object belongs to cfg. */
struct json_object *mdas_settings_get(const struct mdas_settings *s, const char *key);

/* Typed getters for known keys; they return the default when the file's
 * value is missing or invalid (invalid values are already problems). */
const char *mdas_settings_string(const struct mdas_settings *s, const char *key);
int64_t mdas_settings_int(const struct mdas_settings *s, const char *key);
double mdas_settings_number(const struct mdas_settings *s, const char *key);
int mdas_settings_bool(const struct mdas_settings *s, const char *key);
size_t mdas_settings_array_len(const struct mdas_settings *s, const char *key);
const char *mdas_settings_array_string(const struct mdas_settings *s, const char *key, size_t i);

/* Creates path from the example file even if the caller did not ask to
 * load it (mdas-config init).  Fails if path exists. */
int mdas_settings_init_file(const char *path, char *example_used, size_t n,
    struct mdas_error *err);

#endif
