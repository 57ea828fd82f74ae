/* request.c: HTTP/1.x request heads. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"

/* Finds the blank line ending the head; tolerates bare LF line ends as
 * RFC 9112 allows.  Returns the length including that line, or 0. */
static size_t
head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Does the comma-separated Connection value contain token? */
static int
has_token(const char *value, const char *token)
{
	size_t n = strlen(token);
	const char *p = value;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, token, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

static int
parse_head(struct replay_request *req, int *status)
{
	char *line, *next, *sp1, *sp2, *colon, *end, *p;
	int conn_close = 0, conn_keep = 0;
	unsigned long long cl;

	line = req->head;
	next = strchr(line, '\n');
	*next++ = '\0';
	if ((sp1 = strchr(line, ' ')) == NULL || (sp2 = strchr(sp1 + 1, ' ')) == NULL) {
		*status = 400;
		return -1;
	}
	*sp1 = *sp2 = '\0';
	req->method = line;
	req->target = sp1 + 1;
	trim(sp2 + 1);
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)sp2[8]) ||
	    sp2[9] != '\0') {
		*status = strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
		return -1;
	}
	req->minor = sp2[8] - '0';
	if (*req->method == '\0' || *req->target == '\0') {
		*status = 400;
		return -1;
	}
	p = strchr(req->target, '?');
	if ((req->path = strndup(req->target, p != NULL ? (size_t)(p - req->target)
	    : strlen(req->target))) == NULL) {
		*status = 500;
		return -1;
	}
	req->query = p != NULL ? p + 1 : NULL;

	for (line = next; *line != '\0' && *line != '\r' && *line != '\n'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		/* Obsolete line folding is refused, as RFC 9112 lets servers do. */
		if (*line == ' ' || *line == '\t' || (colon = strchr(line, ':')) == NULL ||
		    colon == line) {
			*status = 400;
			return -1;
		}
		*colon = '\0';
		for (p = line; *p != '\0'; p++) {
			if (*p == ' ' || *p == '\t') {
				*status = 400;
				return -1;
			}
			*p = (char)tolower((unsigned char)*p);
		}
		if (req->nheaders == REQUEST_HEADERS_MAX) {
			*status = 431;
			return -1;
		}
		req->headers[req->nheaders].name = line;
		req->headers[req->nheaders].value = trim(colon + 1);
		req->nheaders++;
	}

	for (size_t i = 0; i < req->nheaders; i++) {
		const char *name = req->headers[i].name, *value = req->headers[i].value;

		if (strcmp(name, "content-length") == 0) {
			errno = 0;
			cl = strtoull(value, &end, 10);
			if (!isdigit((unsigned char)*value) || *end != '\0' || errno != 0 ||
			    (req->content_length != 0 && req->content_length != cl)) {
				*status = 400;
				return -1;
			}
			if (cl > (unsigned long long)REQUEST_BODY_MAX) {
				*status = 413;
				return -1;
			}
			req->content_length = (size_t)cl;
		} else if (strcmp(name, "transfer-encoding") == 0) {
			*status = 501;
			return -1;
		} else if (strcmp(name, "connection") == 0) {
			conn_close |= has_token(value, "close");
			conn_keep |= has_token(value, "keep-alive");
		} else if (strcmp(name, "expect") == 0 && strcasecmp(value, "100-continue") == 0)
			req->expect_continue = 1;
	}
	req->keep_alive = req->minor >= 1 ? !conn_close : conn_keep && !conn_close;
	return 0;
}

int
replay_request_parse(const char *buf, size_t len, struct replay_request *req,
    size_t *used, int *status)
{
	size_t skip = 0, end;

	memset(req, 0, sizeof(*req));
	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	if ((end = head_end(buf + skip, len - skip)) == 0) {
		if (len >= REQUEST_HEAD_MAX) {
			*status = 431;
			return REQUEST_BAD;
		}
		return REQUEST_INCOMPLETE;
	}
	if (end > REQUEST_HEAD_MAX) {
		*status = 431;
		return REQUEST_BAD;
	}
	if ((req->head = strndup(buf + skip, end)) == NULL) {
		*status = 500;
		return REQUEST_BAD;
	}
	if (memchr(buf + skip, '\0', end) != NULL || parse_head(req, status) < 0) {
		if (memchr(buf + skip, '\0', end) != NULL)
			*status = 400;
		return REQUEST_BAD;
	}
	*used = skip + end;
	return REQUEST_OK;
}

void
replay_request_clear(struct replay_request *req)
{
	free(req->head);
	free(req->path);
	memset(req, 0, sizeof(*req));
}
