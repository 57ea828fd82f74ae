/* storesink.h: mdas-export-sqlite and mdas-export-pg, one exporter (a
 * sink, sink.h) over either engine (store.h).
 *
 * Options both programs share: --db PATH / --dsn CONNINFO (the engine's
 * target, else store.path / store.dsn), --schema NAME (PostgreSQL),
 * --last, --init, --stats FILE (the load's counts as JSON, for the
 * pipeline's manifest), --manifest FILE (store a published run's
 * manifest in its runs row), and the shared exporter options.
 */
#ifndef MDAS_STORESINK_H
#define MDAS_STORESINK_H

#include "store.h"

/* The whole program for engine e; returns its exit status. */
int mdas_store_main(const struct mdas_store_engine *e, int argc, char **argv);

#endif
