// SPDX-License-Identifier: MIT
/*
 * handshake.c - a routed connection's next steps (handshake.h): connect the backend, send it
 * the PROXY header it wants, hand both sockets to the engine. The steps before, from the
 * first bytes to the route, are hello.c.
 *
 * A PROXY header the client sent (accept_proxy listeners) stays queued in front of its first
 * bytes until the hand-off, where it is read off with whatever is queued behind it (see
 * send_first_bytes()).
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

#include "balance.h"
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
#include "source_bind.h"
#include "transparent.h"
#include "worker.h"

/* Room for the header sent: v2, IPv6, ALPN and SNI of up to 255 bytes, id, CRC32C. */
#define PP_SEND_MAX (PP2_HDR_LEN + 36 + 4 * 3 + 255 + TLS_SNI_MAX + 20 + 4)

/* The PROXY header c's backend wants into buf, *len bytes (0: none); 0 or -errno. */
static int encode_proxy_header(struct worker *w, struct conn *c, uint8_t *buf, size_t size,
			       size_t *len)
{
	const struct config_backend *b = &c->gen->cfg.backends[c->backend];
	const struct sockaddr *src = (const struct sockaddr *)&c->client.ss;
	struct addr dst = { 0 };
	struct pp2_tlvs tlvs = { 0 };
	char id[24];

	*len = 0;
	if (!b->proxy_protocol)
		return 0;
	if (c->proxied)
		dst = c->proxied->dst;
	if (!dst.len) {
		dst.len = sizeof(dst.ss);
		if (getsockname(c->fd[0], (struct sockaddr *)&dst.ss, &dst.len) < 0)
			return -errno;
	}
	if (b->proxy_protocol == 1)
		return pp1_encode(src, (const struct sockaddr *)&dst.ss, buf, size, len);
	/* the name, as the sniffers keep it, holds only [a-z0-9._:-]: escaping left it as is */
	tlvs.authority = c->host;
	tlvs.authority_len = c->host ? strlen(c->host) : 0;
	tlvs.alpn = c->pp_alpn;
	tlvs.alpn_len = c->pp_alpn_len;
	snprintf(id, sizeof(id), "%" PRIu64, c->id);
	tlvs.unique_id = id;
	tlvs.unique_id_len = strlen(id);
	tlvs.crc32c = b->proxy_protocol_crc;
	return pp2_encode(src, (const struct sockaddr *)&dst.ss, &tlvs, buf, size, len);
}

/* One sendmsg() of the iov on the fresh backend socket, which must take it whole. */
static int send_whole(int fd, struct iovec *iov, int n, int flags)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	size_t total = 0;
	ssize_t sent;
	int i;

	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (!total)
		return 0;
	sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT | flags);
	if (sent < 0)
		return -errno;
	return (size_t)sent == total ? 0 : -EMSGSIZE;
}

/*
 * Whether the engine's first pump, at the hand-off, sends the client's queued first bytes to
 * the backend from user space: c was routed on them (so they are queued) and the engine
 * says it does (engine_ops.sends_first_bytes; not the sockmap engine from the hand-off, whose
 * kernel path sends them later).
 */
static bool first_bytes_follow(struct worker *w, const struct conn *c)
{
	const struct engine_ops *ops = w->d->ops;

	return c->sniffed && ops->sends_first_bytes && ops->sends_first_bytes(c);
}

/*
 * When the client's first bytes go to the backend as soon as it answers the connect
 * (first_bytes_follow()), the handshake's last ACK can leave with them: one segment fewer on
 * the wire and one packet fewer for both hosts. A socket in delayed-ACK ("pingpong") mode
 * holds that ACK (tcp_rcv_synsent_state_process(), for at most TCP_DELACK_MAX) until its first
 * bytes leave. Bytes sent so soon after the SYN-ACK would keep it in that mode, where the
 * server's answer is acknowledged late, and a server that writes it in two small pieces
 * without TCP_NODELAY would wait for the delayed ACK (Nagle): handshake_first_bytes_sent(),
 * called by the engine once they left, turns quick ACKs back on, as a direct client's socket
 * has them (a PROXY header in front is held back with MSG_MORE and leaves with them too). Not
 * otherwise: bytes the kernel sends later would leave the socket in delayed-ACK mode with no
 * call after them, and a connection with nothing of the client's to send at once (a PROXY
 * header alone) would keep its server waiting for the ACK.
 */
static void hold_connect_ack(struct conn *c)
{
	int zero = 0;

	c->ack_held = !setsockopt(c->fd[1], IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
}

void handshake_first_bytes_sent(struct conn *c)
{
	int one = 1;

	if (!c->ack_held)
		return;
	c->ack_held = false;
	setsockopt(c->fd[1], IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/*
 * What the backend gets before the engine carries the rest: the PROXY header it wants. On an
 * accept_proxy listener the client's own header is read off first, and only it: the header
 * often shares a segment with the hello, and the kernel's sockmap path (tcp_read_skb())
 * hands a partly read segment to the verdict program whole, header included; the program
 * starts each direction at the socket's copied_seq and cuts what was read before
 * (bpf/sockmap.bpf.c, start_seq()); splice(2) reads from copied_seq anyway. A fresh socket's
 * send buffer takes the header whole; a short write is an internal error. When the engine
 * sends the client's first bytes right after (first_bytes_follow()), MSG_MORE holds the header
 * for them: one segment, and the server reads both at once.
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
	/* the engine's first pump sends the client's bytes next: the header leaves with them */
	err = send_whole(c->fd[1], &iov, 1, first_bytes_follow(w, c) ? MSG_MORE : 0);
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
	balance_connected(&c->gen->balance[c->backend], c->server);
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

static void try_server(struct worker *w, struct conn *c);

/* How a connection whose connect failed with err (a positive errno; 0: none tried) ends. */
static enum conn_end connect_end(int err)
{
	return err == ECONNREFUSED ? END_CONNECT_REFUSED :
	       err == ETIMEDOUT ? END_CONNECT_TIMEOUT : END_CONNECT_ERROR;
}

/*
 * The connect to c's server failed (err: a positive errno): that server is down for a while
 * (balance.h), and the next one is tried, with the client's bytes still queued unread, up to
 * the backend's retries; else c ends.
 */
static void connect_failed_why(struct worker *w, struct conn *c, int err, const char *why)
{
	const struct config_backend *b = &c->gen->cfg.backends[c->backend];
	struct backend_state *st = &c->gen->balance[c->backend];

	if (c->server >= 0) {
		balance_failed(b, st, c->server, now_ns());
		if (c->server_counted)
			balance_put(st, c->server);
		c->server_counted = false;
	}
	c->err = err;
	c->detail = why;
	/* tried holds the servers of the wrong family for a transparent connection too */
	if (c->tries <= b->retries && (size_t)__builtin_popcountll(c->tried) < b->n_servers) {
		/* closing the socket takes it out of the worker's epoll (none: no source bound) */
		if (c->fd[1] >= 0)
			close(c->fd[1]);
		c->fd[1] = -1;
		list_del(&c->link);
		try_server(w, c);
		return;
	}
	worker_conn_end(w, c, connect_end(err));
}

static void connect_failed(struct worker *w, struct conn *c, int err)
{
	connect_failed_why(w, c, err, strerror(err));
}

/*
 * The socket for c's connect to server sv: bound to the client's own address when sv is
 * transparent and the client is not on this host (transparent.h), else a plain one; *dst is
 * where to connect (a transparent connect's unmapped: no mapped address goes on the wire).
 * 0 or -errno with c->detail set.
 */
static int backend_socket(struct worker *w, struct conn *c, const struct config_server *sv,
			  struct addr *dst, int *fd)
{
	const struct sockaddr *cl = (const struct sockaddr *)&c->client.ss;
	int family = transparent_family(cl), err;

	*dst = sv->addr;
	if (sv->transparent && !transparent_is_local(&w->local, cl)) {
		transparent_unmap((const struct sockaddr *)&sv->addr.ss, dst);
		if (dst->ss.ss_family != family) {
			c->detail = family == AF_INET ? "transparent: an IPv4 client, an IPv6 server" :
							"transparent: an IPv6 client, an IPv4 server";
			c->transparent = true;
			return -EAFNOSUPPORT;
		}
		err = transparent_socket(cl, fd);
		if (!err) {
			c->transparent = true;
			return 0;
		}
		/* the address may have become the host's since the set was read: read it again */
		if ((err != -EADDRINUSE && err != -EADDRNOTAVAIL) || local_addrs_load(&w->local) ||
		    !transparent_is_local(&w->local, cl)) {
			c->detail = err == -EPERM ? "transparent: IP_TRANSPARENT not permitted "
						    "(needs CAP_NET_ADMIN or CAP_NET_RAW)" :
						    "transparent: cannot bind the client's address";
			return err;
		}
		*dst = sv->addr;
	}
	*fd = socket(dst->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		c->detail = strerror(errno);
		return -errno;
	}
	return 0;
}

/*
 * The servers c should not try: when its backend connects transparently, those of the other
 * family than the client's (an IPv4 client goes over IPv4). *strict: they may not be tried at
 * all; a client on this host is connected without transparency, so for it they are only a
 * preference.
 */
static uint64_t servers_to_skip(struct worker *w, struct conn *c,
				const struct config_backend *b, bool *strict)
{
	const struct sockaddr *cl = (const struct sockaddr *)&c->client.ss;

	*strict = false;
	if (!transparent_any(b))
		return 0;
	*strict = !transparent_is_local(&w->local, cl);
	return transparent_exclude(b, transparent_family(cl));
}

/*
 * c's connect() to its server returned err (0: connected at once, -EINPROGRESS: under way):
 * the hand-off, or the wait for it, or the next server.
 */
static void connect_issued(struct worker *w, struct conn *c, int err)
{
	const struct config *cfg = &c->gen->cfg;
	int werr;

	if (err && err != -EINPROGRESS) {
		connect_failed(w, c, -err);
		return;
	}
	/* with the engine's own events (engine_ops.watch): its hand-off needs no epoll_ctl() */
	werr = worker_watch(w, c, 1, EPOLLOUT | EPOLLET | w->d->ops->watch, EPOLL_CTL_ADD);
	if (werr) {
		connect_failed(w, c, -werr);
		return;
	}
	if (!err) {
		handoff(w, c);
		return;
	}
	c->deadline_ns = now_ns() + cfg->connect_ms * 1000000ull;
	worker_add_deadline(&w->connecting, c);
}

/*
 * c's connect to server i from one of its source addresses (source_bind.h), each connection
 * to the server starting from the next one; a server none of them reaches is a failed connect.
 */
static void connect_from_source(struct worker *w, struct conn *c, int i)
{
	const struct config_server *sv = &c->gen->cfg.backends[c->backend].servers[i];
	struct server_state *ss = c->gen->balance[c->backend].servers[i];
	struct source_bind_result res;
	unsigned int turn;
	int err;

	turn = atomic_fetch_add_explicit(&ss->source_turn, 1, memory_order_relaxed);
	c->connect_ns = now_ns();
	err = source_bind_connect(&sv->source, &sv->addr, turn, &c->fd[1], &res);
	c->source = (int16_t)res.used;
	if (res.internal) {
		c->err = -err;
		c->detail = res.detail;
		worker_conn_end(w, c, END_INTERNAL);
	} else if (err && err != -EINPROGRESS) {
		connect_failed_why(w, c, -err, res.detail);
	} else {
		connect_issued(w, c, err);
	}
}

/* Connects c to the next server of its backend (balance.h); the hand-off follows. */
static void try_server(struct worker *w, struct conn *c)
{
	const struct config *cfg = &c->gen->cfg;
	const struct config_backend *b = &cfg->backends[c->backend];
	struct backend_state *st = &c->gen->balance[c->backend];
	const struct sockaddr *cl = (const struct sockaddr *)&c->client.ss;
	uint64_t skip;
	struct addr dst;
	int fd, one = 1, err, i;
	bool strict;

	skip = servers_to_skip(w, c, b, &strict);
	/* strict: kept in tried, so that connect_failed() counts them as gone */
	if (strict)
		c->tried |= skip;
	i = balance_pick(b, st, cl, c->tried | skip, now_ns());
	if (i < 0 && skip && !strict)
		i = balance_pick(b, st, cl, c->tried, now_ns());
	if (i < 0) {
		/*
		 * Every server tried: the end is the last one's failure (c->err). Before the
		 * first try, tried holds only the servers of the wrong family: the log line
		 * then says transparent=1, it failed as a transparent connection.
		 */
		c->detail = c->tries || !c->tried ? "no server left to try" :
			    transparent_family(cl) == AF_INET ?
				    "transparent: an IPv4 client, no IPv4 server" :
				    "transparent: an IPv6 client, no IPv6 server";
		c->transparent = !c->tries && c->tried;
		worker_conn_end(w, c, connect_end(c->tries ? c->err : 0));
		return;
	}
	c->server = i;
	c->tried |= 1ull << i;
	c->tries++;
	/* what an earlier server's failure said is not this try's (tries= tells there were) */
	c->err = 0;
	c->detail = NULL;
	c->transparent = false;
	c->source = -1;
	c->ack_held = false;
	balance_take(st, i);
	c->server_counted = true;
	if (b->servers[i].source.n) {
		connect_from_source(w, c, i);
		return;
	}
	err = backend_socket(w, c, &b->servers[i], &dst, &fd);
	if (err) {
		c->err = -err;
		worker_conn_end(w, c, err == -EAFNOSUPPORT ? END_CONNECT_ERROR : END_INTERNAL);
		return;
	}
	c->fd[1] = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (first_bytes_follow(w, c))
		hold_connect_ack(c);
	c->connect_ns = now_ns();
	err = connect(fd, (const struct sockaddr *)&dst.ss, dst.len) < 0 ? -errno : 0;
	connect_issued(w, c, err);
}

static void connect_backend(struct worker *w, struct conn *c)
{
	worker_leave_hello(w, c);
	c->state = CONN_CONNECTING;
	try_server(w, c);
}

void handshake_connect_expired(struct worker *w, struct conn *c)
{
	connect_failed(w, c, ETIMEDOUT);
}

void handshake_connect_event(struct worker *w, struct conn *c, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	/*
	 * Writable without an error or a hang-up: connected (tcp_poll() reports a pending
	 * socket error as EPOLLERR), and SO_ERROR has nothing to tell; it is read otherwise.
	 */
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == EPOLLOUT) {
		handoff(w, c);
		return;
	}
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

void handshake_connect(struct worker *w, struct conn *c, const struct route_result *res,
		       const struct sniff_result *sr)
{
	const struct config *cfg = &c->gen->cfg;
	const struct tls_hello *h = sr && sr->proto == PROTO_TLS ? &sr->u.tls : NULL;

	c->route = res->route;
	c->backend = (long)cfg->routes[res->route].backend;
	stats_conn_routed(&w->stats, c, now_ns());
	if (cfg->backends[c->backend].proxy_protocol == 2 && keep_pp_alpn(c, h, res)) {
		c->err = ENOMEM;
		c->detail = strerror(ENOMEM);
		worker_conn_end(w, c, END_INTERNAL);
		return;
	}
	connect_backend(w, c);
}
