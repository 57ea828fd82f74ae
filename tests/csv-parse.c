/* csv-parse: reads a CSV file with libcsv's strict parser and prints each
 * row as a JSON array of strings, one per line, so tests can compare what
 * libcsv reads with what Python's csv module reads.
 *
 * Usage: csv-parse [-d DELIM] FILE     (DELIM: one character or "tab")
 * Exit 0, 1 when the file is not strict CSV, 2 on usage errors. */
#include "config.h"

#include <csv.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

struct state {
	struct mdas_jsonw *w;
	int in_row;
	int failed;
};

static void
on_field(void *s, size_t len, void *data)
{
	struct state *st = data;

	if (!st->in_row) {
		mdas_jsonw_begin_array(st->w);
		st->in_row = 1;
	}
	mdas_jsonw_string_n(st->w, s, len);
}

static void
on_row(int c, void *data)
{
	struct state *st = data;

	(void)c;
	if (!st->in_row)
		mdas_jsonw_begin_array(st->w);
	mdas_jsonw_end_array(st->w);
	st->in_row = 0;
	if (mdas_jsonw_write_line(st->w, stdout) != 0)
		st->failed = 1;
}

int
main(int argc, char **argv)
{
	struct csv_parser p;
	struct state st = { NULL, 0, 0 };
	unsigned char delim = ',';
	char buf[65536];
	const char *path;
	size_t n;
	FILE *fp;
	int rc = 0;

	if (argc == 4 && strcmp(argv[1], "-d") == 0) {
		delim = strcmp(argv[2], "tab") == 0 ? '\t' : (unsigned char)argv[2][0];
		path = argv[3];
	} else if (argc == 2)
		path = argv[1];
	else {
		fprintf(stderr, "usage: csv-parse [-d DELIM] FILE\n");
		return 2;
	}
	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return 2;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0 ||
	    (st.w = mdas_jsonw_new()) == NULL) {
		fprintf(stderr, "csv-parse: out of memory\n");
		return 2;
	}
	csv_set_delim(&p, delim);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (csv_parse(&p, buf, n, on_field, on_row, &st) != n) {
			fprintf(stderr, "csv-parse: %s: %s\n", path,
			    csv_strerror(csv_error(&p)));
			rc = 1;
			break;
		}
	}
	if (rc == 0 && csv_fini(&p, on_field, on_row, &st) != 0) {
		fprintf(stderr, "csv-parse: %s: %s\n", path, csv_strerror(csv_error(&p)));
		rc = 1;
	}
	csv_free(&p);
	fclose(fp);
	mdas_jsonw_free(st.w);
	if (st.failed || fclose(stdout) != 0)
		rc = 1;
	return rc;
}
