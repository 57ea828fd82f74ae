/* store.c: scaffolding, replaced by the shared store layer. */
#include "config.h"

#include "store.h"
