/* schema.h: the unified record schema (schema_version 1), in one place.
 *
 * mdas-normalize writes records with exactly these keys in this order;
 * the exporters take their columns from the same tables.  See mdas(7)
 * for units and nullability of each field.
 */
#ifndef MDAS_SCHEMA_H
#define MDAS_SCHEMA_H

#include <stddef.h>

#define MDAS_SCHEMA_VERSION 1

enum mdas_field_type {
	MDAS_FIELD_STRING,        /* JSON string or null */
	MDAS_FIELD_NUMBER,        /* JSON number or null */
	MDAS_FIELD_INT,           /* JSON integer or null (ts_ms, trades, ...) */
	MDAS_FIELD_TIME,          /* ISO 8601 UTC string with milliseconds */
	MDAS_FIELD_DATE,          /* YYYY-MM-DD string */
	MDAS_FIELD_STRING_ARRAY,  /* JSON array of strings (imputed) */
};

struct mdas_field {
	const char *name;
	enum mdas_field_type type;
};

/* Quote and bar records ("type": "quote" | "bar"): every key, in order. */
extern const struct mdas_field mdas_record_fields[];
extern const size_t mdas_record_nfields;

/* Dividend and split records ("type": "dividend" | "split"). */
extern const struct mdas_field mdas_event_fields[];
extern const size_t mdas_event_nfields;

/* The columns of a flat export (CSV): the record fields, then the event
 * fields a quote or bar does not have (amount, numerator, denominator). */
extern const struct mdas_field mdas_export_fields[];
extern const size_t mdas_export_nfields;

/* Index of name in the given table, or -1. */
int mdas_field_index(const struct mdas_field *fields, size_t n, const char *name);

#endif
