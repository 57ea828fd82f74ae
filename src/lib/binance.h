/* binance.h: Binance spot REST v3 requests and responses.
 *
 * URL builders return malloc'd strings (NULL when out of memory).
 */
#ifndef MDAS_BINANCE_H
#define MDAS_BINANCE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define MDAS_BINANCE_TICKER_BATCH 100   /* symbols per ticker/24hr request */
#define MDAS_BINANCE_KLINES_LIMIT 1000  /* rows per klines request (the maximum) */
#define MDAS_BINANCE_INVALID_SYMBOL (-1121)

/* ticker/24hr: ?symbol=X for one symbol (an object comes back), else
 * ?symbols=["A","B"] URL-encoded (an array comes back). */
char *mdas_binance_ticker_url(const char *base, const char *const *syms, size_t n);
/* klines?symbol=&interval=&startTime=&endTime=&limit= (times in ms). */
char *mdas_binance_klines_url(const char *base, const char *sym, const char *interval,
    int64_t start_ms, int64_t end_ms, int limit);

/* Binance's spelling of an mdas interval ("60m" -> "1h", "1wk" -> "1w",
 * "1mo" -> "1M"), or NULL when Binance has no such interval. */
const char *mdas_binance_interval(const char *interval);

/* Reads an error body {"code":-1121,"msg":"Invalid symbol."}.  Returns 1
 * and sets *code and *msg (borrowed) when body has that shape; else 0. */
int mdas_binance_error(struct json_object *body, int64_t *code, const char **msg);

/* The element of an array response whose "symbol" equals sym, or NULL. */
struct json_object *mdas_binance_find_symbol(struct json_object *arr, const char *sym);

#endif
