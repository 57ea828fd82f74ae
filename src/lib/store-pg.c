/* store-pg.c: scaffolding, replaced by the postgresql engine. */
#include "config.h"

#include "store.h"

const struct mdas_store_engine mdas_store_pg = { "postgresql", NULL, NULL, NULL, NULL, NULL, NULL, NULL };
