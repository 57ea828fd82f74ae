/* utf8.h: strict UTF-8 (RFC 3629), for every line the filters read.
 *
 * json-c's own check (JSON_TOKENER_VALIDATE_UTF8) lets through encoded
 * surrogates (ed a0 80), overlong forms (c0 af, e0 80 af) and code points
 * above U+10FFFF (f4 90 80 80); whatever reaches a JSON file or an XLSX's
 * XML must be none of these.  Strict means: every sequence is the
 * shortest form of a code point in U+0000..U+D7FF or U+E000..U+10FFFF,
 * and no sequence is cut short.
 */
#ifndef MDAS_UTF8_H
#define MDAS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the sequence at s (n > 0 bytes available).  Returns its length
 * (1-4) and stores the code point in *cp, or returns 0 when the bytes at
 * s do not start a valid sequence (*cp is then untouched). */
size_t mdas_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Offset of the first byte of s[0..n) that does not belong to a valid
 * sequence, or n when all of it is valid UTF-8. */
size_t mdas_utf8_invalid_at(const char *s, size_t n);

/* Like mdas_utf8_invalid_at(), but also stops at the first character for
 * which reject (when not NULL) is true: the offset of that character or
 * of the first invalid byte, or n when there is neither. */
size_t mdas_utf8_scan(const char *s, size_t n, int (*reject)(uint32_t cp));

/* Copies s[0..n) into dst (size bytes) with each byte that does not
 * belong to a valid sequence, and each character for which reject (when
 * not NULL) is true, replaced by U+FFFD (ef bf bd).  Stops before the
 * first character that does not fit with the terminating NUL, so dst is
 * always valid UTF-8 and NUL-terminated (size > 0).  Returns the length
 * written.  3 * n + 1 bytes always hold the whole of s. */
size_t mdas_utf8_replace(const char *s, size_t n, char *dst, size_t size,
    int (*reject)(uint32_t cp));

/* True for a control character: C0 (U+0000..U+001F), DEL (U+007F) and
 * C1 (U+0080..U+009F). */
int mdas_utf8_is_control(uint32_t cp);

/* In JSON text s[0..n) that json-c has parsed (so its strings and
 * escapes are well formed), the first \\u escape that json-c decodes
 * into something else without a word: an unpaired surrogate (\\ud800,
 * which becomes U+FFFD) or \\u0000 (a NUL, where C strings end).
 * Returns 0 when there is none, else 1 with the offset of its backslash
 * in *at and the escape's value in *cp. */
int mdas_json_bad_escape(const char *s, size_t n, size_t *at, uint32_t *cp);

/* In JSON text s[0..n), the first control character (U+0000..U+001F)
 * written raw where RFC 8259 does not allow it: inside a string (where it
 * must be escaped, tab included) or outside one other than tab, LF and
 * CR.  json-c accepts them in strings even in strict mode, and a record
 * copied through would then not be JSON.  Returns 0 when there is none,
 * else 1 with its offset in *at. */
int mdas_json_raw_control(const char *s, size_t n, size_t *at);

#endif
