/* storesink.c: scaffolding, replaced by the store sink. */
#include "config.h"

#include "cli.h"
#include "log.h"
#include "storesink.h"

int
mdas_store_main(const struct mdas_store_engine *e, int argc, char **argv)
{
	mdas_log_init(argv[0]);
	mdas_errorx("%s store: not built yet", e->name);
	return argc > 0 ? MDAS_EXIT_USAGE : MDAS_EXIT_USAGE;
}
