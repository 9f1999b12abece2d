// SPDX-License-Identifier: MIT
/*
 * handshake.c - a connection's first steps: PROXY header (accept_proxy listeners), hello,
 * route, connect, PROXY header to the backend, hand-off (handshake.h).
 *
 * The ClientHello is read with MSG_PEEK into the worker's buffer and parsed again from byte 0
 * whenever more arrives, so no per-connection buffer exists and no byte of it is taken off
 * the socket: after the hand-off, the engine carries the hello on like any other byte, in
 * order. A PROXY header in front of it (accept_proxy listeners) is peeked and parsed the same
 * way, the hello parsed behind it; both stay queued until the hand-off, where the header is
 * read off with whatever is queued behind it (see send_first_bytes()).
 */
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "config_gen.h"
#include "conn.h"
#include "daemon.h"
#include "engine.h"
#include "escape.h"
#include "handshake.h"
#include "log.h"
#include "proxy_proto.h"
#include "router.h"
#include "sniff/sniff.h"
#include "sniff/tls_hello.h"
#include "worker.h"

/* Room for the header sent: v2, IPv6, ALPN and SNI of up to 255 bytes, id, CRC32C. */
#define PP_SEND_MAX (PP2_HDR_LEN + 36 + 4 * 3 + 255 + TLS_SNI_MAX + 20 + 4)

/* The PROXY header c's backend wants into buf, *len bytes (0: none); 0 or -errno. */
static int encode_proxy_header(struct worker *w, struct conn *c, uint8_t *buf, size_t size,
			       size_t *len)
{
	const struct config_backend *b = &c->gen->cfg.backends[c->backend];
	const struct sockaddr *src = (const struct sockaddr *)&c->client.ss;
	struct addr dst = c->dst;
	struct pp2_tlvs tlvs = { 0 };
	char id[24];

	*len = 0;
	if (!b->proxy_protocol)
		return 0;
	if (!dst.len) {
		dst.len = sizeof(dst.ss);
		if (getsockname(c->fd[0], (struct sockaddr *)&dst.ss, &dst.len) < 0)
			return -errno;
	}
	if (b->proxy_protocol == 1)
		return pp1_encode(src, (const struct sockaddr *)&dst.ss, buf, size, len);
	/* the SNI, as tls_hello.c keeps it, holds only [a-z0-9._-]: escaping left it as is */
	tlvs.authority = c->sni;
	tlvs.authority_len = c->sni ? strlen(c->sni) : 0;
	tlvs.alpn = c->pp_alpn;
	tlvs.alpn_len = c->pp_alpn_len;
	snprintf(id, sizeof(id), "%" PRIu64, c->id);
	tlvs.unique_id = id;
	tlvs.unique_id_len = strlen(id);
	tlvs.crc32c = b->proxy_protocol_crc;
	return pp2_encode(src, (const struct sockaddr *)&dst.ss, &tlvs, buf, size, len);
}

/* One sendmsg() of the iov on the fresh backend socket, which must take it whole. */
static int send_whole(int fd, struct iovec *iov, int n)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	size_t total = 0;
	ssize_t sent;
	int i;

	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (!total)
		return 0;
	sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (sent < 0)
		return -errno;
	return (size_t)sent == total ? 0 : -EMSGSIZE;
}

/*
 * What the backend gets before the engine carries the rest: the PROXY header it wants. On an
 * accept_proxy listener the client's own header is read off first, and only it: the header
 * often shares a segment with the hello, and the kernel's sockmap path (tcp_read_skb())
 * hands a partly read segment to the verdict program whole, header included; the program
 * starts each direction at the socket's copied_seq and cuts what was read before
 * (bpf/sockmap.bpf.c, start_seq()); splice(2) reads from copied_seq anyway. A fresh socket's
 * send buffer takes the header whole; a short write is an internal error.
 * 0, or -errno with c->detail set.
 */
static int send_first_bytes(struct worker *w, struct conn *c)
{
	uint8_t hdr[PP_SEND_MAX];
	size_t hdr_len, taken = 0;
	struct iovec iov;
	ssize_t n;
	int err;

	err = encode_proxy_header(w, c, hdr, sizeof(hdr), &hdr_len);
	if (err) {
		c->detail = "PROXY header: cannot encode";
		return err;
	}
	/* the backend is gone already (reset as it connected): nothing can go to it */
	if (c->fail.side == 1)
		return 0;
	/* peeked whole before, so it is queued whole: one read, or a few if interrupted */
	while (taken < c->pp_in_len) {
		n = recv(c->fd[0], w->peek, c->pp_in_len - taken, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			c->detail = "reading the PROXY header off failed";
			return -errno;
		}
		if (n <= 0) {
			c->detail = "PROXY header no longer queued";
			return -EIO;
		}
		taken += (size_t)n;
	}
	iov.iov_base = hdr;
	iov.iov_len = hdr_len;
	err = send_whole(c->fd[1], &iov, 1);
	if (err == -EPIPE || err == -ECONNRESET) {
		/* reset since it connected: what it sent still goes to the client */
		worker_conn_fail(w, c, 1, err);
		return 0;
	}
	if (err)
		c->detail = "PROXY header: short write";
	return err;
}

/*
 * Gives c to the daemon's engine. c->engine is set before start(), which may already end c
 * (a peer gone in the first pump): the engine's release() then runs like for any end. An
 * engine that cannot take this connection (-EOPNOTSUPP: the sockmap takes only ESTABLISHED
 * sockets, and a peer may have sent its FIN already) leaves it untouched, and its fallback
 * carries it; the log line names the engine that did.
 */
static void handoff(struct worker *w, struct conn *c)
{
	const struct engine_ops *ops = w->d->ops;
	int err;

	list_del(&c->link);
	stats_conn_connected(&w->stats, c, now_ns());
	err = send_first_bytes(w, c);
	if (err) {
		c->err = -err;
		worker_conn_abort(w, c, END_INTERNAL);
		return;
	}
	c->state = CONN_HANDED_OFF;
	stats_conn_bytes(&w->stats, c);
	/* a side that failed before: its last bytes' deadline runs from now, not from then */
	if (c->fail.side >= 0)
		worker_conn_fail_restart(c, now_ns());
	for (;;) {
		c->engine = ops;
		err = ops->start(w, c);
		if (err != -EOPNOTSUPP || !ops->fallback)
			break;
		ops = ops->fallback;
	}
	if (err && !c->dead) {
		c->err = -err;
		if (!c->detail)
			c->detail = "engine hand-off failed";
		/* a reset, not a FIN: the other side must not take it for a whole stream */
		worker_conn_abort(w, c, END_INTERNAL);
	}
}

static void connect_failed(struct worker *w, struct conn *c, int err)
{
	c->err = err;
	c->detail = strerror(err);
	worker_conn_end(w, c, err == ECONNREFUSED ? END_CONNECT_REFUSED : END_CONNECT_ERROR);
}

static void connect_backend(struct worker *w, struct conn *c)
{
	const struct config *cfg = &c->gen->cfg;
	const struct config_backend *b = &cfg->backends[c->backend];
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
	worker_leave_hello(w, c);
	c->state = CONN_CONNECTING;
	c->connect_ns = now_ns();
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
	worker_add_deadline(&w->connecting, c);
}

void handshake_connect_event(struct worker *w, struct conn *c, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == ECONNRESET || err == EPIPE) {
		/* connected, then reset (EPIPE: after its FIN): what the backend sent before it
		 * still goes to the client; only a connect that never got through failed */
		worker_conn_fail(w, c, 1, -err);
		handoff(w, c);
		return;
	}
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

/*
 * The protocol a v2 header names: the route's ALPN entry that matched, else the client's
 * first offered one that is not GREASE; copied into c->pp_alpn. 0 or -ENOMEM.
 */
static int keep_pp_alpn(struct conn *c, const struct tls_hello *h, const struct route_result *res)
{
	const uint8_t *name = (const uint8_t *)res->alpn, *p;
	size_t pos = 0, len = res->alpn_len, plen;

	while (!name && h && tls_hello_alpn_next(h, &pos, &p, &plen)) {
		if (!tls_alpn_is_grease(p, plen)) {
			name = p;
			len = plen;
		}
	}
	if (!name || !len)
		return 0;
	c->pp_alpn = malloc(len);
	if (!c->pp_alpn)
		return -ENOMEM;
	memcpy(c->pp_alpn, name, len);
	c->pp_alpn_len = len;
	return 0;
}

/* Routes c with what the sniffers found; connects the backend or ends c. */
static void route_conn(struct worker *w, struct conn *c, const struct sniff_result *sr)
{
	const struct config *cfg = &c->gen->cfg;
	const struct tls_hello *h = sr->proto == PROTO_TLS ? &sr->u.tls : NULL;
	struct route_input in = {
		.proto = sr->proto,
		.name = sr->name,
		.alpn = sr->alpn,
		.alpn_len = sr->alpn_len,
		.src = (const struct sockaddr *)&c->client.ss,
	};
	struct route_result res;
	char alpn[512];
	long r;

	c->proto = sr->proto;
	if (sr->name)
		c->sni = escaped_dup((const uint8_t *)sr->name, sr->name_len);
	if (sr->alpn)
		c->alpn = strdup(escape_alpn_list(sr->alpn, sr->alpn_len, alpn, sizeof(alpn)));
	r = router_match(cfg, &in, &res);
	if (r < 0) {
		worker_conn_end(w, c, sr->proto == PROTO_TLS ? END_NO_ROUTE : END_NOT_TLS);
		return;
	}
	c->route = r;
	c->backend = cfg->routes[r].backend;
	stats_conn_routed(&w->stats, c, now_ns());
	if (cfg->backends[c->backend].proxy_protocol == 2 && keep_pp_alpn(c, h, &res)) {
		c->err = ENOMEM;
		c->detail = strerror(ENOMEM);
		worker_conn_end(w, c, END_INTERNAL);
		return;
	}
	connect_backend(w, c);
}

/*
 * Peeks at the client's first bytes (up to w->peek) into w->peek: their count, or 0 when
 * none is queued yet, or -1 when c was ended (the client left).
 */
static ssize_t peek_client(struct worker *w, struct conn *c)
{
	ssize_t n;

	n = recv(c->fd[0], w->peek, sizeof(w->peek), MSG_PEEK);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		c->err = errno;
		c->detail = strerror(errno);
		worker_conn_end(w, c, END_CLIENT_CLOSED);
		return -1;
	}
	if (n == 0) {
		c->detail = c->fail.side == 0 ? "reset before sending anything" :
						 "closed before sending anything";
		worker_conn_end(w, c, END_CLIENT_CLOSED);
		return -1;
	}
	return n;
}

/*
 * accept_proxy listener: parses the PROXY header at the start of the n bytes peeked (the
 * peer was found trusted at accept). From then on the header's source is the client: in
 * routing, in the header sent on and in the log line. Returns 0 once parsed
 * (c->pp_in_len set), -EAGAIN while incomplete, -EPROTO when c was ended.
 */
static int parse_proxy_header(struct worker *w, struct conn *c, size_t n, uint32_t events)
{
	struct pp_header ph;

	switch (pp_parse(w->peek, n, &ph)) {
	case PP_OK:
		break;
	case PP_BAD:
		c->detail = ph.error;
		worker_conn_end(w, c, END_BAD_PROXY);
		return -EPROTO;
	case PP_NEED_MORE:
		if (events & (EPOLLRDHUP | EPOLLHUP)) {
			c->detail = "PROXY header cut short by EOF";
			worker_conn_end(w, c, END_BAD_PROXY);
			return -EPROTO;
		}
		return -EAGAIN;
	}
	c->pp_in_len = (uint32_t)ph.len;
	if (ph.has_addr) {
		c->via = c->client;
		c->client = ph.src;
		c->dst = ph.dst;
	}
	/* the client is known now: max_connections_per_source counts it */
	if (!worker_count_source(w, c))
		return -EPROTO;
	return 0;
}

void handshake_hello_event(struct worker *w, struct conn *c, uint32_t events)
{
	struct sniff_result sr;
	enum sniff_status st;
	ssize_t n;

	/* A reset: the bytes that came before it are still routed and carried, then the reset
	 * is passed on (worker_conn_fail()); a hello cut short by it ends here. */
	if (events & EPOLLERR) {
		worker_conn_fail(w, c, 0, 0);
		events |= EPOLLRDHUP;
	}
	n = peek_client(w, c);
	if (n <= 0)
		return;
	if (c->gen->cfg.listeners[c->listener].accept_proxy && !c->pp_in_len &&
	    parse_proxy_header(w, c, (size_t)n, events))
		return;
	/* the hello starts after the PROXY header, if any, still queued in front of it */
	if ((size_t)n == c->pp_in_len) {
		if (events & (EPOLLRDHUP | EPOLLHUP)) {
			c->detail = "closed after the PROXY header";
			worker_conn_end(w, c, END_CLIENT_CLOSED);
		}
		return;
	}
	st = sniff(w->peek + c->pp_in_len, (size_t)n - c->pp_in_len, &sr);
	switch (st) {
	case SNIFF_OK:
	case SNIFF_NO:
		route_conn(w, c, &sr);
		return;
	case SNIFF_BAD:
		c->detail = sr.error;
		worker_conn_end(w, c, END_BAD_HELLO);
		return;
	case SNIFF_NEED_MORE:
		if ((size_t)n >= sizeof(w->peek)) {
			c->detail = "first bytes too large to recognise";
			worker_conn_end(w, c, END_BAD_HELLO);
		} else if (c->fail.side == 0) {
			c->detail = "reset before the first bytes were complete";
			worker_conn_end(w, c, END_CLIENT_CLOSED);
		} else if (events & (EPOLLRDHUP | EPOLLHUP)) {
			c->detail = "first bytes cut short by EOF";
			worker_conn_end(w, c, END_BAD_HELLO);
		}
		return;
	}
}

bool handshake_moved_on(struct worker *w, struct conn *c)
{
	enum conn_state st = c->state;
	struct pollfd p = { .fd = c->fd[1], .events = POLLOUT };

	if (st == CONN_HELLO)
		handshake_hello_event(w, c, 0);
	else if (st == CONN_CONNECTING && poll(&p, 1, 0) == 1)
		handshake_connect_event(w, c, EPOLLOUT | (p.revents & POLLERR ? EPOLLERR : 0));
	return c->dead || c->state != st;
}
