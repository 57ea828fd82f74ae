/* mdas-export-pg: unified records on stdin into the postgresql store. */
#include "config.h"

#include "storesink.h"

int
main(int argc, char **argv)
{
	return mdas_store_main(&mdas_store_pg, argc, argv);
}
