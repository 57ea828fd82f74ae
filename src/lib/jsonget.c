#include "config.h"

#include "jsonget.h"

int
mdas_json_is_object(struct json_object *v)
{
	return v != NULL && json_object_is_type(v, json_type_object);
}

int
mdas_json_is_array(struct json_object *v)
{
	return v != NULL && json_object_is_type(v, json_type_array);
}

int
mdas_json_is_null(struct json_object *v)
{
	return v == NULL || json_object_is_type(v, json_type_null);
}

struct json_object *
mdas_json_get(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!mdas_json_is_object(o))
		return NULL;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

struct json_object *
mdas_json_at(struct json_object *a, size_t i)
{
	if (!mdas_json_is_array(a) || i >= json_object_array_length(a))
		return NULL;
	return json_object_array_get_idx(a, i);
}

size_t
mdas_json_len(struct json_object *a)
{
	return mdas_json_is_array(a) ? json_object_array_length(a) : 0;
}

int
mdas_json_get_string(struct json_object *o, const char *key, const char **out)
{
	struct json_object *v = mdas_json_get(o, key);

	*out = NULL;
	if (mdas_json_is_null(v))
		return MDAS_JSON_ABSENT;
	if (!json_object_is_type(v, json_type_string))
		return MDAS_JSON_WRONG;
	if (json_object_get_string_len(v) == 0)
		return MDAS_JSON_ABSENT;
	*out = json_object_get_string(v);
	return MDAS_JSON_FOUND;
}

const char *
mdas_json_any_str(struct json_object *o, const char *key)
{
	struct json_object *v = mdas_json_get(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

const char *
mdas_json_str(struct json_object *o, const char *key)
{
	const char *s;

	return mdas_json_get_string(o, key, &s) == MDAS_JSON_FOUND ? s : NULL;
}

int
mdas_json_underflowed(struct json_object *v)
{
	const char *s;

	if (v == NULL || !json_object_is_type(v, json_type_double) ||
	    json_object_get_double(v) != 0)
		return 0;
	/* The tokener keeps the text it parsed as the double's userdata. */
	if ((s = json_object_get_userdata(v)) == NULL)
		return 0;
	for (; *s != '\0' && *s != 'e' && *s != 'E'; s++)
		if (*s >= '1' && *s <= '9')
			return 1;
	return 0;
}
