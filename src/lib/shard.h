/* shard.h: which of N machines fetches a symbol.
 *
 * A symbol belongs to shard jump(fnv1a64("source:symbol"), N) + 1, where
 * jump is Lamping and Veach's jump consistent hash ("A Fast, Minimal
 * Memory, Consistent Hash Algorithm", 2014) and fnv1a64 the 64-bit
 * FNV-1a hash.  Stable across runs, machines and versions (changing it
 * would move every symbol), and going from N to N+1 shards moves only
 * the symbols of the new shard, about 1/(N+1) of them.
 */
#ifndef MDAS_SHARD_H
#define MDAS_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define MDAS_SHARD_MAX 65536     /* largest N accepted */

/* Parses "K/N" (decimal, 1 <= K <= N <= MDAS_SHARD_MAX, nothing else).
 * Returns 0, or -1 with why (n bytes) saying what was wrong. */
int mdas_shard_parse(const char *s, int *k, int *n, char *why, size_t whyn);

uint64_t mdas_fnv1a64(const void *data, size_t len);
/* Lamping and Veach: a bucket in [0, buckets) for key (buckets >= 1). */
int32_t mdas_jump_hash(uint64_t key, int32_t buckets);

/* The shard (1..n) of source:symbol. */
int mdas_shard_of(const char *source, const char *symbol, int n);

#endif
