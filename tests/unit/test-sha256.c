/* Unit tests for SHA-256: FIPS 180-4 examples, every split of the input
 * across update calls, and a file descriptor. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "tap.h"

static const char *
hex_of(const char *s, size_t n)
{
	static char hex[MDAS_SHA256_HEX];

	mdas_sha256_hex(s, n, hex);
	return hex;
}

int
main(void)
{
	static const char two_blocks[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[MDAS_SHA256_HEX], whole[MDAS_SHA256_HEX], path[] = "/tmp/mdas-sha-XXXXXX";
	unsigned char d[MDAS_SHA256_LEN];
	struct mdas_sha256 c;
	struct mdas_error err;
	char *big;
	size_t i, k, split_ok = 1;
	uint64_t size;
	int fd;

	tap_plan(8);
	tap_is_str(hex_of("", 0),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty input");
	tap_is_str(hex_of("abc", 3),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
	tap_is_str(hex_of(two_blocks, strlen(two_blocks)),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "448-bit message (padding spills into a second block)");
	/* One million 'a': many blocks. */
	big = malloc(1000000);
	memset(big, 'a', 1000000);
	tap_is_str(hex_of(big, 1000000),
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million a");
	/* Any split across update calls gives the same digest. */
	snprintf(whole, sizeof(whole), "%s", hex_of(big, 200));
	for (i = 0; i <= 200; i++) {
		mdas_sha256_init(&c);
		mdas_sha256_update(&c, big, i);
		mdas_sha256_update(&c, big + i, 200 - i);
		mdas_sha256_final(&c, d);
		for (k = 0; k < MDAS_SHA256_LEN; k++)
			snprintf(hex + 2 * k, 3, "%02x", d[k]);
		if (strcmp(hex, whole) != 0)
			split_ok = 0;
	}
	tap_ok(split_ok, "every split of 200 bytes across two updates");
	if ((fd = mkstemp(path)) < 0 || write(fd, big, 70000) != 70000)
		return 1;
	lseek(fd, 0, SEEK_SET);
	tap_is_int(mdas_sha256_fd(fd, path, hex, &size, &err), 0, "a file descriptor");
	tap_is_str(hex, hex_of(big, 70000), "same digest as the buffer");
	tap_ok(size == 70000, "and its size");
	close(fd);
	unlink(path);
	free(big);
	return tap_done();
}
