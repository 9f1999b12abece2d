// SPDX-License-Identifier: MIT
/*
 * smxb-floor - the least a TCP relay can do for the connections-per-second test, to measure
 * how far below sockmux a user-space relay can go on this machine (tools/bench/cps-floor,
 * docs/bench/cps-floor.md). Not a proxy: one backend, no routing, no log, no limits, no
 * timeouts; each thread has its own SO_REUSEPORT listener and epoll. Per connection it makes
 * the system calls any relay must: accept4, epoll_ctl, recv (the first bytes, read once),
 * socket, setsockopt(TCP_NODELAY), connect, epoll_ctl, send, then per direction recv, a recv
 * that finds the EOF behind a short read, send (the FIN leaves with the bytes), shutdown;
 * close twice. It saves the segments sockmux saves (docs/ARCHITECTURE.md, "Segments per
 * connection"), at sockmux's price of two setsockopt(TCP_QUICKACK): the connect's last ACK
 * leaves with the first bytes, and the FIN with the last ones. A send the destination does not
 * take whole closes the connection (the load generator counts it as failed): it never loses
 * bytes silently, and never happens with the test's 512-byte answers.
 *
 *   smxb-floor --listen ADDR:PORT --connect ADDR:PORT [--threads N] [--shared] [--no-hold]
 *
 * --shared: one listening socket in every thread's epoll (EPOLLEXCLUSIVE), as nginx shares
 * one, instead of one per thread (SO_REUSEPORT); --no-hold: no TCP_QUICKACK calls, the
 * connect's last ACK leaves alone. Both were measured slower (docs/bench/cps-floor.md).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smxb.h"

#define FLOOR_BUF 65536
#define FIRST_MAX 4096
#define MAX_THREADS 16

struct relay {
	int fd[2];		/* [0] client, [1] backend (-1 until the first bytes came) */
	bool connected;
	bool dead;		/* closed in this batch of events: freed at its end */
	bool client_input;	/* the client's socket signalled while the backend connected */
	bool shut[2];		/* FIN passed on for direction [dir] (0: client to backend) */
	size_t first_len;
	uint8_t first[FIRST_MAX];	/* the client's first bytes, until the backend connects */
};

static struct sockaddr_storage listen_ss, backend_ss;
static socklen_t listen_len, backend_len;
static int shared_lfd = -1;	/* --shared: one listener, every thread's epoll (EPOLLEXCLUSIVE) */
static bool hold_ack = true;	/* --no-hold: the connect's last ACK leaves alone */

static void relay_close(struct relay *r)
{
	close(r->fd[0]);
	if (r->fd[1] >= 0)
		close(r->fd[1]);
	free(r);
}

/* Sends all of buf or fails: 0, or -1 (the connection is to be closed). */
static int send_whole(int fd, const void *buf, size_t len, int flags)
{
	return send(fd, buf, len, flags | MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/*
 * Moves what direction dir's source has, until it has no more for now; a short read is
 * followed by one more, so that an EOF right behind the bytes leaves with them. 0, or -1.
 */
static int pump(struct relay *r, int dir, uint8_t *buf)
{
	int from = r->fd[dir], to = r->fd[!dir];
	ssize_t n, m;

	while (!r->shut[dir]) {
		n = recv(from, buf, FLOOR_BUF, 0);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			goto eof;
		if (n < FLOOR_BUF) {
			m = recv(from, buf + n, FLOOR_BUF - n, 0);
			if (m == 0) {
				if (send_whole(to, buf, n, MSG_MORE))
					return -1;
				goto eof;
			}
			if (m < 0 && errno != EAGAIN)
				return -1;
			if (m > 0)
				n += m;
			if (send_whole(to, buf, n, 0))
				return -1;
			if (m < 0)
				return 0;
			continue;
		}
		if (send_whole(to, buf, n, 0))
			return -1;
	}
	return 0;
eof:
	shutdown(to, SHUT_WR);
	r->shut[dir] = true;
	return 0;
}

static int watch(int ep, int fd, void *tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The client's first bytes: read them, connect the backend. 0, 1 not yet, or -1. */
static int first_bytes(struct relay *r, int ep, uint32_t events)
{
	int one = 1, zero = 0;
	ssize_t n;

	n = recv(r->fd[0], r->first, sizeof(r->first), 0);
	if (n < 0 && errno == EAGAIN)
		return 1;
	if (n <= 0)
		return -1;
	r->first_len = n;
	/* more than the buffer, or a FIN behind them: read on once connected */
	r->client_input = (size_t)n == sizeof(r->first) || (events & (EPOLLRDHUP | EPOLLHUP));
	r->fd[1] = socket(backend_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd[1] < 0)
		return -1;
	setsockopt(r->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* the handshake's last ACK waits for the first bytes (quick ACKs back once they left) */
	if (hold_ack)
		setsockopt(r->fd[1], IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	if (connect(r->fd[1], (struct sockaddr *)&backend_ss, backend_len) < 0 &&
	    errno != EINPROGRESS)
		return -1;
	return watch(ep, r->fd[1], (void *)((uintptr_t)r | 1),
		     EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) ? -1 : 0;
}

/* One event on relay r's socket side. 0, or -1 when r is done (or failed). */
static int relay_event(struct relay *r, int side, uint32_t events, int ep, uint8_t *buf)
{
	int err, one = 1;

	if (r->fd[1] < 0) {
		err = first_bytes(r, ep, events);
		return err < 0 ? -1 : 0;
	}
	if (!r->connected) {
		if (side == 0) {
			/* edge-triggered: what the client sends meanwhile is read once connected */
			r->client_input = true;
			return 0;
		}
		if (!(events & EPOLLOUT) || (events & EPOLLERR))
			return events & EPOLLERR ? -1 : 0;
		r->connected = true;
		if (send_whole(r->fd[1], r->first, r->first_len, 0))
			return -1;
		if (hold_ack)
			setsockopt(r->fd[1], IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		if (r->client_input && pump(r, 0, buf))
			return -1;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		if (pump(r, side, buf))
			return -1;
	}
	return r->shut[0] && r->shut[1] ? -1 : 0;
}

static int listen_sock(void)
{
	int fd, one = 1;

	fd = socket(listen_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&listen_ss, listen_len) < 0 || listen(fd, 4096) < 0) {
		perror("smxb-floor: listen");
		exit(1);
	}
	return fd;
}

static void accept_some(int lfd, int ep)
{
	struct relay *r;
	int fd;

	for (int k = 0; k < 64; k++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		r = calloc(1, sizeof(*r));
		if (!r) {
			close(fd);
			continue;
		}
		r->fd[0] = fd;
		r->fd[1] = -1;
		if (watch(ep, fd, r, EPOLLIN | EPOLLRDHUP | EPOLLET))
			relay_close(r);
	}
}

static void *relay_thread(void *arg)
{
	struct epoll_event evs[64];
	int lfd = shared_lfd >= 0 ? shared_lfd : listen_sock(), ep = epoll_create1(EPOLL_CLOEXEC), n;
	uint8_t *buf = malloc(FLOOR_BUF);

	(void)arg;
	if (ep < 0 || !buf || watch(ep, lfd, NULL, EPOLLIN | (shared_lfd >= 0 ? EPOLLEXCLUSIVE : 0))) {
		perror("smxb-floor");
		exit(1);
	}
	for (;;) {
		struct relay *done[64];
		int n_done = 0;

		n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			uintptr_t tag = (uintptr_t)evs[i].data.ptr;
			struct relay *r = (struct relay *)(tag & ~(uintptr_t)1);

			if (!r) {
				accept_some(lfd, ep);
			} else if (!r->dead && relay_event(r, (int)(tag & 1), evs[i].events, ep, buf)) {
				/* its other socket may have an event later in this batch */
				r->dead = true;
				done[n_done++] = r;
			}
		}
		while (n_done)
			relay_close(done[--n_done]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_THREADS];
	bool shared = false;
	int threads = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			if (smxb_parse_addr(argv[++i], &listen_ss, &listen_len))
				goto usage;
		} else if (!strcmp(argv[i], "--connect") && i + 1 < argc) {
			if (smxb_parse_addr(argv[++i], &backend_ss, &backend_len))
				goto usage;
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			threads = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--shared")) {
			shared = true;
		} else if (!strcmp(argv[i], "--no-hold")) {
			hold_ack = false;
		} else {
			goto usage;
		}
	}
	if (!listen_len || !backend_len || threads < 1 || threads > MAX_THREADS)
		goto usage;
	if (shared)
		shared_lfd = listen_sock();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, relay_thread, NULL)) {
			perror("smxb-floor: pthread_create");
			return 1;
		}
	pthread_join(t[0], NULL);
	return 0;
usage:
	fprintf(stderr, "usage: smxb-floor --listen ADDR:PORT --connect ADDR:PORT [--threads N] "
			"[--shared] [--no-hold]\n");
	return 2;
}
