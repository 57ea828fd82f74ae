#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonget.h"
#include "marks.h"
#include "ndjson.h"

/* A mark line is short; a longer one is not a mark. */
#define MARK_LINE_MAX 4096
/* 9999-12-31T23:59:59.999Z */
#define TS_MAX INT64_C(253402300799999)

struct mdas_marks {
	struct mdas_mark *v;
	size_t n, cap;
	unsigned long lines, bad;
};

static int
get_int(struct json_object *v, const char *key, int64_t min, int64_t max, int64_t *out,
    char *why, size_t n)
{
	struct json_object *x;

	if (!json_object_object_get_ex(v, key, &x) || x == NULL) {
		snprintf(why, n, "no %s", key);
		return -1;
	}
	if (!json_object_is_type(x, json_type_int)) {
		snprintf(why, n, "%s is not an integer", key);
		return -1;
	}
	/* json-c saturates past int64: such a value is out of range too. */
	errno = 0;
	*out = json_object_get_int64(x);
	if (errno != 0 || *out < min || *out > max) {
		/* Not quoted: json-c prints a saturated value, not the text. */
		if (max == INT64_MAX)
			snprintf(why, n, "%s is out of range (expected %lld or more)", key,
			    (long long)min);
		else
			snprintf(why, n, "%s is out of range (expected %lld to %lld)", key,
			    (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

static int
get_text(struct json_object *v, const char *key, char *dst, size_t dn, char *why, size_t n)
{
	const char *s;

	switch (mdas_json_get_string(v, key, &s)) {
	case MDAS_JSON_FOUND:
		break;
	case MDAS_JSON_WRONG:
		snprintf(why, n, "%s is not a string", key);
		return -1;
	default:
		snprintf(why, n, "no %s", key);
		return -1;
	}
	if (strlen(s) >= dn) {
		snprintf(why, n, "%s is longer than %zu bytes", key, dn - 1);
		return -1;
	}
	strcpy(dst, s);
	return 0;
}

int
mdas_mark_check(struct json_object *v, struct mdas_mark *m, char *why, size_t n)
{
	char src[16];
	int s;

	memset(m, 0, sizeof(*m));
	if (!json_object_is_type(v, json_type_object)) {
		snprintf(why, n, "not a mark (expected a JSON object)");
		return -1;
	}
	if (get_text(v, "source", src, sizeof(src), why, n) < 0 ||
	    get_text(v, "symbol", m->symbol, sizeof(m->symbol), why, n) < 0 ||
	    get_text(v, "interval", m->interval, sizeof(m->interval), why, n) < 0 ||
	    get_int(v, "first_ts_ms", 0, TS_MAX, &m->first_ts_ms, why, n) < 0 ||
	    get_int(v, "last_ts_ms", 0, TS_MAX, &m->last_ts_ms, why, n) < 0 ||
	    get_int(v, "bars", 0, INT64_MAX, &m->bars, why, n) < 0)
		return -1;
	if (m->first_ts_ms > m->last_ts_ms) {
		snprintf(why, n, "first_ts_ms is after last_ts_ms");
		return -1;
	}
	s = mdas_source_parse(src);
	m->source = s < 0 ? MDAS_SOURCE_AUTO : (enum mdas_source)s;
	return 0;
}

static int
cmp_mark(const void *a, const void *b)
{
	const struct mdas_mark *x = a, *y = b;

	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	return strcmp(x->symbol, y->symbol);
}

struct mdas_marks *
mdas_marks_read(FILE *fp, const char *name, const char *interval,
    void (*bad)(void *ctx, const char *msg), void *ctx, struct mdas_error *err)
{
	struct mdas_marks *ms = calloc(1, sizeof(*ms));
	struct mdas_ndjson *r = NULL;
	struct json_object *v;
	struct mdas_mark m;
	struct mdas_error lerr;
	char why[256], msg[sizeof(why) + 300];
	size_t i, o;
	int rc;

	if (ms == NULL || (r = mdas_ndjson_open(fp, name, MARK_LINE_MAX)) == NULL) {
		mdas_error_errno(err, ENOMEM, "%s", name);
		goto fail;
	}
	while ((rc = mdas_ndjson_next(r, &v, &lerr)) != MDAS_NDJSON_EOF) {
		if (rc == MDAS_NDJSON_IOERR) {
			*err = lerr;
			goto fail;
		}
		ms->lines = mdas_ndjson_lineno(r);
		if (rc == MDAS_NDJSON_BAD) {
			ms->bad++;
			if (bad != NULL)
				bad(ctx, lerr.msg);
			continue;
		}
		rc = mdas_mark_check(v, &m, why, sizeof(why));
		json_object_put(v);
		if (rc < 0) {
			ms->bad++;
			snprintf(msg, sizeof(msg), "%s:%lu: %s", name, mdas_ndjson_lineno(r), why);
			if (bad != NULL)
				bad(ctx, msg);
			continue;
		}
		if (m.source == MDAS_SOURCE_AUTO || strcmp(m.interval, interval) != 0)
			continue;
		if (ms->n == ms->cap) {
			size_t ncap = ms->cap ? ms->cap * 2 : 64;
			struct mdas_mark *nv;

			if (ms->n >= MDAS_MARKS_MAX) {
				mdas_error_set(err, "%s: more than %d marks of interval %s", name,
				    MDAS_MARKS_MAX, interval);
				goto fail;
			}
			if ((nv = realloc(ms->v, ncap * sizeof(*nv))) == NULL) {
				mdas_error_errno(err, ENOMEM, "%s", name);
				goto fail;
			}
			ms->v = nv;
			ms->cap = ncap;
		}
		ms->v[ms->n++] = m;
	}
	mdas_ndjson_free(r);
	if (ms->n > 1)
		qsort(ms->v, ms->n, sizeof(*ms->v), cmp_mark);
	/* One mark per series: the earliest last_ts_ms. */
	for (i = o = 0; i < ms->n; i++) {
		if (o > 0 && cmp_mark(&ms->v[o - 1], &ms->v[i]) == 0) {
			if (ms->v[i].last_ts_ms < ms->v[o - 1].last_ts_ms)
				ms->v[o - 1] = ms->v[i];
			continue;
		}
		ms->v[o++] = ms->v[i];
	}
	ms->n = o;
	return ms;
fail:
	mdas_ndjson_free(r);
	mdas_marks_free(ms);
	return NULL;
}

void
mdas_marks_free(struct mdas_marks *ms)
{
	if (ms == NULL)
		return;
	free(ms->v);
	free(ms);
}

const struct mdas_mark *
mdas_marks_find(const struct mdas_marks *ms, enum mdas_source source, const char *symbol)
{
	struct mdas_mark key;

	if (ms == NULL || ms->n == 0 || strlen(symbol) >= sizeof(key.symbol))
		return NULL;
	key.source = source;
	strcpy(key.symbol, symbol);
	return bsearch(&key, ms->v, ms->n, sizeof(*ms->v), cmp_mark);
}

void
mdas_marks_counts(const struct mdas_marks *ms, unsigned long *lines, size_t *kept,
    unsigned long *bad)
{
	*lines = ms->lines;
	*kept = ms->n;
	*bad = ms->bad;
}
