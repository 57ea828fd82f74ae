/* fuzz-normalize: mdas-normalize's handling of envelopes, driven as
 * src/mdas-normalize.c drives the library (reader, normalizer, finish;
 * default options: --missing=ffill, --window 20, no run ID).
 *
 * Built once per envelope kind (MDAS_FUZZ_KIND, see fuzz.am).  Without a
 * kind the input is the program's whole input stream.  With a kind, each
 * input line L becomes the envelope line HEAD L "}" (HEAD below fixes
 * "type", and "source"/"endpoint" for a raw envelope), so mutations land
 * in the kind, symbol, interval and payload of that kind of envelope
 * instead of being wasted on an unsupported one.  MDAS_FUZZ_DUMP=FILE
 * writes the resulting stream: mdas-normalize <FILE replays it.
 *
 * Checked besides the sanitizers: every output line is JSON and strict
 * UTF-8, and mdas-export-* accept every record written (what normalize
 * writes, the exporters must read: a record they reject is lost). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "fuzz.h"
#include "normalize.h"

#define KIND_STREAM         0
#define KIND_YAHOO_CHART    1
#define KIND_YAHOO_QUOTE    2
#define KIND_BINANCE_TICKER 3
#define KIND_BINANCE_KLINES 4
#define KIND_ERROR          5

#ifndef MDAS_FUZZ_KIND
#define MDAS_FUZZ_KIND KIND_STREAM
#endif

#if MDAS_FUZZ_KIND == KIND_YAHOO_CHART
#define HEAD "{\"type\":\"raw\",\"source\":\"yahoo\",\"endpoint\":\"chart\","
#elif MDAS_FUZZ_KIND == KIND_YAHOO_QUOTE
#define HEAD "{\"type\":\"raw\",\"source\":\"yahoo\",\"endpoint\":\"quote\","
#elif MDAS_FUZZ_KIND == KIND_BINANCE_TICKER
#define HEAD "{\"type\":\"raw\",\"source\":\"binance\",\"endpoint\":\"ticker24hr\","
#elif MDAS_FUZZ_KIND == KIND_BINANCE_KLINES
#define HEAD "{\"type\":\"raw\",\"source\":\"binance\",\"endpoint\":\"klines\","
#elif MDAS_FUZZ_KIND == KIND_ERROR
#define HEAD "{\"type\":\"error\","
#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

static int
on_reject(void *arg, const struct mdas_reject *rj)
{
	FUZZ_ASSERT(rj->input != NULL && rj->reason != NULL && rj->reason[0] != '\0',
	    "a rejection without input or reason");
	FUZZ_ASSERT(rj->line >= 1, "a rejection on line %lu", rj->line);
	*(unsigned long *)arg += 1;
	return 0;
}

#ifdef HEAD
/* HEAD L "}" LF for each line L of data (a last line without LF too). */
static char *
wrap(const uint8_t *data, size_t size, size_t *outlen)
{
	const size_t hl = sizeof(HEAD) - 1;
	size_t nlines = 1, i, o = 0, start = 0;
	char *out;

	for (i = 0; i < size; i++)
		nlines += data[i] == '\n';
	if ((out = malloc(size + nlines * (hl + 2) + 1)) == NULL)
		abort();
	for (i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i == size && i == start)
			break;
		memcpy(out + o, HEAD, hl);
		o += hl;
		memcpy(out + o, data + start, i - start);
		o += i - start;
		out[o++] = '}';
		out[o++] = '\n';
		start = i + 1;
	}
	*outlen = o;
	return out;
}
#endif

/* What src/mdas-normalize.c does with its input, without the messages. */
static int
run(struct mdas_normalizer *n, FILE *fp)
{
	struct mdas_error err;
	int failed = 0;

	return mdas_normalizer_run(n, fp, "<stdin>", &failed, &err);
}

/* The exporters' reader must accept every line normalize wrote. */
static void
export_accepts(const char *out, size_t len)
{
	struct mdas_export_reader *r;
	struct json_object *rec;
	struct mdas_error err;
	FILE *fp;

	fp = fuzz_input((const uint8_t *)out, len);
	if ((r = mdas_export_reader_new(fp, "<stdin>")) == NULL)
		abort();
	while (mdas_export_next(r, &rec, &err) > 0)
		;
	FUZZ_ASSERT(mdas_export_nbad(r) == 0,
	    "the exporters reject %lu of the records normalize wrote "
	    "(MDAS_FUZZ_LOG=1 shows which): %.*s", mdas_export_nbad(r),
	    (int)(len < 600 ? len : 600), out);
	mdas_export_reader_free(r);
	fclose(fp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdas_normalize_opts o;
	struct mdas_normalizer *n;
	struct mdas_error err;
	unsigned long rejects = 0;
	const uint8_t *in = data;
	size_t inlen = size, outlen;
	char *wrapped = NULL, *out;
	FILE *ifp, *ofp;
	int rc;

#ifdef HEAD
	wrapped = wrap(data, size, &inlen);
	in = (const uint8_t *)wrapped;
#endif
	fuzz_dump(in, inlen);
	memset(&o, 0, sizeof(o));
	o.missing = MDAS_MISSING_FFILL;
	o.window = 20;
	ofp = fuzz_scratch();
	if ((n = mdas_normalizer_new(&o, ofp, on_reject, &rejects)) == NULL)
		abort();
	ifp = fuzz_input(in, inlen);
	rc = run(n, ifp);
	fclose(ifp);
	FUZZ_ASSERT(rc == MDAS_NORM_OK, "normalizer failed on a memory stream");
	rc = mdas_normalizer_finish(n, &err);
	FUZZ_ASSERT(rc == MDAS_NORM_OK, "finish failed: %s", err.msg);
	FUZZ_ASSERT(mdas_normalizer_stats(n)->rejected == rejects,
	    "%llu rejections counted, %lu reported",
	    mdas_normalizer_stats(n)->rejected, rejects);
	mdas_normalizer_free(n);
	out = fuzz_take(ofp, &outlen);
	fuzz_assert_json_lines("normalize output", out, outlen);
	export_accepts(out, outlen);
	free(out);
	free(wrapped);
	return 0;
}
