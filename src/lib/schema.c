#include "config.h"

#include <string.h>

#include "schema.h"

#define RECORD_FIELDS \
	{ "type", MDAS_FIELD_STRING }, \
	{ "source", MDAS_FIELD_STRING }, \
	{ "symbol", MDAS_FIELD_STRING }, \
	{ "asset_class", MDAS_FIELD_STRING }, \
	{ "currency", MDAS_FIELD_STRING }, \
	{ "exchange", MDAS_FIELD_STRING }, \
	{ "exchange_tz", MDAS_FIELD_STRING }, \
	{ "interval", MDAS_FIELD_STRING }, \
	{ "ts", MDAS_FIELD_TIME }, \
	{ "ts_ms", MDAS_FIELD_INT }, \
	{ "session_date", MDAS_FIELD_DATE }, \
	{ "open", MDAS_FIELD_NUMBER }, \
	{ "high", MDAS_FIELD_NUMBER }, \
	{ "low", MDAS_FIELD_NUMBER }, \
	{ "close", MDAS_FIELD_NUMBER }, \
	{ "adj_close", MDAS_FIELD_NUMBER }, \
	{ "volume", MDAS_FIELD_NUMBER }, \
	{ "quote_volume", MDAS_FIELD_NUMBER }, \
	{ "trades", MDAS_FIELD_INT }, \
	{ "bid", MDAS_FIELD_NUMBER }, \
	{ "ask", MDAS_FIELD_NUMBER }, \
	{ "bid_size", MDAS_FIELD_NUMBER }, \
	{ "ask_size", MDAS_FIELD_NUMBER }, \
	{ "prev_close", MDAS_FIELD_NUMBER }, \
	{ "mid", MDAS_FIELD_NUMBER }, \
	{ "spread", MDAS_FIELD_NUMBER }, \
	{ "spread_bps", MDAS_FIELD_NUMBER }, \
	{ "change", MDAS_FIELD_NUMBER }, \
	{ "change_pct", MDAS_FIELD_NUMBER }, \
	{ "log_return", MDAS_FIELD_NUMBER }, \
	{ "range_vol", MDAS_FIELD_NUMBER }, \
	{ "rolling_vol", MDAS_FIELD_NUMBER }, \
	{ "imputed", MDAS_FIELD_STRING_ARRAY }, \
	{ "run_id", MDAS_FIELD_STRING }, \
	{ "fetched_at", MDAS_FIELD_TIME }, \
	{ "schema_version", MDAS_FIELD_INT }

#define EVENT_ONLY_FIELDS \
	{ "amount", MDAS_FIELD_NUMBER }, \
	{ "numerator", MDAS_FIELD_NUMBER }, \
	{ "denominator", MDAS_FIELD_NUMBER }

const struct mdas_field mdas_record_fields[] = { RECORD_FIELDS };
const size_t mdas_record_nfields =
    sizeof(mdas_record_fields) / sizeof(mdas_record_fields[0]);

const struct mdas_field mdas_event_fields[] = {
	{ "type", MDAS_FIELD_STRING },
	{ "source", MDAS_FIELD_STRING },
	{ "symbol", MDAS_FIELD_STRING },
	{ "asset_class", MDAS_FIELD_STRING },
	{ "currency", MDAS_FIELD_STRING },
	{ "exchange", MDAS_FIELD_STRING },
	{ "exchange_tz", MDAS_FIELD_STRING },
	{ "ts", MDAS_FIELD_TIME },
	{ "ts_ms", MDAS_FIELD_INT },
	{ "session_date", MDAS_FIELD_DATE },
	EVENT_ONLY_FIELDS,
	{ "run_id", MDAS_FIELD_STRING },
	{ "fetched_at", MDAS_FIELD_TIME },
	{ "schema_version", MDAS_FIELD_INT },
};
const size_t mdas_event_nfields =
    sizeof(mdas_event_fields) / sizeof(mdas_event_fields[0]);

const struct mdas_field mdas_export_fields[] = { RECORD_FIELDS, EVENT_ONLY_FIELDS };
const size_t mdas_export_nfields =
    sizeof(mdas_export_fields) / sizeof(mdas_export_fields[0]);

int
mdas_field_index(const struct mdas_field *fields, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(fields[i].name, name) == 0)
			return (int)i;
	return -1;
}
