/* jsonw.h: the record writer.  Builds compact JSON in a growing buffer
 * with keys in the order the caller writes them, then emits it as one
 * NDJSON line.
 *
 * Numbers are printed in the shortest form that reads back as the same
 * double (0.1 stays 0.1, 75.0875015258789 stays as Yahoo sent it), in
 * plain decimal notation for exponents from -7 to 17 (so a price is never
 * written as 1e+02) and with an exponent outside that range: from 1e18
 * (MDAS_VALUE_LIMIT) on, digits alone would read back as an integer, which
 * json-c, and so every mdas reader, clamps silently past 64 bits
 * (99900000000000000000 reads as 9223372036854775807).  NaN and
 * infinities are written as null.
 *
 * Commas and nesting are handled by the writer.  An allocation failure is
 * sticky: later calls do nothing and mdas_jsonw_write_line() returns -1.
 */
#ifndef MDAS_JSONW_H
#define MDAS_JSONW_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

struct mdas_jsonw;

/* Returns a new, empty writer, or NULL when out of memory. */
struct mdas_jsonw *mdas_jsonw_new(void);
/* Frees w; NULL is accepted. */
void mdas_jsonw_free(struct mdas_jsonw *w);
/* Empties the buffer (keeps the allocation) for the next record. */
void mdas_jsonw_reset(struct mdas_jsonw *w);

void mdas_jsonw_begin_object(struct mdas_jsonw *w);
void mdas_jsonw_end_object(struct mdas_jsonw *w);
void mdas_jsonw_begin_array(struct mdas_jsonw *w);
void mdas_jsonw_end_array(struct mdas_jsonw *w);
void mdas_jsonw_key(struct mdas_jsonw *w, const char *key);
/* A NULL string is written as null. */
void mdas_jsonw_string(struct mdas_jsonw *w, const char *s);
void mdas_jsonw_string_n(struct mdas_jsonw *w, const char *s, size_t len);
void mdas_jsonw_number(struct mdas_jsonw *w, double v);
void mdas_jsonw_int(struct mdas_jsonw *w, int64_t v);
void mdas_jsonw_bool(struct mdas_jsonw *w, int v);
void mdas_jsonw_null(struct mdas_jsonw *w);
/* Writes text that is already one valid JSON value, verbatim. */
void mdas_jsonw_raw(struct mdas_jsonw *w, const char *json, size_t len);
/* Writes a json-c value compactly (doubles keep the text they were parsed
 * from).  NULL is written as null. */
void mdas_jsonw_json(struct mdas_jsonw *w, struct json_object *obj);

/* The buffer so far (NUL-terminated); *len gets its length if not NULL. */
const char *mdas_jsonw_buffer(const struct mdas_jsonw *w, size_t *len);

/* Writes the buffer and a '\n' to fp, then resets w.  Returns 0, or -1 on
 * a write error (errno set) or an earlier allocation failure (ENOMEM). */
int mdas_jsonw_write_line(struct mdas_jsonw *w, FILE *fp);

#define MDAS_NUMBER_MAX 40
/* Formats v as described above into buf (at least MDAS_NUMBER_MAX bytes).
 * Returns the length; non-finite values give "null". */
int mdas_format_double(double v, char *buf);

#endif
