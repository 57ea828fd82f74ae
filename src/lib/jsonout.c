#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "jsonget.h"
#include "jsonout.h"
#include "timeutil.h"

#define COUNT_WIDTH 20   /* digits of the largest unsigned 64-bit number */

struct mdas_jsondoc {
	FILE *out;
	FILE *records;          /* out, or a spool when out cannot seek */
	FILE *errors;           /* scratch */
	int seekable, ndjson;
	off_t count_at;         /* offset of the placeholder in out */
	unsigned long long nrecords, nerrors;
	char head[256];         /* up to "record_count": */
	struct mdas_jsonw *w;
};

void
mdas_jsonout_record_rec(struct mdas_jsonw *w, const struct mdas_export_rec *rec,
    enum mdas_export_kind k)
{
	const struct mdas_export_val *v;
	const struct mdas_field *fields;
	const int *slots;
	const char *s;
	size_t i, j, n, len;

	fields = mdas_export_fields_for(k, &n);
	slots = mdas_export_slots(fields, n);
	mdas_jsonw_begin_object(w);
	for (i = 0; i < n; i++) {
		mdas_jsonw_key(w, fields[i].name);
		v = slots != NULL ? mdas_export_at(rec, slots[i]) : &mdas_export_null;
		/* The same rendering rules as the CSV cells: integers stay
		 * integers, doubles in shortest round-trip form. */
		switch (v->type) {
		case MDAS_VAL_STRING:
			mdas_jsonw_string_n(w, v->text, v->len);
			break;
		case MDAS_VAL_INT:
			mdas_jsonw_int(w, v->i);
			break;
		case MDAS_VAL_DOUBLE:
			mdas_jsonw_number(w, v->d);
			break;
		case MDAS_VAL_BOOL:
			mdas_jsonw_bool(w, (int)v->i);
			break;
		case MDAS_VAL_STRINGS:
			mdas_jsonw_begin_array(w);
			for (j = 0; j < v->nelems; j++) {
				s = mdas_export_val_elem(v, j, &len);
				mdas_jsonw_string_n(w, s, len);
			}
			mdas_jsonw_end_array(w);
			break;
		case MDAS_VAL_OTHER:
			if (json_object_is_type(v->json, json_type_array)) {
				mdas_jsonw_begin_array(w);
				for (j = 0; j < json_object_array_length(v->json); j++)
					mdas_jsonw_json(w, json_object_array_get_idx(v->json, j));
				mdas_jsonw_end_array(w);
			} else
				mdas_jsonw_json(w, v->json);
			break;
		default:
			mdas_jsonw_null(w);
			break;
		}
	}
	mdas_jsonw_end_object(w);
}

void
mdas_jsonout_record(struct mdas_jsonw *w, struct json_object *rec,
    enum mdas_export_kind k)
{
	struct mdas_export_rec r;

	mdas_export_rec_from_json(&r, k, rec);
	mdas_jsonout_record_rec(w, &r, k);
}

struct mdas_jsondoc *
mdas_jsondoc_begin(FILE *fp, int seekable, int ndjson, const char *run_id,
    struct mdas_error *err)
{
	struct mdas_jsondoc *d;
	char now[MDAS_ISO_MAX];

	if ((d = calloc(1, sizeof(*d))) == NULL || (d->w = mdas_jsonw_new()) == NULL) {
		free(d);
		mdas_error_errno(err, ENOMEM, "JSON writer");
		return NULL;
	}
	d->out = d->records = fp;
	d->seekable = seekable;
	d->ndjson = ndjson;
	if ((d->errors = mdas_export_scratch_file(err)) == NULL)
		goto fail;
	if (ndjson)
		return d;
	mdas_format_iso_ms(mdas_now_ms(), now);
	/* run_id is [A-Za-z0-9_-] (mdas_runid_valid), so needs no escaping. */
	snprintf(d->head, sizeof(d->head),
	    "{\"run_id\":\"%s\",\"generated_at\":\"%s\",\"schema_version\":%d,"
	    "\"record_count\":", run_id, now, MDAS_SCHEMA_VERSION);
	if (seekable) {
		fputs(d->head, fp);
		if ((d->count_at = ftello(fp)) < 0) {
			mdas_error_errno(err, errno, "cannot tell the output position");
			goto fail;
		}
		fprintf(fp, "%*s,\"records\":[", COUNT_WIDTH, "");
	} else if ((d->records = mdas_export_scratch_file(err)) == NULL)
		goto fail;
	return d;
fail:
	mdas_jsondoc_free(d);
	return NULL;
}

/* Appends the writer's object to an array body: "\n{...}" or ",\n{...}". */
static int
put_item(struct mdas_jsondoc *d, FILE *fp, unsigned long long index)
{
	size_t len;
	const char *s = mdas_jsonw_buffer(d->w, &len);

	if (!d->ndjson && index > 0)
		putc(',', fp);
	if (!d->ndjson)
		putc('\n', fp);
	fwrite(s, 1, len, fp);
	if (d->ndjson)
		putc('\n', fp);
	mdas_jsonw_reset(d->w);
	return ferror(fp) ? -1 : 0;
}

int
mdas_jsondoc_add(struct mdas_jsondoc *d, const struct mdas_export_rec *rec,
    enum mdas_export_kind k, struct mdas_error *err)
{
	if (k == MDAS_EXPORT_ERROR) {
		/* Error records pass through as they came (always parsed by
		 * json-c). */
		mdas_jsonw_json(d->w, rec->json);
		if (put_item(d, d->errors, d->nerrors++) != 0)
			return mdas_error_errno(err, errno, "scratch file for errors");
		return 0;
	}
	mdas_jsonout_record_rec(d->w, rec, k);
	if (put_item(d, d->records, d->nrecords++) != 0)
		return mdas_error_errno(err, errno, d->records == d->out ?
		    "write failed" : "scratch file for records");
	return 0;
}

static int
copy(FILE *from, FILE *to)
{
	char buf[65536];
	size_t n;

	if (fflush(from) != 0 || fseeko(from, 0, SEEK_SET) != 0)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
		if (fwrite(buf, 1, n, to) != n)
			return -1;
	return ferror(from) || ferror(to) ? -1 : 0;
}

int
mdas_jsondoc_finish(struct mdas_jsondoc *d, struct mdas_error *err)
{
	FILE *fp = d->out;
	char count[COUNT_WIDTH + 1];
	off_t end;
	int n;

	if (d->ndjson) {
		if (copy(d->errors, fp) != 0)
			return mdas_error_errno(err, errno ? errno : EIO, "write failed");
		return 0;
	}
	n = snprintf(count, sizeof(count), "%llu", d->nrecords);
	if (!d->seekable) {
		fputs(d->head, fp);
		fprintf(fp, "%s,\"records\":[", count);
		if (copy(d->records, fp) != 0)
			return mdas_error_errno(err, errno ? errno : EIO, "write failed");
	}
	fputs(d->nrecords > 0 ? "\n],\"errors\":[" : "],\"errors\":[", fp);
	if (copy(d->errors, fp) != 0)
		return mdas_error_errno(err, errno ? errno : EIO, "write failed");
	fputs(d->nerrors > 0 ? "\n]}\n" : "]}\n", fp);
	if (d->seekable) {
		if ((end = ftello(fp)) < 0 || fseeko(fp, d->count_at, SEEK_SET) != 0 ||
		    fwrite(count, 1, (size_t)n, fp) != (size_t)n ||
		    fseeko(fp, end, SEEK_SET) != 0)
			return mdas_error_errno(err, errno ? errno : EIO, "write failed");
	}
	if (ferror(fp))
		return mdas_error_errno(err, errno ? errno : EIO, "write failed");
	return 0;
}

void
mdas_jsondoc_free(struct mdas_jsondoc *d)
{
	if (d == NULL)
		return;
	if (d->errors != NULL)
		fclose(d->errors);
	if (d->records != NULL && d->records != d->out)
		fclose(d->records);
	mdas_jsonw_free(d->w);
	free(d);
}
