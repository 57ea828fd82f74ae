/* gapsreport.c: the manifest's "gaps" member (gapsreport.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gapsreport.h"
#include "jsonget.h"
#include "ndjson.h"

#define GAP_LINE_MAX 4096

static struct json_object *
failed(const char *reason)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string("failed"));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	return o;
}

/* Member key of v as an int64 >= 0, or -1. */
static int64_t
nat(struct json_object *v, const char *key)
{
	struct json_object *x = mdas_json_get(v, key);
	int64_t n;

	if (x == NULL || !json_object_is_type(x, json_type_int))
		return -1;
	errno = 0;
	n = json_object_get_int64(x);
	return errno != 0 || n < 0 ? -1 : n;
}

static void
bump(struct json_object *o, const char *key, int64_t by)
{
	struct json_object *x = mdas_json_get(o, key);

	json_object_set_int64(x, json_object_get_int64(x) + by);
}

struct json_object *
mdas_gaps_member(const char *path, long asked_again)
{
	struct json_object *m, *by, *index, *v, *s, *spans, *sp;
	struct mdas_ndjson *r;
	struct mdas_error err;
	const char *src, *sym, *iv;
	char key[1200], why[1400];
	int64_t from, to, miss, more, more_missing, nseries = 0, ngaps = 0, nmissing = 0;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(why, sizeof(why), "%s: %s", path, strerror(errno));
		return failed(why);
	}
	if ((r = mdas_ndjson_open(fp, path, GAP_LINE_MAX)) == NULL) {
		fclose(fp);
		return NULL;
	}
	by = json_object_new_array();
	index = json_object_new_object();
	why[0] = '\0';
	while ((rc = mdas_ndjson_next(r, &v, &err)) != MDAS_NDJSON_EOF) {
		if (rc != MDAS_NDJSON_VALUE) {
			snprintf(why, sizeof(why), "%s", err.msg);
			break;
		}
		from = nat(v, "from_ts_ms");
		to = nat(v, "to_ts_ms");
		miss = nat(v, "missing");
		more = nat(v, "more_gaps");
		more_missing = nat(v, "more_missing");
		if (mdas_json_get_string(v, "source", &src) != MDAS_JSON_FOUND ||
		    mdas_json_get_string(v, "symbol", &sym) != MDAS_JSON_FOUND ||
		    mdas_json_get_string(v, "interval", &iv) != MDAS_JSON_FOUND ||
		    !((from >= 0 && to >= from && miss > 0) || (more > 0 && more_missing > 0))) {
			snprintf(why, sizeof(why), "%s:%lu: not a gap line", path,
			    mdas_ndjson_lineno(r));
			json_object_put(v);
			break;
		}
		snprintf(key, sizeof(key), "%s\037%s\037%s", src, sym, iv);
		if (!json_object_object_get_ex(index, key, &s)) {
			s = json_object_new_object();
			json_object_object_add(s, "source", json_object_new_string(src));
			json_object_object_add(s, "symbol", json_object_new_string(sym));
			json_object_object_add(s, "interval", json_object_new_string(iv));
			json_object_object_add(s, "gaps", json_object_new_int64(0));
			json_object_object_add(s, "missing", json_object_new_int64(0));
			json_object_object_add(s, "spans", json_object_new_array());
			json_object_object_add(s, "spans_omitted", json_object_new_int64(0));
			json_object_object_add(index, key, s);
			nseries++;
			if (nseries <= MDAS_GAPS_REPORT_SERIES)
				json_object_array_add(by, json_object_get(s));
		}
		if (from >= 0) {
			bump(s, "gaps", 1);
			bump(s, "missing", miss);
			ngaps++;
			nmissing += miss;
			spans = mdas_json_get(s, "spans");
			sp = json_object_new_object();
			json_object_object_add(sp, "from_ts_ms", json_object_new_int64(from));
			json_object_object_add(sp, "to_ts_ms", json_object_new_int64(to));
			json_object_object_add(sp, "missing", json_object_new_int64(miss));
			json_object_array_add(spans, sp);
			/* The newest stay: the store prints them in time order. */
			if (json_object_array_length(spans) > MDAS_GAPS_REPORT_SPANS) {
				json_object_array_del_idx(spans, 0, 1);
				bump(s, "spans_omitted", 1);
			}
		} else {
			bump(s, "gaps", more);
			bump(s, "missing", more_missing);
			bump(s, "spans_omitted", more);
			ngaps += more;
			nmissing += more_missing;
		}
		json_object_put(v);
	}
	mdas_ndjson_free(r);
	fclose(fp);
	json_object_put(index);
	if (why[0] != '\0') {
		json_object_put(by);
		return failed(why);
	}
	m = json_object_new_object();
	json_object_object_add(m, "status", json_object_new_string("checked"));
	json_object_object_add(m, "series", json_object_new_int64(nseries));
	json_object_object_add(m, "gaps", json_object_new_int64(ngaps));
	json_object_object_add(m, "missing", json_object_new_int64(nmissing));
	json_object_object_add(m, "asked_again",
	    asked_again >= 0 ? json_object_new_int64(asked_again) : NULL);
	json_object_object_add(m, "by_series", by);
	return m;
}
