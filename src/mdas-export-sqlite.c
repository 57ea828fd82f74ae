/* mdas-export-sqlite: unified records on stdin into the sqlite store. */
#include "config.h"

#include "storesink.h"

int
main(int argc, char **argv)
{
	return mdas_store_main(&mdas_store_sqlite, argc, argv);
}
