// SPDX-License-Identifier: MIT
/*
 * handshake.c - a connection's first steps: hello, route, connect, hand-off (handshake.h).
 *
 * The ClientHello is read with MSG_PEEK into the worker's buffer and parsed again from byte 0
 * whenever more arrives, so no per-connection buffer exists and no byte is taken off the
 * socket: after the hand-off, the engine carries the hello on like any other byte, in order.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "escape.h"
#include "handshake.h"
#include "log.h"
#include "router.h"
#include "tls_hello.h"
#include "worker.h"

static void handoff(struct worker *w, struct conn *c)
{
	const struct engine_ops *ops = w->d->ops;
	int err;

	list_del(&c->link);
	c->state = CONN_SPLICED;
	err = ops->start(w, c);
	if (err) {
		c->err = -err;
		c->detail = "engine hand-off failed";
		worker_conn_end(w, c, END_INTERNAL);
		return;
	}
	c->engine = ops;
}

static void connect_failed(struct worker *w, struct conn *c, int err)
{
	c->err = err;
	c->detail = strerror(err);
	worker_conn_end(w, c, err == ECONNREFUSED ? END_CONNECT_REFUSED : END_CONNECT_ERROR);
}

static void connect_backend(struct worker *w, struct conn *c)
{
	const struct sm_config *cfg = &w->d->cfg;
	const struct sm_backend *b = &cfg->backends[c->backend];
	int fd, one = 1, err;

	fd = socket(b->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->err = errno;
		c->detail = strerror(errno);
		worker_conn_end(w, c, END_INTERNAL);
		return;
	}
	c->fd[1] = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	list_del(&c->link);
	c->state = CONN_CONNECTING;
	if (connect(fd, (const struct sockaddr *)&b->addr.ss, b->addr.len) == 0) {
		err = worker_watch(w, c, 1, EPOLLOUT | EPOLLET, EPOLL_CTL_ADD);
		if (err) {
			connect_failed(w, c, -err);
			return;
		}
		handoff(w, c);
		return;
	}
	if (errno != EINPROGRESS) {
		connect_failed(w, c, errno);
		return;
	}
	err = worker_watch(w, c, 1, EPOLLOUT | EPOLLET, EPOLL_CTL_ADD);
	if (err) {
		connect_failed(w, c, -err);
		return;
	}
	c->deadline_ns = now_ns() + cfg->connect_ms * 1000000ull;
	list_add_tail(&c->link, &w->connecting);
}

void handshake_connect_event(struct worker *w, struct conn *c, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		connect_failed(w, c, err);
		return;
	}
	if (!(events & EPOLLOUT))
		return;
	handoff(w, c);
}

static char *escaped_dup(const uint8_t *s, size_t len)
{
	char buf[4 * TLS_SNI_MAX + 8];

	return strdup(escape_bytes(s, len, buf, sizeof(buf)));
}

/* Routes c with what the hello said (h NULL: not TLS); connects the backend or ends c. */
static void route_conn(struct worker *w, struct conn *c, const struct tls_hello *h)
{
	const struct sm_config *cfg = &w->d->cfg;
	struct route_input in = {
		.is_tls = h != NULL,
		.src = (const struct sockaddr *)&c->client.ss,
	};
	char alpn[512];
	long r;

	if (h && h->has_sni) {
		in.sni = h->sni;
		c->sni = escaped_dup((const uint8_t *)h->sni, h->sni_len);
	}
	if (h && h->has_alpn) {
		in.alpn = h->alpn;
		in.alpn_len = h->alpn_len;
		c->alpn = strdup(escape_alpn_list(h->alpn, h->alpn_len, alpn, sizeof(alpn)));
	}
	r = router_match(cfg, &in, NULL);
	if (r < 0) {
		worker_conn_end(w, c, h ? END_NO_ROUTE : END_NOT_TLS);
		return;
	}
	c->route = r;
	c->backend = cfg->routes[r].backend;
	connect_backend(w, c);
}

void handshake_hello_event(struct worker *w, struct conn *c, uint32_t events)
{
	struct tls_hello h;
	enum tls_hello_status st;
	ssize_t n;

	if (events & EPOLLERR) {
		c->detail = "reset before the hello";
		worker_conn_end(w, c, END_CLIENT_CLOSED);
		return;
	}
	n = recv(c->fd[0], w->peek, sizeof(w->peek), MSG_PEEK);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		c->err = errno;
		c->detail = strerror(errno);
		worker_conn_end(w, c, END_CLIENT_CLOSED);
		return;
	}
	if (n == 0) {
		c->detail = "closed before sending anything";
		worker_conn_end(w, c, END_CLIENT_CLOSED);
		return;
	}
	st = tls_hello_parse(w->peek, n, &h);
	switch (st) {
	case TLS_HELLO_OK:
		c->is_tls = true;
		route_conn(w, c, &h);
		return;
	case TLS_HELLO_NOT_TLS:
		route_conn(w, c, NULL);
		return;
	case TLS_HELLO_BAD:
		c->detail = h.error ? h.error : "malformed ClientHello";
		worker_conn_end(w, c, END_BAD_HELLO);
		return;
	case TLS_HELLO_NEED_MORE:
		if ((size_t)n >= sizeof(w->peek)) {
			c->detail = "ClientHello too large";
			worker_conn_end(w, c, END_BAD_HELLO);
		} else if (events & (EPOLLRDHUP | EPOLLHUP)) {
			c->detail = "ClientHello cut short by EOF";
			worker_conn_end(w, c, END_BAD_HELLO);
		}
		return;
	}
}
