/* scenario.c: loading and matching replay scenarios. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "generate.h"
#include "scenario.h"

/* Fixtures are small recorded bodies; a cap keeps a wrong path (say, a
 * device or a huge log) from eating memory. */
#define BODY_MAX (64L * 1024 * 1024)
#define SCENARIO_MAX (16L * 1024 * 1024)
/* Hostile headers: enough to pass any client's limit, not enough to
 * hurt the server. */
#define HEADER_PAD_MAX (16L * 1024 * 1024)

static char *
read_all(const char *path, long cap, size_t *len, struct mdas_error *err)
{
	FILE *fp;
	char *buf = NULL, *nbuf;
	size_t n = 0, size = 0, got;

	if ((fp = fopen(path, "rb")) == NULL) {
		mdas_error_errno(err, errno, "%s", path);
		return NULL;
	}
	for (;;) {
		if (size - n < 4096) {
			size = size ? size * 2 : 8192;
			if ((nbuf = realloc(buf, size + 1)) == NULL) {
				mdas_error_errno(err, ENOMEM, "%s", path);
				goto fail;
			}
			buf = nbuf;
		}
		got = fread(buf + n, 1, size - n, fp);
		n += got;
		if ((long)n > cap) {
			mdas_error_set(err, "%s: larger than %ld bytes", path, cap);
			goto fail;
		}
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		mdas_error_errno(err, errno, "%s", path);
		goto fail;
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(fp);
	free(buf);
	return NULL;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
replay_percent_decode(const char *src, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	size_t i;
	int hi, lo;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (src[i] == '%' && i + 2 < len &&
		    (hi = hexval((unsigned char)src[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)src[i + 2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else
			*o++ = src[i];
	}
	*o = '\0';
	return out;
}

/* Walks an object's keys against the allowed list, so a typo such as
 * "delay" for "delay_ms" is an error instead of a silently ignored key. */
static int
check_keys(struct json_object *obj, const char *const *allowed, const char *where,
    struct mdas_error *err)
{
	size_t i;
	int found;

	json_object_object_foreach(obj, key, val) {
		(void)val;
		found = 0;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				found = 1;
		if (!found)
			return mdas_error_set(err, "%s: unknown key '%s'", where, key);
	}
	return 0;
}

static int
get_string(struct json_object *obj, const char *key, const char *where,
    const char **out, struct mdas_error *err)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return mdas_error_set(err, "%s: %s: expected a string", where, key);
	*out = json_object_get_string(v);
	return 0;
}

static int
get_long(struct json_object *obj, const char *key, const char *where, long min,
    long max, long *out, struct mdas_error *err)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return mdas_error_set(err, "%s: %s: expected an integer", where, key);
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return mdas_error_set(err, "%s: %s: %lld is out of range [%ld, %ld]",
		    where, key, (long long)n, min, max);
	*out = (long)n;
	return 0;
}

static int
get_bool(struct json_object *obj, const char *key, const char *where, int *out,
    struct mdas_error *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return mdas_error_set(err, "%s: %s: expected true or false", where, key);
	*out = json_object_get_boolean(v);
	return 0;
}

static void
response_free(struct replay_response *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
}

static int
parse_response(struct json_object *obj, const char *where, const char *fixtures_dir,
    struct replay_response *r, struct mdas_error *err)
{
	static const char *const keys[] = { "status", "headers", "body_file", "body",
		"delay_ms", "truncate", "reset", "close", "header_bytes", "header_count",
		"chunked", "bad_chunked", "generate", "hole_from_ms", "hole_to_ms", NULL };
	struct json_object *hdrs;
	const char *body = NULL, *body_file = NULL, *gen = NULL;
	char path[PATH_MAX];
	long status = 200;
	size_t i, n;

	memset(r, 0, sizeof(*r));
	r->delay_ms = -1;
	r->truncate = -1;
	r->hole_from_ms = r->hole_to_ms = -1;
	if (!json_object_is_type(obj, json_type_object))
		return mdas_error_set(err, "%s: expected an object", where);
	if (check_keys(obj, keys, where, err) < 0 ||
	    get_long(obj, "status", where, 100, 999, &status, err) < 0 ||
	    get_long(obj, "delay_ms", where, 0, 3600000, &r->delay_ms, err) < 0 ||
	    get_long(obj, "truncate", where, 0, LONG_MAX, &r->truncate, err) < 0 ||
	    get_bool(obj, "reset", where, &r->reset, err) < 0 ||
	    get_bool(obj, "close", where, &r->close, err) < 0 ||
	    get_long(obj, "header_bytes", where, 0, HEADER_PAD_MAX, &r->header_bytes, err) < 0 ||
	    get_long(obj, "header_count", where, 0, HEADER_PAD_MAX, &r->header_count, err) < 0 ||
	    get_bool(obj, "chunked", where, &r->chunked, err) < 0 ||
	    get_bool(obj, "bad_chunked", where, &r->bad_chunked, err) < 0 ||
	    get_string(obj, "body", where, &body, err) < 0 ||
	    get_string(obj, "body_file", where, &body_file, err) < 0 ||
	    get_string(obj, "generate", where, &gen, err) < 0 ||
	    get_long(obj, "hole_from_ms", where, 0, LONG_MAX, &r->hole_from_ms, err) < 0 ||
	    get_long(obj, "hole_to_ms", where, 0, LONG_MAX, &r->hole_to_ms, err) < 0)
		return -1;
	if ((r->hole_from_ms >= 0) != (r->hole_to_ms >= 0) || r->hole_to_ms < r->hole_from_ms)
		return mdas_error_set(err, "%s: hole_from_ms and hole_to_ms go together, "
		    "from not after to", where);
	if (r->hole_from_ms >= 0 && (gen == NULL || strcmp(gen, "klines") != 0))
		return mdas_error_set(err, "%s: a hole needs \"generate\": \"klines\"", where);
	if (gen != NULL && (r->generate = (int)replay_gen_parse(gen)) == GEN_NONE)
		return mdas_error_set(err, "%s: generate: expected \"klines\" or \"chart\", "
		    "not '%s'", where, gen);
	if (gen != NULL && (body != NULL || body_file != NULL || r->truncate >= 0))
		return mdas_error_set(err, "%s: generate excludes body, body_file and truncate",
		    where);
	r->status = (int)status;
	if (r->bad_chunked)
		r->chunked = 1;
	if (r->chunked && r->truncate >= 0)
		return mdas_error_set(err, "%s: chunked and truncate exclude each other", where);
	if (body != NULL && body_file != NULL)
		return mdas_error_set(err, "%s: both body and body_file given", where);

	if (json_object_object_get_ex(obj, "headers", &hdrs) && hdrs != NULL) {
		if (!json_object_is_type(hdrs, json_type_object))
			return mdas_error_set(err, "%s: headers: expected an object", where);
		n = (size_t)json_object_object_length(hdrs);
		if (n > 0 && (r->headers = calloc(n, sizeof(*r->headers))) == NULL)
			return mdas_error_errno(err, ENOMEM, "%s", where);
		i = 0;
		json_object_object_foreach(hdrs, name, val) {
			if (!json_object_is_type(val, json_type_string))
				return mdas_error_set(err, "%s: headers: %s: expected a string",
				    where, name);
			/* A CR or LF would let a scenario split the response by
			 * accident; faults have their own keys. */
			if (strpbrk(name, "\r\n: ") != NULL ||
			    strpbrk(json_object_get_string(val), "\r\n") != NULL)
				return mdas_error_set(err, "%s: headers: %s: invalid name or value",
				    where, name);
			r->headers[i].name = strdup(name);
			r->headers[i].value = strdup(json_object_get_string(val));
			r->nheaders = ++i;
			if (r->headers[i - 1].name == NULL || r->headers[i - 1].value == NULL)
				return mdas_error_errno(err, ENOMEM, "%s", where);
			if (strcasecmp(name, "Content-Length") == 0)
				r->has_content_length = 1;
			if (strcasecmp(name, "Content-Type") == 0)
				r->has_content_type = 1;
		}
	}

	if (body_file != NULL) {
		if (body_file[0] == '/' || fixtures_dir == NULL)
			snprintf(path, sizeof(path), "%s", body_file);
		else
			snprintf(path, sizeof(path), "%s/%s", fixtures_dir, body_file);
		if ((r->body = read_all(path, BODY_MAX, &r->body_len, err)) == NULL)
			return mdas_error_prefix(err, "%s: body_file", where);
	} else {
		r->body_len = body != NULL ? strlen(body) : 0;
		if ((r->body = strdup(body != NULL ? body : "")) == NULL)
			return mdas_error_errno(err, ENOMEM, "%s", where);
	}
	if (r->truncate >= 0 && (size_t)r->truncate >= r->body_len && r->body_len > 0)
		return mdas_error_set(err, "%s: truncate %ld is not shorter than the "
		    "body (%zu bytes)", where, r->truncate, r->body_len);
	return 0;
}

static int
parse_query(struct json_object *q, const char *where, struct replay_route *rt,
    struct mdas_error *err)
{
	size_t i = 0, n;

	if (!json_object_is_type(q, json_type_object))
		return mdas_error_set(err, "%s: query: expected an object", where);
	n = (size_t)json_object_object_length(q);
	if (n == 0)
		return 0;
	if ((rt->params = calloc(n, sizeof(*rt->params))) == NULL)
		return mdas_error_errno(err, ENOMEM, "%s", where);
	json_object_object_foreach(q, name, val) {
		if (!json_object_is_type(val, json_type_string))
			return mdas_error_set(err, "%s: query: %s: expected a string",
			    where, name);
		rt->params[i].name = strdup(name);
		rt->params[i].value = strdup(json_object_get_string(val));
		rt->nparams = ++i;
		if (rt->params[i - 1].name == NULL || rt->params[i - 1].value == NULL)
			return mdas_error_errno(err, ENOMEM, "%s", where);
	}
	return 0;
}

static int
parse_route(struct json_object *obj, const char *where, const char *fixtures_dir,
    struct replay_route *rt, struct mdas_error *err)
{
	static const char *const keys[] = { "method", "path", "query", "responses", NULL };
	struct json_object *q, *resps;
	const char *method = NULL, *path = NULL;
	char rwhere[256];
	size_t i, n, len;

	if (!json_object_is_type(obj, json_type_object))
		return mdas_error_set(err, "%s: expected an object", where);
	if (check_keys(obj, keys, where, err) < 0 ||
	    get_string(obj, "method", where, &method, err) < 0 ||
	    get_string(obj, "path", where, &path, err) < 0)
		return -1;
	if (path == NULL || path[0] == '\0')
		return mdas_error_set(err, "%s: path is required", where);
	if ((rt->method = strdup(method != NULL ? method : "GET")) == NULL ||
	    (rt->path = strdup(path)) == NULL)
		return mdas_error_errno(err, ENOMEM, "%s", where);
	len = strlen(rt->path);
	if (rt->path[len - 1] == '*') {
		rt->prefix = 1;
		rt->path[len - 1] = '\0';
	}
	if (json_object_object_get_ex(obj, "query", &q) && q != NULL &&
	    parse_query(q, where, rt, err) < 0)
		return -1;
	if (!json_object_object_get_ex(obj, "responses", &resps) ||
	    !json_object_is_type(resps, json_type_array) ||
	    (n = json_object_array_length(resps)) == 0)
		return mdas_error_set(err, "%s: responses: expected a non-empty array", where);
	if ((rt->responses = calloc(n, sizeof(*rt->responses))) == NULL)
		return mdas_error_errno(err, ENOMEM, "%s", where);
	for (i = 0; i < n; i++) {
		snprintf(rwhere, sizeof(rwhere), "%s.responses[%zu]", where, i);
		rt->nresponses = i + 1;
		if (parse_response(json_object_array_get_idx(resps, i), rwhere,
		    fixtures_dir, &rt->responses[i], err) < 0)
			return -1;
	}
	return 0;
}

static int
parse_scenario(struct json_object *root, const char *fixtures_dir,
    struct replay_scenario *s, struct mdas_error *err)
{
	static const char *const keys[] = { "routes", "default", NULL };
	struct json_object *routes, *def;
	char where[64];
	size_t i, n;

	if (!json_object_is_type(root, json_type_object))
		return mdas_error_set(err, "expected a JSON object");
	if (check_keys(root, keys, "top level", err) < 0)
		return -1;
	if (json_object_object_get_ex(root, "routes", &routes) && routes != NULL) {
		if (!json_object_is_type(routes, json_type_array))
			return mdas_error_set(err, "routes: expected an array");
		n = json_object_array_length(routes);
		if (n > 0 && (s->routes = calloc(n, sizeof(*s->routes))) == NULL)
			return mdas_error_errno(err, ENOMEM, "routes");
		for (i = 0; i < n; i++) {
			snprintf(where, sizeof(where), "routes[%zu]", i);
			s->nroutes = i + 1;
			if (parse_route(json_object_array_get_idx(routes, i), where,
			    fixtures_dir, &s->routes[i], err) < 0)
				return -1;
		}
	}
	if (json_object_object_get_ex(root, "default", &def) && def != NULL) {
		if (parse_response(def, "default", fixtures_dir, &s->fallback, err) < 0)
			return -1;
	} else {
		memset(&s->fallback, 0, sizeof(s->fallback));
		s->fallback.status = 404;
		s->fallback.delay_ms = -1;
		s->fallback.truncate = -1;
		if ((s->fallback.body = strdup("no route")) == NULL)
			return mdas_error_errno(err, ENOMEM, "default");
		s->fallback.body_len = strlen(s->fallback.body);
	}
	return 0;
}

struct replay_scenario *
replay_scenario_load(const char *path, const char *fixtures_dir,
    struct mdas_error *err)
{
	struct replay_scenario *s;
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	size_t len;
	char *text;

	if ((text = read_all(path, SCENARIO_MAX, &len, err)) == NULL)
		return NULL;
	if ((tok = json_tokener_new()) == NULL) {
		free(text);
		mdas_error_errno(err, ENOMEM, "%s", path);
		return NULL;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	if (root == NULL || jerr != json_tokener_success) {
		mdas_error_set(err, "%s: invalid JSON near byte %zu: %s", path,
		    json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
		json_object_put(root);
		json_tokener_free(tok);
		free(text);
		return NULL;
	}
	json_tokener_free(tok);
	free(text);

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		json_object_put(root);
		mdas_error_errno(err, ENOMEM, "%s", path);
		return NULL;
	}
	if (parse_scenario(root, fixtures_dir, s, err) < 0) {
		mdas_error_prefix(err, "%s", path);
		replay_scenario_free(s);
		s = NULL;
	}
	json_object_put(root);
	return s;
}

void
replay_scenario_free(struct replay_scenario *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->nroutes; i++) {
		struct replay_route *rt = &s->routes[i];

		free(rt->method);
		free(rt->path);
		for (j = 0; j < rt->nparams; j++) {
			free(rt->params[j].name);
			free(rt->params[j].value);
		}
		free(rt->params);
		for (j = 0; j < rt->nresponses; j++)
			response_free(&rt->responses[j]);
		free(rt->responses);
	}
	free(s->routes);
	response_free(&s->fallback);
	free(s);
}

/* Does the raw query string carry name=value (after decoding both)?  Any
 * occurrence counts, so a repeated parameter still matches. */
static int
query_has(const char *query, const struct replay_param *p)
{
	const char *q = query, *amp, *eq;
	size_t plen;
	char *name, *value;
	int match;

	while (q != NULL && *q != '\0') {
		amp = strchr(q, '&');
		plen = amp != NULL ? (size_t)(amp - q) : strlen(q);
		eq = memchr(q, '=', plen);
		name = replay_percent_decode(q, eq != NULL ? (size_t)(eq - q) : plen);
		value = eq != NULL ? replay_percent_decode(eq + 1, plen - (size_t)(eq + 1 - q))
		    : strdup("");
		match = name != NULL && value != NULL && strcmp(name, p->name) == 0 &&
		    strcmp(value, p->value) == 0;
		free(name);
		free(value);
		if (match)
			return 1;
		q = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

long
replay_scenario_match(const struct replay_scenario *s, const char *method,
    const char *path, const char *query)
{
	size_t i, j;

	for (i = 0; i < s->nroutes; i++) {
		const struct replay_route *rt = &s->routes[i];

		/* HEAD is GET without the body (RFC 9110 9.3.2), so GET routes
		 * answer it too. */
		if (strcmp(rt->method, "*") != 0 && strcmp(rt->method, method) != 0 &&
		    !(strcmp(rt->method, "GET") == 0 && strcmp(method, "HEAD") == 0))
			continue;
		if (rt->prefix ? strncmp(path, rt->path, strlen(rt->path)) != 0
		    : strcmp(path, rt->path) != 0)
			continue;
		for (j = 0; j < rt->nparams; j++)
			if (!query_has(query, &rt->params[j]))
				break;
		if (j == rt->nparams)
			return (long)i;
	}
	return -1;
}
