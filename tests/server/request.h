/* request.h: parsing one HTTP/1.x request head (request line and
 * headers) from the bytes a connection has received so far.
 *
 * Only what a test server needs: request bodies are announced by
 * Content-Length (chunked uploads are refused with 501), and limits on
 * the head keep a misbehaving client from growing memory.
 */
#ifndef MDAS_REPLAY_REQUEST_H
#define MDAS_REPLAY_REQUEST_H

#include <stddef.h>

#define REQUEST_HEAD_MAX   (64 * 1024)
#define REQUEST_HEADERS_MAX 100
#define REQUEST_BODY_MAX   (16L * 1024 * 1024)

struct request_header {
	const char *name;     /* lower-cased */
	const char *value;    /* surrounding blanks removed */
};

struct replay_request {
	char *head;           /* owned copy; the pointers below point into it */
	const char *method;
	const char *target;   /* as sent */
	char *path;           /* owned: target up to '?' */
	const char *query;    /* after '?', or NULL when there is none */
	struct request_header headers[REQUEST_HEADERS_MAX];
	size_t nheaders;
	int minor;            /* HTTP/1.<minor> */
	size_t content_length;
	int keep_alive;       /* after the version default and Connection */
	int expect_continue;
};

enum {
	REQUEST_INCOMPLETE = 0,
	REQUEST_OK = 1,
	REQUEST_BAD = -1,     /* *status says which error to answer with */
};

/* Parses buf[0..len).  On REQUEST_OK fills req (free it with
 * replay_request_clear()) and sets *used to the length of the head.  On
 * REQUEST_BAD sets *status (400, 413, 431, 501, 505); req is left empty
 * but may hold the method and target if they could be read. */
int replay_request_parse(const char *buf, size_t len, struct replay_request *req,
    size_t *used, int *status);

/* Frees what req owns and empties it; an empty req is accepted. */
void replay_request_clear(struct replay_request *req);

#endif
