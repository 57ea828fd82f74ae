/* sha256.h: SHA-256 (FIPS 180-4) of a buffer, a stream or a file, for the
 * checksums in a run's manifest.  No state is shared; nothing allocates.
 */
#ifndef MDAS_SHA256_H
#define MDAS_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define MDAS_SHA256_LEN 32
/* 64 hex digits and the terminating NUL. */
#define MDAS_SHA256_HEX 65

struct mdas_sha256 {
	uint32_t h[8];
	uint64_t len;             /* bytes hashed so far */
	unsigned char buf[64];
	size_t nbuf;
};

void mdas_sha256_init(struct mdas_sha256 *c);
void mdas_sha256_update(struct mdas_sha256 *c, const void *data, size_t n);
/* Writes the digest; c must be initialised again before reuse. */
void mdas_sha256_final(struct mdas_sha256 *c, unsigned char out[MDAS_SHA256_LEN]);
/* The digest of data as 64 lower-case hex digits into hex. */
void mdas_sha256_hex(const void *data, size_t n, char hex[MDAS_SHA256_HEX]);
/* The digest of everything fd yields from its current offset to EOF as
 * hex, and the number of bytes read in *size (when not NULL).  Returns 0,
 * or -1 with err saying why (name is used in the message). */
int mdas_sha256_fd(int fd, const char *name, char hex[MDAS_SHA256_HEX],
    uint64_t *size, struct mdas_error *err);

#endif
