/* Unit tests for settings: defaults equal the example file, types, env. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "settings.h"
#include "tap.h"

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
}

int
main(void)
{
	char dir[] = "/tmp/mdas-settings-XXXXXX", path[512], example[512];
	const char *srcdir = getenv("top_srcdir");
	struct mdas_settings *s;
	struct mdas_error err;

	tap_plan(13);
	if (mkdtemp(dir) == NULL || srcdir == NULL)
		return 1;
	snprintf(example, sizeof(example), "%s/config/settings_example.json", srcdir);

	/* The example file must validate cleanly. */
	s = mdas_settings_load(example, &err);
	tap_ok(s != NULL && mdas_settings_nproblems(s) == 0, "example file has no problems");
	mdas_settings_free(s);

	/* An empty object gets the built-in defaults. */
	snprintf(path, sizeof(path), "%s/empty.json", dir);
	write_file(path, "{}");
	s = mdas_settings_load(path, &err);
	tap_is_str(mdas_settings_string(s, "export.prefix"), "market_data", "default prefix");
	tap_is_int(mdas_settings_int(s, "scheduler.interval_seconds"), 30, "default interval");
	tap_is_int(mdas_settings_array_len(s, "data_sources.symbols"), 4, "default symbols");
	tap_ok(mdas_settings_get(s, "export.fallback_dir") == NULL, "fallback_dir unset");
	mdas_settings_free(s);

	write_file(path, "{\"scheduler\":{\"interval_seconds\":\"30\"},\"extra\":1,\"http\":{\"retries\":-1}}");
	s = mdas_settings_load(path, &err);
	tap_ok(mdas_settings_has_errors(s), "wrong types are errors");
	tap_is_int(mdas_settings_nproblems(s), 3, "three problems");
	tap_is_str(mdas_settings_problem(s, 0)->msg,
	    "scheduler.interval_seconds: expected a positive integer", "key path in message");
	tap_is_str(mdas_settings_problem(s, 1)->msg, "extra: unknown key (ignored)", "unknown key warns");
	tap_is_int(mdas_settings_problem(s, 1)->is_error, 0, "unknown key is a warning");
	mdas_settings_free(s);

	setenv("MDAS_BINANCE_BASE_URL", "http://127.0.0.1:9", 1);
	write_file(path, "{}");
	s = mdas_settings_load(path, &err);
	tap_is_str(mdas_settings_string(s, "data_sources.binance.base_url"),
	    "http://127.0.0.1:9", "environment overrides the base URL");
	mdas_settings_free(s);
	unsetenv("MDAS_BINANCE_BASE_URL");

	write_file(path, "{\n  \"a\": 1,\n  \"b\" 2\n}\n");
	s = mdas_settings_load(path, &err);
	tap_ok(s == NULL, "broken JSON is rejected");
	snprintf(example, sizeof(example), "%s:3: invalid JSON: ", path);
	tap_ok(strncmp(err.msg, example, strlen(example)) == 0, "message has file:line: %s", err.msg);
	return tap_done();
}
