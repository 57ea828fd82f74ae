/* fuzz.h: what the libFuzzer targets in tests/fuzz/ share.
 *
 * Each target is one fuzz-*.c defining LLVMFuzzerTestOneInput().  The
 * input is always what the real program reads (an NDJSON stream, a
 * settings file), or for the per-kind normalize targets the part of each
 * envelope line after a fixed head (see fuzz-normalize.c); with
 * MDAS_FUZZ_DUMP=FILE set, a target writes the exact bytes the program
 * would read to FILE, so a crash becomes a regression file for
 * tests/fuzz-regress.test.
 *
 * A target aborts (a crash libFuzzer saves) when the code under test
 * breaks a promise the fuzzer can check cheaply: output that is not
 * JSON, not strict UTF-8, or a CSV row with the wrong number of fields.
 * The sanitizers catch the rest.  MDAS_FUZZ_LOG=1 keeps the library's
 * stderr messages (silenced by default: they cost time and hide
 * libFuzzer's status lines).
 */
#ifndef MDAS_FUZZ_H
#define MDAS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Silences the library's log unless MDAS_FUZZ_LOG is set; pins TZ and
 * unsets the MDAS_* variables a test run must not see.  Call from
 * LLVMFuzzerInitialize(). */
void fuzz_setup(void);

/* A read stream on data[0..size) (a memory stream; an empty memfd when
 * size is 0).  Aborts when it cannot be opened: that is the harness failing,
 * not the code under test. */
FILE *fuzz_input(const uint8_t *data, size_t size);

/* A seekable, writable scratch stream (an anonymous memfd) that
 * fuzz_take() reads back. */
FILE *fuzz_scratch(void);
/* Reads all of fp (from its start) into a malloc'ed NUL-terminated
 * buffer, its length in *len, and closes fp. */
char *fuzz_take(FILE *fp, size_t *len);

/* When MDAS_FUZZ_DUMP names a file, writes data[0..size) to it. */
void fuzz_dump(const void *data, size_t size);

/* Abort with a message on stderr when the property fails. */
#define FUZZ_ASSERT(cond, ...) do { \
	if (!(cond)) \
		fuzz_fail(__FILE__, __LINE__, __VA_ARGS__); \
} while (0)
void fuzz_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* Offset of the first byte of s[0..len) that is not strict UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
 * or -1 when it all is. */
long fuzz_utf8_bad(const char *s, size_t len);
/* False when MDAS_FUZZ_NO_UTF8 turned the strict-text properties off. */
int fuzz_utf8_checked(void);

/* Checks that s[0..len) is one JSON value (strict), strict UTF-8, and
 * holds no raw control character (but TAB, LF, CR).
 * what names it in the failure message. */
void fuzz_assert_json(const char *what, const char *s, size_t len);
/* The same for each LF-terminated line of s (blank lines not allowed). */
void fuzz_assert_json_lines(const char *what, const char *s, size_t len);

#endif
