/* store-sqlite.c: scaffolding, replaced by the sqlite engine. */
#include "config.h"

#include "store.h"

const struct mdas_store_engine mdas_store_sqlite = { "sqlite", NULL, NULL, NULL, NULL, NULL, NULL, NULL };
