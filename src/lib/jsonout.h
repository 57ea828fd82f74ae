/* jsonout.h: the mdas-export-json document, written as a stream.
 *
 *   {"run_id":"...","generated_at":"...","schema_version":1,
 *    "record_count":N,"records":[
 *   {...},
 *   {...}
 *   ],"errors":[
 *   {...}
 *   ]}
 *
 * (the first two lines are one line in the file).  Records are written
 * with the keys of mdas_record_fields / mdas_event_fields in schema order
 * (missing keys as null, unknown keys dropped), so the document holds the
 * same data as the CSV and xlsx exports.  record_count counts the
 * records (quotes, bars, dividends, splits), not the errors.  Error
 * records go into the errors array unchanged, in input order.
 *
 * Memory stays flat: records are written as they come; errors are
 * collected in an unlinked scratch file and copied at the end.  The
 * count, known only at the end, goes into a blank placeholder that is
 * filled in by seeking back ("record_count":9                   ,) when
 * the output can seek; otherwise (standard output) the records are
 * spooled to a second scratch file and the document is written at the
 * end.  In NDJSON mode the records are written one per line, then the
 * error records, one per line; there is no envelope.
 */
#ifndef MDAS_JSONOUT_H
#define MDAS_JSONOUT_H

#include <stdio.h>

#include <json-c/json.h>

#include "error.h"
#include "export.h"
#include "jsonw.h"

struct mdas_jsondoc;

/* Starts a document on fp (not closed by it).  seekable: fp is a regular
 * file this process writes from its start (an atomic temporary).
 * Returns NULL with err on failure. */
struct mdas_jsondoc *mdas_jsondoc_begin(FILE *fp, int seekable, int ndjson,
    const char *run_id, struct mdas_error *err);
/* Adds a record of kind k (RECORD, EVENT or ERROR). */
int mdas_jsondoc_add(struct mdas_jsondoc *d, const struct mdas_export_rec *rec,
    enum mdas_export_kind k, struct mdas_error *err);
/* Writes what is left (errors, the count); fp is then complete but not
 * flushed.  Returns 0, or -1 with err. */
int mdas_jsondoc_finish(struct mdas_jsondoc *d, struct mdas_error *err);
/* Frees d and its scratch files; NULL is accepted. */
void mdas_jsondoc_free(struct mdas_jsondoc *d);

/* Writes rec (kind RECORD or EVENT) into w as one object in schema order. */
void mdas_jsonout_record(struct mdas_jsonw *w, struct json_object *rec,
    enum mdas_export_kind k);
/* The same for a record's view (mdas_export_next_rec()). */
void mdas_jsonout_record_rec(struct mdas_jsonw *w, const struct mdas_export_rec *rec,
    enum mdas_export_kind k);

#endif
