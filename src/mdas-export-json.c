/* mdas-export-json: unified records on stdin to one JSON document (or NDJSON). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonout.h"
#include "sink.h"

struct json {
	int ndjson;
	struct mdas_export_out *out;
	struct mdas_jsondoc *doc;
	char *path;                     /* the final path, for messages */
};

enum { OPT_NDJSON = 0x100 };

static int
json_option(void *st, int c, const char *arg)
{
	(void)c;
	(void)arg;
	((struct json *)st)->ndjson = 1;
	return MDAS_EXIT_OK;
}

static int
json_open(void *st, struct mdas_export *x, struct mdas_error *err)
{
	struct json *s = st;

	if ((s->out = mdas_export_out_open(x, s->ndjson ? ".ndjson" : ".json", 1, err)) == NULL)
		return -1;
	if ((s->path = strdup(mdas_export_out_path(s->out))) == NULL)
		return mdas_error_set(err, "%s", strerror(ENOMEM));
	/* The atomic temporary is ours from its first byte, so the record
	 * count can be filled in afterwards; standard output cannot. */
	s->doc = mdas_jsondoc_begin(mdas_export_out_fp(s->out),
	    mdas_export_out_tmp_path(s->out) != NULL, s->ndjson, mdas_export_run_id(x), err);
	return s->doc != NULL ? 0 : -1;
}

/* A write error, named by the output it hit. */
static int
write_failed(struct json *s, struct mdas_error *err)
{
	return mdas_error_prefix(err, "%s", strcmp(s->path, "-") == 0 ?
	    "standard output" : s->path);
}

static int
json_put(void *st, enum mdas_export_kind k, struct json_object *rec,
    unsigned long line, struct mdas_error *err)
{
	struct json *s = st;

	(void)line;
	if (mdas_jsondoc_add(s->doc, rec, k, err) != 0)
		return write_failed(s, err);
	return 0;
}

static int
json_finish(void *st, struct mdas_export *x, const struct mdas_export_reader *r,
    struct mdas_error *err)
{
	struct json *s = st;
	int rc;

	(void)x;
	(void)r;
	if (mdas_jsondoc_finish(s->doc, err) != 0)
		return write_failed(s, err);
	mdas_jsondoc_free(s->doc);
	s->doc = NULL;
	rc = mdas_export_out_commit_print(s->out, err);
	s->out = NULL;  /* freed whatever happened */
	return rc;
}

static void
json_done(void *st)
{
	struct json *s = st;

	mdas_jsondoc_free(s->doc);
	mdas_export_out_abort(s->out);
	free(s->path);
}

static const struct option json_longopts[] = {
	{ "ndjson", no_argument, NULL, OPT_NDJSON },
	{ NULL, 0, NULL, 0 },
};

static const struct mdas_sink json_sink = {
	.help =
	    "Write the unified records read on standard input to one JSON document,\n"
	    "DIR/PREFIX_RUNID.json, with error records in its \"errors\" array; print\n"
	    "the path written.\n\n",
	.options =
	    "      --ndjson           write one record per line (DIR/PREFIX_RUNID.ndjson),\n"
	    "                         then the error records\n",
	.longopts = json_longopts,
	.flags = MDAS_SINK_FILES,
	.state_size = sizeof(struct json),
	.option = json_option,
	.open = json_open,
	.put = json_put,
	.finish = json_finish,
	.done = json_done,
};

int
main(int argc, char **argv)
{
	return mdas_sink_main(&json_sink, argc, argv);
}
