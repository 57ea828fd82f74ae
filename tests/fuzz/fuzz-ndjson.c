/* fuzz-ndjson: the NDJSON line reader (src/lib/ndjson.c), the input side
 * of every filter.  The input is an NDJSON stream.  It is read twice: with
 * the programs' cap (16 MiB) and with a cap of 64 bytes, so the over-cap
 * path is fuzzed too.  Checked: the reader terminates, line numbers only
 * grow, a returned line is never longer than the cap, never counts more
 * bytes than there are, and a line it accepts is strict UTF-8 without
 * raw control characters (ndjson.h promises strict RFC 8259, UTF-8
 * checked; tests/fuzz-regress.test feeds such a file to mdas-normalize). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ndjson.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

static void
read_all(const uint8_t *data, size_t size, size_t cap)
{
	struct mdas_ndjson *r;
	struct json_object *v;
	struct mdas_error err;
	unsigned long last = 0, lineno;
	const char *line;
	size_t len, calls = 0, i;
	int got;
	FILE *fp;

	fp = fuzz_input(data, size);
	if ((r = mdas_ndjson_open(fp, "<fuzz>", cap)) == NULL)
		abort();
	while ((got = mdas_ndjson_next(r, &v, &err)) != MDAS_NDJSON_EOF) {
		FUZZ_ASSERT(got == MDAS_NDJSON_VALUE || got == MDAS_NDJSON_BAD,
		    "unexpected reader status %d on a memory stream", got);
		FUZZ_ASSERT(++calls <= size + 1, "more values than input bytes");
		line = mdas_ndjson_line(r, &len);
		lineno = mdas_ndjson_lineno(r);
		FUZZ_ASSERT(lineno > last, "line number went from %lu to %lu", last, lineno);
		last = lineno;
		FUZZ_ASSERT(line != NULL && len <= (cap ? cap : MDAS_NDJSON_DEFAULT_MAX_LINE),
		    "line of %zu bytes over the cap %zu", len, cap);
		FUZZ_ASSERT(mdas_ndjson_bytes(r) <= size, "read %llu of %zu bytes",
		    mdas_ndjson_bytes(r), size);
		if (got == MDAS_NDJSON_VALUE) {
			FUZZ_ASSERT(fuzz_utf8_bad(line, len) < 0 || !fuzz_utf8_checked(),
			    "accepted line %lu is not strict UTF-8 (byte %ld)", lineno,
			    fuzz_utf8_bad(line, len));
			for (i = 0; fuzz_utf8_checked() && i < len; i++)
				FUZZ_ASSERT((unsigned char)line[i] >= 0x20 || line[i] == '\t' ||
				    line[i] == '\r', "accepted line %lu holds a raw control "
				    "character 0x%02x (not JSON, RFC 8259)", lineno,
				    (unsigned char)line[i]);
			json_object_put(v);
		} else
			FUZZ_ASSERT(strncmp(err.msg, "<fuzz>:", 7) == 0,
			    "message does not name the input: %s", err.msg);
	}
	mdas_ndjson_free(r);
	fclose(fp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dump(data, size);
	read_all(data, size, 0);
	read_all(data, size, 64);
	return 0;
}
