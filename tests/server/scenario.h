/* scenario.h: the replay server's script: which canned response answers
 * which request.  Loaded once from a JSON file (format in README.md);
 * bodies named by body_file are read at load time so a missing fixture
 * fails at startup, not in the middle of someone's test.
 */
#ifndef MDAS_REPLAY_SCENARIO_H
#define MDAS_REPLAY_SCENARIO_H

#include <stddef.h>

#include "error.h"

struct replay_header {
	char *name;
	char *value;
};

struct replay_response {
	int status;
	struct replay_header *headers;
	size_t nheaders;
	char *body;                  /* may hold NUL bytes; never NULL */
	size_t body_len;
	long delay_ms;               /* -1: not given (the server's default applies) */
	long truncate;               /* -1: send the whole body */
	int reset;                   /* close with RST instead of answering */
	int close;                   /* Connection: close after this response */
	long header_bytes;           /* >0: one X-Padding header of this many bytes */
	long header_count;           /* >0: this many extra X-Pad-N headers */
	int chunked;                 /* Transfer-Encoding: chunked */
	int bad_chunked;             /* chunked, then a chunk size that is not hex */
	int generate;                /* enum replay_gen (generate.h): body made per request */
	long hole_from_ms, hole_to_ms; /* generate klines: no bars opening in [from, to]; -1: none */
	int has_content_length;      /* the scenario names Content-Length itself */
	int has_content_type;
};

struct replay_param {
	char *name;                  /* already decoded */
	char *value;
};

struct replay_route {
	char *method;                /* "*" matches any method */
	char *path;
	int prefix;                  /* path ended in '*' (stripped) */
	struct replay_param *params;
	size_t nparams;
	struct replay_response *responses;
	size_t nresponses;
	size_t played;               /* how many requests this route answered */
};

struct replay_scenario {
	struct replay_route *routes;
	size_t nroutes;
	struct replay_response fallback;   /* "default", else 404 "no route" */
};

/* Loads path; relative body_file names are taken from fixtures_dir (NULL:
 * the current directory).  Returns NULL with err set to "path: where:
 * what" on any error, including unknown keys (they are nearly always
 * typos that would otherwise make a test pass for the wrong reason). */
struct replay_scenario *replay_scenario_load(const char *path,
    const char *fixtures_dir, struct mdas_error *err);
/* Frees s; NULL is accepted. */
void replay_scenario_free(struct replay_scenario *s);

/* Finds the first route matching method, path and the raw query string
 * (NULL or "" when there is none).  Returns its index, or -1. */
long replay_scenario_match(const struct replay_scenario *s, const char *method,
    const char *path, const char *query);

/* Decodes %XX escapes of src[0..len) into a new NUL-terminated string
 * ("+" stays "+"; a malformed escape is kept literally).  NULL when out
 * of memory. */
char *replay_percent_decode(const char *src, size_t len);

#endif
