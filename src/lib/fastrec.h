/* fastrec.h: the exporters' reader's fast path (export.c only).
 *
 * Most lines a reader sees are records mdas-normalize wrote: one flat
 * object whose values are strings, numbers, booleans, nulls and arrays of
 * strings.  mdas_fastrec_parse() reads such a line in one pass into a
 * record's slots (export.h) without building a JSON tree.  It takes only
 * what json-c would read the same way (RFC 8259 text; integers of up to
 * 18 digits; strings whose escapes are the one-letter ones or \uXXXX
 * outside the surrogates and U+0000) and leaves every other line to
 * json-c, unchanged, so the reader's verdict and messages never depend
 * on which way a line went.  A key given twice keeps its last value, as
 * json-c's objects do.  It checks nothing of the schema (export.c does,
 * on the slots).
 */
#ifndef MDAS_FASTREC_H
#define MDAS_FASTREC_H

#include <stddef.h>

#include "export.h"

struct mdas_fastrec;

/* A parser's reusable state; NULL when out of memory. */
struct mdas_fastrec *mdas_fastrec_new(void);
void mdas_fastrec_free(struct mdas_fastrec *f);

/* Parses line[0..len) (with a NUL at line[len]).  Returns 1 with rec's
 * slots filled (kind and line untouched; *type_present set when the
 * object has a "type" key, null included) and line changed in place (the
 * values' terminators and unescaped strings point into it); 0 when the
 * line must go to json-c (line then untouched, rec's slots undefined);
 * -1 when out of memory (line untouched). */
int mdas_fastrec_parse(struct mdas_fastrec *f, char *line, size_t len,
    struct mdas_export_rec *rec, int *type_present);

/* The slot names, MDAS_EXPORT_NSLOTS of them. */
const char *mdas_fastrec_slot_name(int slot);

#endif
