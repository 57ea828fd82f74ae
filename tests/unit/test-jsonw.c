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

/* Significant digits in a plain or exponent number text: from the first
 * non-zero digit to the last non-zero one. */
static int
sig_digits(const char *s)
{
	int n = 0, pending = 0, lead = 1;

	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (lead && *s == '0')
			continue;
		lead = 0;
		if (*s == '0')
			pending++;
		else {
			n += pending + 1;
			pending = 0;
		}
	}
	return n;
}

/* Over 100000 values of one family: every text reads back as the same
 * double, no text with one digit fewer would, and there is no exponent
 * between 1e-7 and 1e18 (and always one from 1e18 on).  Checked against printf and strtod, not against
 * the formatter's own logic. */
static void
shortest_property(int family)
{
	static const char *const names[] = {
		"prices with 0-8 decimals", "random bit patterns", "values near powers of ten",
	};
	char buf[MDAS_NUMBER_MAX], shorter[64];
	unsigned long long seed = 88172645463325252ULL + (unsigned)family;
	int i, bad = 0, n;
	double v = 0;

	for (i = 0; i < 100000 && bad < 5; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (family == 0)
			v = (double)(seed % 10000000000ULL) / pow(10, (double)((seed >> 60) % 9));
		else if (family == 1) {
			memcpy(&v, &seed, sizeof(v));
			if (!isfinite(v) || v == 0)
				continue;
		} else
			v = pow(10, (double)(int)(seed % 40) - 12) * (1 + ((double)(seed >> 40) - 8388608) * 1e-15);
		mdas_format_double(v, buf);
		n = sig_digits(buf);
		if (strtod(buf, NULL) != v) {
			printf("# %s does not read back as %.17g\n", buf, v);
			bad++;
		} else if (n > 1) {
			snprintf(shorter, sizeof(shorter), "%.*e", n - 2, v);
			if (strtod(shorter, NULL) == v) {
				printf("# %s is not shortest: %s\n", buf, shorter);
				bad++;
			}
		}
		if (fabs(v) >= 1e-7 && fabs(v) < 1e18 && strchr(buf, 'e') != NULL) {
			printf("# %s has an exponent\n", buf);
			bad++;
		}
		if (fabs(v) >= 1e18 && strchr(buf, 'e') == NULL) {
			printf("# %s has no exponent (json-c would read it clamped)\n", buf);
			bad++;
		}
	}
	tap_ok(bad == 0, "shortest round-trip text for %s", names[family]);
}

int
main(void)
{
	struct mdas_jsonw *w;
	struct json_object *obj;
	const char *s;

	tap_plan(39);
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
	number(2.5e20, "2.5e+20");
	number(999999999999999872.0, "999999999999999900");
	number(1e18, "1e+18");
	number(-9.99e19, "-9.99e+19");
	number(NAN, "null");
	number(INFINITY, "null");

	shortest_property(0);
	shortest_property(1);
	shortest_property(2);

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
