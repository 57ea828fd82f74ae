/* jsonget.h: type-checked reads of parsed JSON input.
 *
 * json-c's array functions assert (abort the process) when given a value
 * that is not an array, and iterating an object that is not one crashes.
 * Input from upstream or stdin may have any shape, so every read of it
 * goes through these: each checks the type and answers NULL, 0 or
 * MDAS_JSON_WRONG for a value of another shape, never touching it.  They
 * accept NULL wherever they take a value.  Nothing is allocated; results
 * point into the value, which the caller owns.
 */
#ifndef MDAS_JSONGET_H
#define MDAS_JSONGET_H

#include <stddef.h>

#include <json-c/json.h>

/* True when v is an object / an array (false for NULL). */
int mdas_json_is_object(struct json_object *v);
int mdas_json_is_array(struct json_object *v);
/* True when v is NULL (absent) or JSON null. */
int mdas_json_is_null(struct json_object *v);

/* Member key of object o; NULL when o is not an object or has no key. */
struct json_object *mdas_json_get(struct json_object *o, const char *key);

/* Element i of array a; NULL when a is not an array or i is past its end. */
struct json_object *mdas_json_at(struct json_object *a, size_t i);
/* Length of array a; 0 when a is not an array. */
size_t mdas_json_len(struct json_object *a);

enum {
	MDAS_JSON_ABSENT = 0,   /* no such member, null, or "" */
	MDAS_JSON_FOUND = 1,    /* a non-empty string */
	MDAS_JSON_WRONG = -1,   /* present with another type */
};

/* Reads member key of o as a non-empty string into *out (NULL unless
 * MDAS_JSON_FOUND).  Returns MDAS_JSON_FOUND, _ABSENT or _WRONG. */
int mdas_json_get_string(struct json_object *o, const char *key, const char **out);

/* The string member key of o, the empty string too; NULL when o is not
 * an object, has no key, or it holds another type. */
const char *mdas_json_any_str(struct json_object *o, const char *key);

/* The non-empty string member key of o, or NULL (absent or wrong type). */
const char *mdas_json_str(struct json_object *o, const char *key);

/* True when v is a JSON number that parsed to 0 although its text has a
 * non-zero digit (1e-400): its value is lost, so it is out of range. */
int mdas_json_underflowed(struct json_object *v);

#endif
