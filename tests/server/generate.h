/* generate.h: synthetic bodies computed from the request, for answers a
 * fixed body cannot give (klines pages that follow startTime, charts for
 * whatever period1/period2 was asked).  The bars are made up: prices
 * from the bar's time, not market data; README.md, "Generated bodies".
 */
#ifndef MDAS_REPLAY_GENERATE_H
#define MDAS_REPLAY_GENERATE_H

#include <stddef.h>

enum replay_gen { GEN_NONE = 0, GEN_KLINES, GEN_CHART };

/* "klines" or "chart"; GEN_NONE for anything else. */
enum replay_gen replay_gen_parse(const char *name);

/* hole_from_ms..hole_to_ms (-1: none): klines opening in it are left
 * out, as a source missing them would (a gap between the bars around). */
/* Builds the answer to path?query: *status and a malloc'd *body (*len
 * bytes).  A request the generator cannot answer (a parameter missing or
 * out of range, a Yahoo 1m period over 8 days) gets the source's own
 * error shape with 400 or 422.  Returns -1 when out of memory. */
int replay_generate(enum replay_gen gen, const char *path, const char *query,
    long hole_from_ms, long hole_to_ms, int *status, char **body, size_t *len);

#endif
