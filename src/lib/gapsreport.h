/* gapsreport.h: the manifest's "gaps" member, from the gap lines of the
 * record store (mdas-export-sqlite --gaps, mdas-store(7)).
 *
 *   "gaps": {"status": "checked", "series": S, "gaps": G, "missing": M,
 *            "asked_again": A,
 *            "by_series": [{"source", "symbol", "interval", "gaps", "missing",
 *                           "spans": [{"from_ts_ms", "to_ts_ms", "missing"}, ...],
 *                           "spans_omitted": N}, ...]}
 * by_series lists at most MDAS_GAPS_REPORT_SERIES series and each at most
 * MDAS_GAPS_REPORT_SPANS spans (the newest); the counts are whole (a
 * store's "more_gaps" line adds to them).  asked_again: the gaps this
 * run's fetch asked for once more (given by the caller; -1: null).  A
 * file that cannot be read or holds a line that is not a gap line:
 *   {"status": "failed", "reason": "..."}
 */
#ifndef MDAS_GAPSREPORT_H
#define MDAS_GAPSREPORT_H

#include <json-c/json.h>

#define MDAS_GAPS_REPORT_SERIES 1000
#define MDAS_GAPS_REPORT_SPANS 20

/* Never NULL unless memory runs out. */
struct json_object *mdas_gaps_member(const char *path, long asked_again);

#endif
