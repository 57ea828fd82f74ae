/* fuzz-settings: the settings loader (src/lib/settings.c), as
 * mdas-config check and every program's start use it.  The input is a
 * settings file (held in a memfd, loaded by its /proc/self/fd path).
 * After a load, every key of config/settings_example.json is read back
 * with the typed getter of its example value's type: a key the loader
 * has accepted, or defaulted, must read as a value of that type. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "settings.h"

#ifndef MDAS_FUZZ_EXAMPLE
#error "MDAS_FUZZ_EXAMPLE: the path of config/settings_example.json"
#endif

#define MAX_KEYS 64
static char *keys[MAX_KEYS];
static enum json_type types[MAX_KEYS];
static size_t nkeys;

static void
collect(struct json_object *obj, const char *prefix)
{
	char path[256];

	json_object_object_foreach(obj, key, val) {
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
		if (json_object_is_type(val, json_type_object)) {
			collect(val, path);
			continue;
		}
		if (nkeys == MAX_KEYS || (keys[nkeys] = strdup(path)) == NULL)
			abort();
		types[nkeys++] = json_object_get_type(val);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct json_object *ex;

	fuzz_setup();
	if ((ex = json_object_from_file(MDAS_FUZZ_EXAMPLE)) == NULL) {
		fprintf(stderr, "mdas-fuzz: cannot read %s\n", MDAS_FUZZ_EXAMPLE);
		abort();
	}
	collect(ex, "");
	json_object_put(ex);
	return 0;
}

static void
read_back(const struct mdas_settings *s)
{
	const char *str;
	size_t i, j, n;

	for (i = 0; i < nkeys; i++) {
		(void)mdas_settings_get(s, keys[i]);
		switch (types[i]) {
		case json_type_string:
			str = mdas_settings_string(s, keys[i]);
			FUZZ_ASSERT(str != NULL && *str != '\0', "%s: no string", keys[i]);
			break;
		case json_type_int:
			(void)mdas_settings_int(s, keys[i]);
			break;
		case json_type_double:
			(void)mdas_settings_number(s, keys[i]);
			break;
		case json_type_boolean:
			(void)mdas_settings_bool(s, keys[i]);
			break;
		case json_type_array:
			n = mdas_settings_array_len(s, keys[i]);
			for (j = 0; j < n; j++) {
				str = mdas_settings_array_string(s, keys[i], j);
				FUZZ_ASSERT(str != NULL && *str != '\0', "%s[%zu]: no string",
				    keys[i], j);
			}
			FUZZ_ASSERT(mdas_settings_array_string(s, keys[i], n) == NULL,
			    "%s[%zu]: a string past the end", keys[i], n);
			break;
		default:
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdas_settings *s;
	struct mdas_error err;
	char path[64];
	size_t i;
	int fd;

	fuzz_dump(data, size);
	if ((fd = memfd_create("settings.json", 0)) < 0 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		perror("mdas-fuzz: memfd");
		abort();
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if ((s = mdas_settings_load(path, &err)) == NULL) {
		FUZZ_ASSERT(strncmp(err.msg, path, strlen(path)) == 0,
		    "message does not name the file: %s", err.msg);
	} else {
		FUZZ_ASSERT(strcmp(mdas_settings_path(s), path) == 0, "path changed");
		for (i = 0; i < mdas_settings_nproblems(s); i++)
			FUZZ_ASSERT(mdas_settings_problem(s, i)->msg[0] != '\0',
			    "problem %zu without a message", i);
		read_back(s);
		mdas_settings_free(s);
	}
	close(fd);
	return 0;
}
