/* runid.h: synchronized, strictly increasing run IDs.
 *
 * An ID looks like 20261123T101500Z-000042: the UTC second of allocation
 * and a counter, zero-padded to 6 digits (wider past 999999).  Only
 * [0-9TZ-] appear.  The counter lives in STATE_DIR/runid.counter, guarded
 * by an flock on STATE_DIR/runid.lock and replaced atomically (fsync
 * before the ID is returned), so concurrent allocators never share an ID.
 * The time part never goes backwards (a clock stepped back reuses the
 * last time), so sorting IDs as strings gives allocation order.  A
 * counter file that is not exactly "COUNTER ID\n" with COUNTER a plain
 * decimal up to 2^63-2 is an error naming the file: never reset, never
 * wrapped.
 */
#ifndef MDAS_RUNID_H
#define MDAS_RUNID_H

#include <stdint.h>

#include "error.h"

#define MDAS_RUNID_MAX 72

/* Allocates the next ID into id (MDAS_RUNID_MAX bytes); *counter gets its
 * counter when not NULL.  Creates state_dir when missing. */
int mdas_runid_next(const char *state_dir, char *id, uint64_t *counter,
    struct mdas_error *err);

/* The last allocated ID, without allocating.  Returns 0, 1 when none has
 * been allocated yet, -1 on error. */
int mdas_runid_current(const char *state_dir, char *id, struct mdas_error *err);

/* True when s has the shape of a run ID users may pass in (--run-id,
 * MDAS_RUN_ID): 1-64 characters of [A-Za-z0-9_-], safe in file names. */
int mdas_runid_valid(const char *s);

#endif
