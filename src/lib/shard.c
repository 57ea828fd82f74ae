#include "config.h"

#include <stdio.h>
#include <string.h>

#include "shard.h"

static int
parse_part(const char *s, size_t len, long *v)
{
	size_t i;

	if (len == 0 || len > 6)
		return -1;
	*v = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
mdas_shard_parse(const char *s, int *k, int *n, char *why, size_t whyn)
{
	const char *slash = strchr(s, '/');
	long kk, nn;

	if (slash == NULL || parse_part(s, (size_t)(slash - s), &kk) < 0 ||
	    parse_part(slash + 1, strlen(slash + 1), &nn) < 0) {
		snprintf(why, whyn, "expected K/N (shard K of N, e.g. 2/4)");
		return -1;
	}
	if (nn < 1 || nn > MDAS_SHARD_MAX) {
		snprintf(why, whyn, "N must be from 1 to %d", MDAS_SHARD_MAX);
		return -1;
	}
	if (kk < 1 || kk > nn) {
		snprintf(why, whyn, "K must be from 1 to N (%ld)", nn);
		return -1;
	}
	*k = (int)kk;
	*n = (int)nn;
	return 0;
}

uint64_t
mdas_fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = UINT64_C(14695981039346656037);
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

int32_t
mdas_jump_hash(uint64_t key, int32_t buckets)
{
	int64_t b = -1, j = 0;

	while (j < buckets) {
		b = j;
		key = key * UINT64_C(2862933555777941757) + 1;
		j = (int64_t)((double)(b + 1) *
		    ((double)(INT64_C(1) << 31) / (double)((key >> 33) + 1)));
	}
	return (int32_t)b;
}

int
mdas_shard_of(const char *source, const char *symbol, int n)
{
	uint64_t h = UINT64_C(14695981039346656037);
	const char *parts[3] = { source != NULL ? source : "", ":", symbol };
	size_t i, k;

	/* FNV-1a over "source:symbol", without building the string. */
	for (k = 0; k < 3; k++)
		for (i = 0; parts[k][i] != '\0'; i++) {
			h ^= (unsigned char)parts[k][i];
			h *= UINT64_C(1099511628211);
		}
	return (int)mdas_jump_hash(h, n) + 1;
}
