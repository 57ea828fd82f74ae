/* Unit tests for the record writer: number formatting and escaping. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "jsonw.h"
#include "tap.h"

static void
number(double v, const char *want)
{
	char buf[MDAS_NUMBER_MAX];

	mdas_format_double(v, buf);
	tap_is_str(buf, want, "number %.17g -> %s", v, want);
	if (isfinite(v))
		tap_ok(strtod(buf, NULL) == v, "%s reads back as the same double", buf);
}

int
main(void)
{
	struct mdas_jsonw *w;
	struct json_object *obj;
	const char *s;

	tap_plan(30);
	number(0, "0");
	number(100, "100");
	number(0.1, "0.1");
	number(75.0875015258789, "75.0875015258789");
	number(60755.18, "60755.18");
	number(-1.5, "-1.5");
	number(0.00001234, "0.00001234");
	number(1e21, "1e+21");
	number(1.5e-8, "1.5e-8");
	number(123456789012.5, "123456789012.5");
	number(0.1 + 0.2, "0.30000000000000004");
	number(2.5e20, "250000000000000000000");
	number(NAN, "null");
	number(INFINITY, "null");

	w = mdas_jsonw_new();
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "type");
	mdas_jsonw_string(w, "bar");
	mdas_jsonw_key(w, "a");
	mdas_jsonw_begin_array(w);
	mdas_jsonw_int(w, 1);
	mdas_jsonw_null(w);
	mdas_jsonw_bool(w, 1);
	mdas_jsonw_begin_object(w);
	mdas_jsonw_end_object(w);
	mdas_jsonw_end_array(w);
	mdas_jsonw_key(w, "s");
	mdas_jsonw_string(w, "q\"\\\n\x01/é");
	mdas_jsonw_key(w, "n");
	mdas_jsonw_string(w, NULL);
	mdas_jsonw_end_object(w);
	s = mdas_jsonw_buffer(w, NULL);
	tap_is_str(s, "{\"type\":\"bar\",\"a\":[1,null,true,{}],\"s\":\"q\\\"\\\\\\n\\u0001/é\",\"n\":null}",
	    "nested object with commas and escapes");
	obj = json_tokener_parse(s);
	tap_ok(obj != NULL, "json-c parses the writer's output");
	json_object_put(obj);

	mdas_jsonw_reset(w);
	obj = json_tokener_parse("{\"p\":75.0875015258789,\"v\":[1,2.50]}");
	mdas_jsonw_json(w, obj);
	tap_is_str(mdas_jsonw_buffer(w, NULL), "{\"p\":75.0875015258789,\"v\":[1,2.50]}",
	    "json-c values keep the text of their numbers");
	json_object_put(obj);
	mdas_jsonw_reset(w);
	mdas_jsonw_begin_array(w);
	mdas_jsonw_int(w, 0);
	mdas_jsonw_int(w, -42);
	mdas_jsonw_int(w, INT64_MAX);
	mdas_jsonw_int(w, INT64_MIN);
	mdas_jsonw_end_array(w);
	tap_is_str(mdas_jsonw_buffer(w, NULL),
	    "[0,-42,9223372036854775807,-9223372036854775808]", "integers, extremes included");
	mdas_jsonw_free(w);
	mdas_jsonw_free(NULL);
	return tap_done();
}
