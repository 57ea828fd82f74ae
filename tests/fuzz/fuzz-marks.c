/* fuzz-marks: the high-water marks reader of mdas-fetch --since-last
 * (src/lib/marks.c) and the shard parser (shard.c).  The input's first
 * byte picks the interval kept (even: 1m, odd: 1d); the rest is a marks
 * file.  Checked: reading ends, every bad line is reported as
 * "<fuzz>:LINE: reason" in valid UTF-8 on one line, and every mark kept
 * is found again and keeps its promises (source known, interval the one
 * asked for, 0 <= first <= last <= 9999-12-31, bars >= 0).  The first
 * line also goes to mdas_shard_parse(): accepted means 1 <= K <= N. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "marks.h"
#include "shard.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	return 0;
}

static unsigned long nbad_seen;

static void
on_bad(void *ctx, const char *msg)
{
	size_t len = strlen(msg);

	(void)ctx;
	nbad_seen++;
	FUZZ_ASSERT(strncmp(msg, "<fuzz>:", 7) == 0, "message without the file: %s", msg);
	FUZZ_ASSERT(strchr(msg, '\n') == NULL, "message over several lines");
	FUZZ_ASSERT(fuzz_utf8_bad(msg, len) < 0 || !fuzz_utf8_checked(),
	    "message is not UTF-8 (byte %ld)", fuzz_utf8_bad(msg, len));
}

/* Walks the kept marks through the one public lookup: a symbol of every
 * line read back is looked for and, when found, checked. */
static void
check_found(const struct mdas_marks *ms, const char *interval, const uint8_t *data,
    size_t size)
{
	const struct mdas_mark *m;
	enum mdas_source srcs[2] = { MDAS_SOURCE_YAHOO, MDAS_SOURCE_BINANCE };
	char sym[MDAS_SYMBOL_MAX + 1];
	const char *p, *e, *end = (const char *)data + size;
	size_t k, n;

	/* Candidate symbols: every "symbol":"..." in the input. */
	for (p = (const char *)data; p < end && (p = memmem(p, (size_t)(end - p),
	    "\"symbol\":\"", 10)) != NULL; p = e) {
		p += 10;
		for (e = p; e < end && *e != '"'; e++)
			;
		n = (size_t)(e - p);
		if (n == 0 || n > MDAS_SYMBOL_MAX || memchr(p, '\0', n) != NULL)
			continue;
		memcpy(sym, p, n);
		sym[n] = '\0';
		for (k = 0; k < 2; k++) {
			if ((m = mdas_marks_find(ms, srcs[k], sym)) == NULL)
				continue;
			FUZZ_ASSERT(m->source == srcs[k] && strcmp(m->symbol, sym) == 0,
			    "found the wrong mark");
			FUZZ_ASSERT(strcmp(m->interval, interval) == 0, "mark of interval %s kept",
			    m->interval);
			FUZZ_ASSERT(m->first_ts_ms >= 0 && m->first_ts_ms <= m->last_ts_ms &&
			    m->last_ts_ms <= INT64_C(253402300799999) && m->bars >= 0,
			    "mark out of its bounds");
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *interval;
	struct mdas_marks *ms;
	struct mdas_error err;
	unsigned long lines, bad;
	size_t kept, n;
	char first[64], why[128];
	int k, nn;
	FILE *fp;

	if (size < 1)
		return 0;
	interval = data[0] & 1 ? "1d" : "1m";
	{
		const uint8_t *nl = memchr(data + 1, '\n', size - 1);

		n = nl != NULL ? (size_t)(nl - (data + 1)) : size - 1;
	}
	if (n < sizeof(first)) {
		memcpy(first, data + 1, n);
		first[n] = '\0';
		if (strlen(first) == n && mdas_shard_parse(first, &k, &nn, why, sizeof(why)) == 0)
			FUZZ_ASSERT(k >= 1 && k <= nn && nn <= MDAS_SHARD_MAX &&
			    mdas_shard_of("yahoo", "AAPL", nn) >= 1 &&
			    mdas_shard_of("yahoo", "AAPL", nn) <= nn, "shard %d/%d accepted", k, nn);
	}
	nbad_seen = 0;
	fp = fuzz_input(data + 1, size - 1);
	ms = mdas_marks_read(fp, "<fuzz>", interval, on_bad, NULL, &err);
	fclose(fp);
	FUZZ_ASSERT(ms != NULL, "a memory stream failed to read: %s", err.msg);
	mdas_marks_counts(ms, &lines, &kept, &bad);
	FUZZ_ASSERT(bad == nbad_seen, "%lu bad lines counted, %lu reported", bad, nbad_seen);
	FUZZ_ASSERT(bad <= lines && kept <= lines, "more marks than lines");
	check_found(ms, interval, data + 1, size - 1);
	mdas_marks_free(ms);
	return 0;
}
