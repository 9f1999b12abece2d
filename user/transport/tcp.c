// SPDX-License-Identifier: MIT
/*
 * tcp.c - the TCP transport: a listening stream socket per configured address and worker
 * (SO_REUSEPORT, so the kernel spreads newcomers over the workers; "[::]:443" is IPv6-only,
 * as nginx does, so that "0.0.0.0:443" can be listed beside it), and accept(2) in batches:
 * each accepted socket is a connection whose first bytes the handshake reads.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admit.h"
#include "clock.h"
#include "conn.h"
#include "daemon.h"
#include "hello.h"
#include "log.h"
#include "transport.h"
#include "worker.h"
#include "worker_listen.h"

#define LISTEN_BACKLOG 4096
#define ACCEPT_BATCH 64

static int tcp_listen(const struct addr *addr)
{
	int fd, one = 1, err;
	int family = addr->ss.ss_family;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* TCP_NODELAY is inherited by every accepted socket: no call per connection */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		goto out_close;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto out_close;
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
		goto out_close;
	if (listen(fd, LISTEN_BACKLOG) < 0)
		goto out_close;
	return fd;

out_close:
	err = -errno;
	close(fd);
	return err;
}

static void tcp_accepted(struct worker *w, struct listen_sock *ls, int fd,
			 const struct sockaddr_storage *ss, socklen_t len)
{
	uint64_t id = atomic_fetch_add(&w->d->next_conn_id, 1) + 1;
	struct conn *c;
	int err;

	c = conn_new(w->gen, id, ls->index, fd, (const struct sockaddr *)ss, len);
	if (!c) {
		pr_warn("out of memory: closing a new connection");
		close(fd);
		return;
	}
	if (!admit_conn(w, c))
		return;
	/* Registering reports input already queued: the hello is read from that event. The
	 * engine's own events are asked for now (engine_ops.watch), so that its hand-off needs
	 * no epoll_ctl(); the sockmap engine keeps this mask and does not re-arm the client. */
	err = worker_watch(w, c, 0, EPOLLIN | EPOLLRDHUP | EPOLLET | w->d->ops->watch,
			   EPOLL_CTL_ADD);
	if (err) {
		c->err = -err;
		c->detail = strerror(-err);
		worker_conn_end(w, c, END_INTERNAL);
		return;
	}
	hello_first_look(w, c);
}

/*
 * Up to ACCEPT_BATCH newcomers, each after room was made for it; the rest wait for the next
 * turn of the loop (level-triggered), so one busy listener does not starve the connections.
 */
static void tcp_ready(struct worker *w, struct listen_sock *ls)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		uint64_t retry_ns;
		int fd;

		if (!admit_room(w, &retry_ns)) {
			worker_listen_pause(w, retry_ns);
			return;
		}
		fd = accept4(ls->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNABORTED || errno == EPROTO)
				continue;
			worker_listen_failed(w, ls, errno);
			return;
		}
		w->accept_backoff_ms = 0;
		tcp_accepted(w, ls, fd, &ss, len);
	}
}

const struct transport tcp_transport = {
	.name = "tcp",
	.sock_type = SOCK_STREAM,
	.listen = tcp_listen,
	.ready = tcp_ready,
};
