/* error.h: the status type every library call reports failures through.
 *
 * Library code never prints and never exits.  A function that can fail
 * takes a `struct mdas_error *` (which may be NULL when the caller does not
 * care), fills it with a human-readable message, and returns -1 (or NULL).
 * The caller decides how to report it, normally with mdas_log_error().
 */
#ifndef MDAS_ERROR_H
#define MDAS_ERROR_H

#include <stddef.h>

#define MDAS_ERROR_MAX 1024

struct mdas_error {
	int  errnum;                 /* errno at the failure, or 0 */
	char msg[MDAS_ERROR_MAX];    /* "path: reason", never ends in '\n' */
};

/* Sets err (if not NULL) to the formatted message; returns -1 so callers
 * can write `return mdas_error_set(err, ...);`. */
int mdas_error_set(struct mdas_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like mdas_error_set() but appends ": strerror(errnum)" and records errnum. */
int mdas_error_errno(struct mdas_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with the formatted context and ": ". */
int mdas_error_prefix(struct mdas_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void mdas_error_clear(struct mdas_error *err);

#endif
