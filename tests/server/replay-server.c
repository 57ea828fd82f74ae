/* mdas-replay-server: a loopback HTTP/1.1 server that answers with
 * recorded responses and injected faults, so no test needs the internet.
 *
 * One thread, one poll() loop, non-blocking sockets: a delayed response
 * is a deadline, not a sleep, so hundreds of connections progress
 * together.  Every request is logged (one JSON line, flushed) as soon as
 * its head is parsed, before any delay, so a test can read the log while
 * the client is still waiting.  Scenario and log formats: README.md.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cli.h"
#include "fsutil.h"
#include "generate.h"
#include "jsonw.h"
#include "log.h"
#include "request.h"
#include "scenario.h"

enum conn_state {
	CONN_READING,     /* waiting for (the rest of) a request */
	CONN_WAITING,     /* response chosen, delay_ms not yet over */
	CONN_WRITING,     /* response queued in out */
	CONN_LINGERING,   /* response sent and write side shut: draining input */
};

struct conn {
	int fd;
	unsigned long id;            /* 1, 2, ... in accept order */
	unsigned long nreq;          /* requests seen on this connection */
	enum conn_state state;
	char *in;
	size_t in_len, in_cap;
	size_t body_left;            /* request body bytes still to discard */
	char *out;
	size_t out_len, out_off, out_cap;
	int64_t due_ms;              /* CONN_WAITING: when to answer;
	                                CONN_LINGERING: when to give up */
	const struct replay_response *resp;
	struct replay_response gen;  /* a generated answer: resp points here */
	char *gen_body;
	int head_only;               /* HEAD: no body */
	int keep_alive;              /* client allows another request */
	int minor;                   /* client's HTTP/1.<minor> */
	int error_status;            /* answering a malformed request */
	int peer_eof;                /* client shut its side: answer what is buffered */
};

struct server {
	struct replay_scenario *scenario;
	FILE *log;
	const char *log_path;
	int log_failed;
	struct mdas_jsonw *w;
	int listen_fd;
	int at_fd_limit;             /* accept() hit EMFILE: wait for a close */
	struct conn **conns;
	size_t nconns, cap;
	unsigned long next_id;
	int64_t start_ms;
	long default_delay_ms;
};

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 418: return "I'm a teapot";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 451: return "Unavailable For Legal Reasons";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

static void
conn_close(struct server *srv, size_t idx, int reset)
{
	struct conn *c = srv->conns[idx];

	if (reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		/* SO_LINGER 0 makes close() send RST: the client sees
		 * "connection reset by peer" rather than a clean end. */
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c->gen_body);
	free(c);
	srv->conns[idx] = srv->conns[--srv->nconns];
	srv->at_fd_limit = 0;
}

/* Appends to the output buffer; -1 when out of memory. */
static int
out_append(struct conn *c, const char *data, size_t len)
{
	char *nbuf;
	size_t ncap;

	/* Doubling: a chunked body is appended a chunk at a time. */
	if (c->out_len + len + 1 > c->out_cap) {
		ncap = c->out_cap ? c->out_cap : 4096;
		while (ncap < c->out_len + len + 1)
			ncap *= 2;
		if ((nbuf = realloc(c->out, ncap)) == NULL)
			return -1;
		c->out = nbuf;
		c->out_cap = ncap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

static int
out_printf(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
out_printf(struct conn *c, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return out_append(c, buf, (size_t)n);
}

static const char *
default_type(const char *body, size_t len)
{
	size_t i = 0;

	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
	    body[i] == '\n'))
		i++;
	return i < len && (body[i] == '{' || body[i] == '[') ? "application/json"
	    : "text/plain";
}

/* Does this response end the connection? */
static int
closes(const struct conn *c, const struct replay_response *r)
{
	return r->close || r->truncate >= 0 || r->bad_chunked || !c->keep_alive ||
	    c->error_status != 0;
}

/* Appends n copies of ch. */
static int
out_fill(struct conn *c, int ch, size_t n)
{
	char buf[4096];
	size_t k;
	int rc = 0;

	memset(buf, ch, sizeof(buf));
	for (; n > 0 && rc == 0; n -= k) {
		k = n < sizeof(buf) ? n : sizeof(buf);
		rc = out_append(c, buf, k);
	}
	return rc;
}

/* The body as chunks of up to CHUNK bytes; bad_chunked sends the first
 * chunk, then a size line that is not hexadecimal. */
#define CHUNK 1000

static int
out_chunked(struct conn *c, const struct replay_response *r)
{
	size_t off = 0, k;
	int rc = 0;

	while (off < r->body_len && rc == 0) {
		k = r->body_len - off < CHUNK ? r->body_len - off : CHUNK;
		rc |= out_printf(c, "%zx\r\n", k);
		rc |= out_append(c, r->body + off, k);
		rc |= out_append(c, "\r\n", 2);
		off += k;
		if (r->bad_chunked)
			return rc | out_append(c, "zz-not-hex\r\n", 12);
	}
	if (r->bad_chunked)
		return rc | out_append(c, "zz-not-hex\r\n", 12);
	return rc | out_append(c, "0\r\n\r\n", 5);
}

static int
build_response(struct conn *c, const struct replay_response *r)
{
	size_t i, send_len;
	int rc = 0;

	c->out_len = c->out_off = 0;
	rc |= out_printf(c, "HTTP/1.1 %d %s\r\n", r->status, reason(r->status));
	for (i = 0; i < r->nheaders; i++) {
		rc |= out_append(c, r->headers[i].name, strlen(r->headers[i].name));
		rc |= out_append(c, ": ", 2);
		rc |= out_append(c, r->headers[i].value, strlen(r->headers[i].value));
		rc |= out_append(c, "\r\n", 2);
	}
	if (r->header_bytes > 0) {
		rc |= out_append(c, "X-Padding: ", 11);
		rc |= out_fill(c, 'a', (size_t)r->header_bytes);
		rc |= out_append(c, "\r\n", 2);
	}
	for (i = 0; i < (size_t)r->header_count; i++)
		rc |= out_printf(c, "X-Pad-%zu: %zu\r\n", i, i);
	if (r->chunked)
		rc |= out_printf(c, "Transfer-Encoding: chunked\r\n");
	else if (!r->has_content_length)
		rc |= out_printf(c, "Content-Length: %zu\r\n", r->body_len);
	if (!r->has_content_type)
		rc |= out_printf(c, "Content-Type: %s\r\n", default_type(r->body, r->body_len));
	/* A truncation imitates a connection dropped mid-body, so it does not
	 * warn the client with Connection: close. */
	if (r->truncate < 0 && closes(c, r))
		rc |= out_printf(c, "Connection: close\r\n");
	else if (r->truncate < 0 && c->minor == 0)
		rc |= out_printf(c, "Connection: keep-alive\r\n");
	rc |= out_append(c, "\r\n", 2);
	send_len = r->truncate >= 0 && (size_t)r->truncate < r->body_len
	    ? (size_t)r->truncate : r->body_len;
	if (!c->head_only && r->chunked)
		rc |= out_chunked(c, r);
	else if (!c->head_only && send_len > 0)
		rc |= out_append(c, r->body, send_len);
	return rc;
}

static void
log_write(struct server *srv, const struct conn *c, const struct replay_request *req,
    long route, long seq, int status)
{
	struct mdas_jsonw *w = srv->w;
	size_t i, j;

	if (srv->log_failed)
		return;
	mdas_jsonw_begin_object(w);
	mdas_jsonw_key(w, "t_ms");
	mdas_jsonw_int(w, now_ms() - srv->start_ms);
	mdas_jsonw_key(w, "conn");
	mdas_jsonw_int(w, (int64_t)c->id);
	mdas_jsonw_key(w, "req_on_conn");
	mdas_jsonw_int(w, (int64_t)c->nreq);
	mdas_jsonw_key(w, "method");
	mdas_jsonw_string(w, req->method);
	mdas_jsonw_key(w, "target");
	mdas_jsonw_string(w, req->target);
	mdas_jsonw_key(w, "path");
	mdas_jsonw_string(w, req->path);
	mdas_jsonw_key(w, "query");
	mdas_jsonw_string(w, req->query);
	mdas_jsonw_key(w, "headers");
	mdas_jsonw_begin_object(w);
	/* A repeated header becomes one key, its values joined as HTTP
	 * allows, so the log stays valid JSON with unique keys. */
	for (i = 0; i < req->nheaders; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(req->headers[j].name, req->headers[i].name) == 0)
				break;
		if (j < i)
			continue;
		mdas_jsonw_key(w, req->headers[i].name);
		{
			char *joined = strdup(req->headers[i].value);

			for (j = i + 1; j < req->nheaders && joined != NULL; j++) {
				if (strcmp(req->headers[j].name, req->headers[i].name) != 0)
					continue;
				char *more;

				if (asprintf(&more, "%s%s%s", joined,
				    strcmp(req->headers[i].name, "cookie") == 0 ? "; " : ", ",
				    req->headers[j].value) < 0)
					more = NULL;
				free(joined);
				joined = more;
			}
			mdas_jsonw_string(w, joined);
			free(joined);
		}
	}
	mdas_jsonw_end_object(w);
	mdas_jsonw_key(w, "route");
	if (route >= 0)
		mdas_jsonw_int(w, route);
	else
		mdas_jsonw_null(w);
	mdas_jsonw_key(w, "seq");
	if (seq >= 0)
		mdas_jsonw_int(w, seq);
	else
		mdas_jsonw_null(w);
	mdas_jsonw_key(w, "status");
	if (status > 0)
		mdas_jsonw_int(w, status);
	else
		mdas_jsonw_null(w);
	mdas_jsonw_end_object(w);
	if (mdas_jsonw_write_line(w, srv->log) < 0 || fflush(srv->log) != 0) {
		mdas_errorx("%s: %s", srv->log_path, strerror(errno));
		srv->log_failed = 1;
	}
}

/* How long a closing connection keeps reading what the client still
 * sends before the descriptor is closed. */
#define LINGER_MS 2000

/* Ends a connection after its last response.  Closing a socket with
 * unread input makes the kernel send RST, and an RST can destroy the
 * response still queued at the client; so the write side is shut (the
 * client sees EOF after the response) and input is drained until the
 * client closes too, or LINGER_MS passes.  Returns 1 when closed now. */
static int
conn_finish(struct server *srv, size_t idx)
{
	struct conn *c = srv->conns[idx];

	if (shutdown(c->fd, SHUT_WR) < 0) {
		conn_close(srv, idx, 0);
		return 1;
	}
	c->state = CONN_LINGERING;
	c->due_ms = now_ms() + LINGER_MS;
	c->in_len = 0;
	c->body_left = 0;
	return 0;
}

/* CONN_LINGERING and readable: discard; close at EOF or error. */
static void
conn_drain(struct server *srv, size_t idx)
{
	struct conn *c = srv->conns[idx];
	char buf[16384];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(srv, idx, 0);
		return;
	}
}

/* Sends what can be sent now.  Returns 1 when the connection was closed
 * (finished or failed), else 0. */
static int
conn_flush(struct server *srv, size_t idx)
{
	struct conn *c = srv->conns[idx];
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			mdas_debug("conn %lu: send: %s", c->id, strerror(errno));
			conn_close(srv, idx, 0);
			return 1;
		}
		c->out_off += (size_t)n;
	}
	if (closes(c, c->resp))
		return conn_finish(srv, idx);
	c->out_len = c->out_off = 0;
	c->resp = NULL;
	c->state = CONN_READING;
	return 0;
}

/* The delay is over (or there was none): answer.  Returns 1 when the
 * connection was closed. */
static int
conn_answer(struct server *srv, size_t idx)
{
	struct conn *c = srv->conns[idx];

	if (c->resp->reset) {
		conn_close(srv, idx, 1);
		return 1;
	}
	if (build_response(c, c->resp) < 0) {
		mdas_errorx("conn %lu: out of memory", c->id);
		conn_close(srv, idx, 1);
		return 1;
	}
	c->state = CONN_WRITING;
	return conn_flush(srv, idx);
}

static const struct replay_response *
error_response(int status)
{
	static struct replay_response r;
	static char body[64];

	memset(&r, 0, sizeof(r));
	snprintf(body, sizeof(body), "%s\n", reason(status));
	r.status = status;
	r.body = body;
	r.body_len = strlen(body);
	r.delay_ms = 0;
	r.truncate = -1;
	r.close = 1;
	return &r;
}

static void
consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Parses and dispatches as many requests as the buffer holds (one at a
 * time: the next waits until this one is answered).  Returns 1 when the
 * connection was closed. */
/* Handles the next request in the buffer, if it is complete.  Returns
 * 1 when the connection was closed, 0 when a request was dispatched (the
 * state tells what comes next), -1 when there is nothing to do yet. */
static int
next_request(struct server *srv, size_t idx)
{
	struct conn *c = srv->conns[idx];
	struct replay_request req;
	struct replay_route *rt;
	size_t used = 0, n;
	long route, seq = -1;
	int rc, status = 0;

	if (c->body_left > 0) {
		n = c->body_left < c->in_len ? c->body_left : c->in_len;
		consume(c, n);
		c->body_left -= n;
	}
	if (c->state != CONN_READING)
		return -1;
	rc = c->body_left > 0 || c->in_len == 0 ? REQUEST_INCOMPLETE
	    : replay_request_parse(c->in, c->in_len, &req, &used, &status);
	if (rc == REQUEST_INCOMPLETE) {
		/* A client that shut its side after sending (nc -N) has had
		 * every complete request answered: nothing more can come. */
		if (c->peer_eof) {
			conn_close(srv, idx, 0);
			return 1;
		}
		return -1;
	}
	c->nreq++;
	if (rc == REQUEST_BAD) {
		mdas_debug("conn %lu: bad request, answering %d", c->id, status);
		c->error_status = status;
		c->keep_alive = 0;
		c->head_only = 0;
		c->minor = 1;
		c->resp = error_response(status);
		log_write(srv, c, &req, -1, -1, status);
		replay_request_clear(&req);
		c->in_len = 0;
		return conn_answer(srv, idx);
	}
	consume(c, used);
	n = req.content_length < c->in_len ? req.content_length : c->in_len;
	consume(c, n);
	c->body_left = req.content_length - n;
	c->keep_alive = req.keep_alive;
	c->minor = req.minor;
	c->head_only = strcmp(req.method, "HEAD") == 0;

	route = replay_scenario_match(srv->scenario, req.method, req.path, req.query);
	if (route >= 0) {
		rt = &srv->scenario->routes[route];
		seq = (long)(rt->played < rt->nresponses ? rt->played : rt->nresponses - 1);
		rt->played++;
		c->resp = &rt->responses[seq];
	} else
		c->resp = &srv->scenario->fallback;
	if (c->resp->generate != GEN_NONE) {
		/* The same response with a body made for this request. */
		c->gen = *c->resp;
		free(c->gen_body);
		c->gen_body = NULL;
		if (replay_generate((enum replay_gen)c->resp->generate, req.path, req.query,
		    c->resp->hole_from_ms, c->resp->hole_to_ms, &c->gen.status, &c->gen_body, &c->gen.body_len) < 0) {
			mdas_errorx("conn %lu: out of memory", c->id);
			replay_request_clear(&req);
			conn_close(srv, idx, 1);
			return 1;
		}
		c->gen.body = c->gen_body;
		c->resp = &c->gen;
	}
	log_write(srv, c, &req, route, seq, c->resp->reset ? 0 : c->resp->status);
	mdas_debug("conn %lu: %s %s -> route %ld seq %ld", c->id, req.method,
	    req.target, route, seq);

	/* Best effort: a client that waits for 100 Continue gets it now
	 * instead of after its own timeout. */
	if (req.expect_continue && c->body_left > 0)
		(void)send(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL);
	replay_request_clear(&req);

	{
		long delay = c->resp->delay_ms >= 0 ? c->resp->delay_ms : srv->default_delay_ms;

		if (delay > 0) {
			c->state = CONN_WAITING;
			c->due_ms = now_ms() + delay;
			return 0;
		}
	}
	return conn_answer(srv, idx);
}

/* Dispatches the requests the buffer holds, one at a time (the next
 * waits until this one is answered).  A loop, not recursion, so a long
 * pipelined burst cannot exhaust the stack.  Returns 1 when the
 * connection was closed. */
static int
process_input(struct server *srv, size_t idx)
{
	int rc;

	while ((rc = next_request(srv, idx)) == 0)
		if (srv->conns[idx]->state != CONN_READING)
			return 0;
	return rc == 1;
}

/* Answers a connection whose delay is over, then whatever it pipelined
 * behind.  Returns 1 when the connection was closed. */
static int
conn_respond(struct server *srv, size_t idx)
{
	if (conn_answer(srv, idx))
		return 1;
	if (srv->conns[idx]->state == CONN_READING)
		return process_input(srv, idx);
	return 0;
}

static void
conn_read(struct server *srv, size_t idx)
{
	struct conn *c = srv->conns[idx];
	char *nbuf;
	ssize_t n;

	for (;;) {
		if (c->in_cap - c->in_len < 4096) {
			/* Unreachable in practice: the parser answers 431 to a
			 * head this long, and bodies are discarded as they come. */
			if (c->in_cap >= REQUEST_HEAD_MAX * 2) {
				conn_close(srv, idx, 1);
				return;
			}
			if ((nbuf = realloc(c->in, c->in_cap ? c->in_cap * 2 : 8192)) == NULL) {
				conn_close(srv, idx, 1);
				return;
			}
			c->in = nbuf;
			c->in_cap = c->in_cap ? c->in_cap * 2 : 8192;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == 0) {
			c->peer_eof = 1;
			break;
		}
		if (n < 0) {
			mdas_debug("conn %lu: recv: %s", c->id, strerror(errno));
			conn_close(srv, idx, 0);
			return;
		}
		c->in_len += (size_t)n;
		if (c->body_left > 0 || c->in_len >= 4096)
			break;
	}
	process_input(srv, idx);
}

static void
accept_all(struct server *srv)
{
	struct conn *c, **nconns;
	int fd, one = 1;

	for (;;) {
		fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				if (!srv->at_fd_limit)
					mdas_warn("accept: %s; waiting for a connection to close",
					    strerror(errno));
				srv->at_fd_limit = 1;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK)
				mdas_warn("accept: %s", strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (srv->nconns == srv->cap) {
			size_t ncap = srv->cap ? srv->cap * 2 : 64;

			if ((nconns = realloc(srv->conns, ncap * sizeof(*nconns))) == NULL) {
				close(fd);
				return;
			}
			srv->conns = nconns;
			srv->cap = ncap;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->id = ++srv->next_id;
		c->state = CONN_READING;
		srv->conns[srv->nconns++] = c;
		mdas_debug("conn %lu: accepted", c->id);
	}
}

static int
listen_loopback(int *port, struct mdas_error *err)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return mdas_error_errno(err, errno, "socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		mdas_error_errno(err, errno, "127.0.0.1");
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Many concurrent clients need many descriptors; take what the hard
 * limit allows. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
serve(struct server *srv, int64_t deadline, long lifetime)
{
	struct pollfd *pfds = NULL, *np;
	size_t pcap = 0, i, n;
	sigset_t block, orig;
	struct timespec ts;
	int64_t now, wake;
	int rc;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	/* Signals stay blocked except inside ppoll(), so one arriving
	 * between the check of got_signal and the wait cannot be lost. */
	sigprocmask(SIG_BLOCK, &block, &orig);

	while (!got_signal) {
		now = now_ms();
		if (now >= deadline) {
			mdas_notice("max lifetime of %ld s reached; exiting", lifetime);
			break;
		}
		/* Delays that are over are answered before waiting again. */
		for (i = 0; i < srv->nconns; ) {
			struct conn *c = srv->conns[i];

			if (c->state == CONN_LINGERING && c->due_ms <= now) {
				conn_close(srv, i, 0);
				continue;   /* slot i now holds another connection */
			}
			if (c->state == CONN_WAITING && c->due_ms <= now) {
				size_t before = srv->nconns;

				if (conn_respond(srv, i) && srv->nconns < before)
					continue;
			}
			i++;
		}
		wake = deadline;
		for (i = 0; i < srv->nconns; i++)
			if ((srv->conns[i]->state == CONN_WAITING ||
			    srv->conns[i]->state == CONN_LINGERING) &&
			    srv->conns[i]->due_ms < wake)
				wake = srv->conns[i]->due_ms;

		if (pcap < srv->nconns + 1) {
			pcap = srv->nconns + 64;
			if ((np = realloc(pfds, pcap * sizeof(*pfds))) == NULL) {
				mdas_errorx("out of memory");
				free(pfds);
				return MDAS_EXIT_FAILURE;
			}
			pfds = np;
		}
		n = srv->nconns;
		for (i = 0; i < n; i++) {
			pfds[i].fd = srv->conns[i]->fd;
			switch (srv->conns[i]->state) {
			case CONN_READING:
			case CONN_LINGERING: pfds[i].events = POLLIN; break;
			case CONN_WRITING: pfds[i].events = POLLOUT; break;
			default: pfds[i].events = 0; break;
			}
			pfds[i].revents = 0;
		}
		pfds[n].fd = srv->at_fd_limit ? -1 : srv->listen_fd;
		pfds[n].events = POLLIN;
		pfds[n].revents = 0;

		now = now_ms();
		wake = wake > now ? wake - now : 0;
		ts.tv_sec = wake / 1000;
		ts.tv_nsec = (wake % 1000) * 1000000;
		rc = ppoll(pfds, n + 1, &ts, &orig);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			mdas_errorx("poll: %s", strerror(errno));
			free(pfds);
			return MDAS_EXIT_FAILURE;
		}
		/* Walk backwards: closing swaps the last connection into the
		 * freed slot, which has then been handled already. */
		for (i = n; i-- > 0; ) {
			struct conn *c = srv->conns[i];

			if (pfds[i].revents == 0)
				continue;
			if (c->state == CONN_WRITING && (pfds[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
				if (conn_flush(srv, i) == 0 && c->state == CONN_READING)
					process_input(srv, i);
			} else if (c->state == CONN_READING &&
			    (pfds[i].revents & (POLLIN | POLLERR | POLLHUP)))
				conn_read(srv, i);
			else if (c->state == CONN_LINGERING)
				conn_drain(srv, i);
			else if (c->state == CONN_WAITING && (pfds[i].revents & (POLLERR | POLLHUP)))
				conn_close(srv, i, 0);
		}
		if (pfds[n].revents & POLLIN)
			accept_all(srv);
	}
	free(pfds);
	return MDAS_EXIT_OK;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: %s --scenario FILE --port-file FILE --log FILE [OPTION]...\n"
	    "Serve recorded HTTP responses and injected faults on 127.0.0.1 for tests.\n\n"
	    "  -s, --scenario FILE          routes and responses (JSON; see README.md)\n"
	    "  -p, --port-file FILE         write the port, once listening, to FILE\n"
	    "  -l, --log FILE               log one JSON line per request to FILE\n"
	    "  -f, --fixtures DIR           directory of relative body_file names\n"
	    "                               (default: the current directory)\n"
	    "  -m, --max-lifetime SECONDS   exit after SECONDS (default 120)\n"
	    "  -d, --default-delay-ms N     delay for responses without delay_ms\n"
	    "                               (default 0)\n"
	    "  -q, --quiet                  print errors only\n"
	    "  -v, --verbose                print debug messages\n"
	    "  -h, --help                   show this help and exit\n"
	    "  -V, --version                show the version and exit\n",
	    mdas_log_progname());
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'l' },
		{ "fixtures", required_argument, NULL, 'f' },
		{ "max-lifetime", required_argument, NULL, 'm' },
		{ "default-delay-ms", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scenario_path = NULL, *port_file = NULL, *fixtures = NULL;
	struct server srv;
	struct mdas_error err;
	struct sigaction sa;
	long lifetime = 120;
	char portbuf[16];
	int c, port = 0, rc;
	size_t i;

	mdas_log_init(argv[0]);
	memset(&srv, 0, sizeof(srv));
	srv.listen_fd = -1;
	while ((c = getopt_long(argc, argv, "s:p:l:f:m:d:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's': scenario_path = optarg; break;
		case 'p': port_file = optarg; break;
		case 'l': srv.log_path = optarg; break;
		case 'f': fixtures = optarg; break;
		case 'm':
			if (mdas_parse_long(optarg, 1, 86400, &lifetime) < 0) {
				mdas_errorx("--max-lifetime: expected seconds from 1 to 86400, got '%s'",
				    optarg);
				return MDAS_EXIT_USAGE;
			}
			break;
		case 'd':
			if (mdas_parse_long(optarg, 0, 3600000, &srv.default_delay_ms) < 0) {
				mdas_errorx("--default-delay-ms: expected 0 to 3600000, got '%s'",
				    optarg);
				return MDAS_EXIT_USAGE;
			}
			break;
		case 'q': mdas_log_set_level(MDAS_LOG_ERROR); break;
		case 'v': mdas_log_set_level(MDAS_LOG_DEBUG); break;
		case 'h': usage(stdout); return mdas_close_stdout() ? 1 : 0;
		case 'V': mdas_print_version(); return mdas_close_stdout() ? 1 : 0;
		default: usage(stderr); return MDAS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		mdas_errorx("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return MDAS_EXIT_USAGE;
	}
	if (scenario_path == NULL || port_file == NULL || srv.log_path == NULL) {
		mdas_errorx("--scenario, --port-file and --log are required");
		usage(stderr);
		return MDAS_EXIT_USAGE;
	}

	srv.start_ms = now_ms();
	if ((srv.scenario = replay_scenario_load(scenario_path, fixtures, &err)) == NULL) {
		mdas_errorx("%s", err.msg);
		return MDAS_EXIT_USAGE;
	}
	rc = MDAS_EXIT_FAILURE;
	if ((srv.log = fopen(srv.log_path, "w")) == NULL) {
		mdas_errorx("%s: %s", srv.log_path, strerror(errno));
		goto out;
	}
	if ((srv.w = mdas_jsonw_new()) == NULL) {
		mdas_errorx("out of memory");
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	raise_fd_limit();

	if ((srv.listen_fd = listen_loopback(&port, &err)) < 0) {
		mdas_errorx("%s", err.msg);
		goto out;
	}
	snprintf(portbuf, sizeof(portbuf), "%d\n", port);
	if (mdas_write_file_atomic(port_file, portbuf, strlen(portbuf), &err) < 0) {
		mdas_errorx("%s", err.msg);
		goto out;
	}
	mdas_debug("listening on 127.0.0.1:%d", port);
	rc = serve(&srv, srv.start_ms + (int64_t)lifetime * 1000, lifetime);
	if (got_signal)
		mdas_debug("signal %d: exiting", (int)got_signal);
out:
	for (i = srv.nconns; i-- > 0; )
		conn_close(&srv, i, 0);
	free(srv.conns);
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	if (srv.log != NULL && fclose(srv.log) != 0) {
		mdas_errorx("%s: %s", srv.log_path, strerror(errno));
		rc = MDAS_EXIT_FAILURE;
	}
	mdas_jsonw_free(srv.w);
	replay_scenario_free(srv.scenario);
	return rc;
}
