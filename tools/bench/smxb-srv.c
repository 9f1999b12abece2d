// SPDX-License-Identifier: MIT
/*
 * smxb-srv.c - the benchmark's backend server. Listens on every --listen address from each of
 * --threads threads (SO_REUSEPORT, one epoll each), skips each connection's ClientHello by its
 * TLS record lengths, reads the 32-byte request (smxb.h) and then sinks, sources, echoes,
 * answers, idles or reads slowly as asked. Its tag, sent back in acks and reports, is the
 * local port, so the client can check which route a proxy chose.
 *
 * usage: smxb-srv --listen ADDR [--listen ADDR ...] [--threads N]
 * Prints "listening" once every socket listens, and one "slow ..." line per slow reader.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "smxb.h"

#define MAX_LISTEN	8
#define BUF_SIZE	(256 * 1024)
#define SLOW_TICK_NS	2000000ull

enum prelude { P_REC_HDR, P_REC_BODY, P_REQ, P_RUN };

enum kind { K_LISTENER, K_CONN };

struct listener {
	enum kind kind;
	int fd;
	uint32_t tag;
};

struct conn {
	enum kind kind;
	int fd;
	uint32_t tag;
	enum prelude st;
	uint32_t rec_left;	/* bytes left in the current TLS record */
	uint32_t hs_need;	/* ClientHello length with its 4-byte header; 0 = not known yet */
	uint32_t hs_got;
	uint8_t small[8];	/* record header, handshake header */
	uint8_t small_len;
	uint8_t req_len;
	bool reported;
	struct smxb_req req;
	uint64_t t0, ws, we;	/* request arrival, window start and end */
	uint64_t win_bytes, total;
	struct conn *prev, *next;	/* in the worker's timed list (SINK report, SLOW pacing) */
};

struct worker {
	int ep;
	pthread_t thread;
	struct listener lst[MAX_LISTEN];
	int nlst;
	struct conn timed;	/* list head */
	uint8_t *buf;
};

static struct sockaddr_storage g_addr[MAX_LISTEN];
static socklen_t g_addr_len[MAX_LISTEN];
static int g_naddr;
static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;

static void timed_add(struct worker *w, struct conn *c)
{
	c->next = w->timed.next;
	c->prev = &w->timed;
	w->timed.next->prev = c;
	w->timed.next = c;
}

static void timed_del(struct conn *c)
{
	if (!c->next)
		return;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void conn_close(struct worker *w, struct conn *c)
{
	if (c->req.mode == SMXB_SLOW && c->st == P_RUN) {
		pthread_mutex_lock(&g_out);
		printf("slow tag=%u bytes=%llu secs=%.3f\n", c->tag,
		       (unsigned long long)c->total, (smxb_now_ns() - c->t0) / 1e9);
		fflush(stdout);
		pthread_mutex_unlock(&g_out);
	}
	timed_del(c);
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

static int send_ack(struct conn *c)
{
	struct smxb_ack ack = { .tag = c->tag };

	memcpy(ack.magic, SMXB_ACK_MAGIC, 4);
	return smxb_write_all(c->fd, &ack, sizeof(ack));
}

/* A small echo write that did not fit: finish it blocking; it never happens at 64 bytes. */
static int echo(struct conn *c, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

		if (k >= 0) {
			p += k;
			n -= k;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		poll(&pfd, 1, 1000);
	}
	return 0;
}

static int reply(struct conn *c)
{
	uint8_t buf[65536] = { 0 };
	struct smxb_ack ack = { .tag = c->tag };
	size_t n = c->req.reply_len;

	if (n < sizeof(ack) || n > sizeof(buf))
		return -EINVAL;
	memcpy(ack.magic, SMXB_ACK_MAGIC, 4);
	memcpy(buf, &ack, sizeof(ack));
	return smxb_write_all(c->fd, buf, n);
}

static int set_events(struct worker *w, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) ? -errno : 0;
}

/* The request is complete: start the mode. Returns 0, 1 when the connection is done, -errno. */
static int start_mode(struct worker *w, struct conn *c)
{
	c->t0 = smxb_now_ns();
	c->st = P_RUN;
	if (memcmp(c->req.magic, SMXB_REQ_MAGIC, 4))
		return -EPROTO;
	switch (c->req.mode) {
	case SMXB_SINK:
		c->ws = c->t0 + c->req.warm_ms * 1000000ull;
		c->we = c->ws + c->req.dur_ms * 1000000ull;
		timed_add(w, c);
		return 0;
	case SMXB_SOURCE:
		if (send_ack(c))
			return 1;
		return set_events(w, c, EPOLLIN | EPOLLOUT);
	case SMXB_ECHO:
		return send_ack(c) ? 1 : 0;
	case SMXB_REPLY:
		reply(c);
		return 1;
	case SMXB_IDLE:
		return send_ack(c) ? 1 : 0;
	case SMXB_SLOW:
		if (send_ack(c) || !c->req.rate)
			return 1;
		timed_add(w, c);
		return set_events(w, c, 0);
	}
	return -EPROTO;
}

/* Payload bytes that arrived after the request. */
static int on_payload(struct conn *c, const uint8_t *p, size_t n, uint64_t now)
{
	c->total += n;
	switch (c->req.mode) {
	case SMXB_SINK:
		if (now >= c->ws && now < c->we)
			c->win_bytes += n;
		return 0;
	case SMXB_ECHO:
		return echo(c, p, n);
	default:
		return 0;
	}
}

/*
 * Consumes the ClientHello records and the request from p; returns how many bytes it took,
 * or -errno on a malformed prelude.
 */
static ssize_t prelude(struct conn *c, const uint8_t *p, size_t n)
{
	size_t used = 0;

	while (used < n && c->st != P_REQ) {
		if (c->st == P_REC_HDR) {
			c->small[c->small_len++] = p[used++];
			if (c->small_len < 5)
				continue;
			if (c->small[0] != 22)
				return -EPROTO;
			c->rec_left = c->small[3] << 8 | c->small[4];
			c->small_len = 0;
			c->st = P_REC_BODY;
			continue;
		}
		/* P_REC_BODY */
		if (!c->hs_need && c->small_len < 4) {
			c->small[c->small_len++] = p[used++];
			c->rec_left--;
			c->hs_got++;
			if (c->small_len == 4)
				c->hs_need = 4 + (c->small[1] << 16 | c->small[2] << 8 | c->small[3]);
		} else {
			size_t k = n - used < c->rec_left ? n - used : c->rec_left;

			used += k;
			c->rec_left -= k;
			c->hs_got += k;
		}
		if (c->rec_left == 0) {
			c->small_len = 0;
			c->st = c->hs_need && c->hs_got >= c->hs_need ? P_REQ : P_REC_HDR;
		}
	}
	while (used < n && c->st == P_REQ && c->req_len < sizeof(c->req))
		((uint8_t *)&c->req)[c->req_len++] = p[used++];
	return used;
}

/* Returns 0 to keep the connection, nonzero to close it. */
static int on_readable(struct worker *w, struct conn *c)
{
	uint64_t now;
	ssize_t n, used = 0;
	int err;

	n = read(c->fd, w->buf, BUF_SIZE);
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : 1;
	now = smxb_now_ns();
	if (c->st != P_RUN) {
		used = prelude(c, w->buf, n);
		if (used < 0)
			return 1;
		if (c->st == P_REQ && c->req_len == sizeof(c->req)) {
			err = start_mode(w, c);
			if (err)
				return 1;
		}
	}
	if (c->st == P_RUN && used < n)
		return on_payload(c, w->buf + used, n - used, now) ? 1 : 0;
	return 0;
}

static int on_writable(struct worker *w, struct conn *c)
{
	ssize_t n = send(c->fd, w->buf, BUF_SIZE, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return 1;
	return 0;
}

static void send_report(struct conn *c)
{
	struct smxb_report r = {
		.tag = c->tag,
		.bytes = c->win_bytes,
		.window_ns = c->we - c->ws,
		.total = c->total,
	};

	memcpy(r.magic, SMXB_REPORT_MAGIC, 4);
	smxb_write_all(c->fd, &r, sizeof(r));
	c->reported = true;
}

/* SINK reports due, SLOW readers' next share; returns the epoll timeout in ms. */
static int run_timed(struct worker *w)
{
	uint64_t now = smxb_now_ns(), next = UINT64_MAX;
	struct conn *c, *nx;

	for (c = w->timed.next; c != &w->timed; c = nx) {
		nx = c->next;
		if (c->req.mode == SMXB_SINK) {
			if (now >= c->we) {
				send_report(c);
				timed_del(c);
			} else if (c->we < next) {
				next = c->we;
			}
			continue;
		}
		/* SLOW: read what the rate allows so far */
		uint64_t allowed = (uint64_t)((double)c->req.rate * (now - c->t0) / 1e9);

		while (allowed > c->total + 4096) {
			size_t want = allowed - c->total;
			ssize_t n = recv(c->fd, w->buf, want < 65536 ? want : 65536, MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				conn_close(w, c);
				c = NULL;
				break;
			}
			if (n < 0)
				break;
			c->total += n;
		}
		if (c && now + SLOW_TICK_NS < next)
			next = now + SLOW_TICK_NS;
	}
	if (next == UINT64_MAX)
		return -1;
	now = smxb_now_ns();
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

static void accept_all(struct worker *w, struct listener *l)
{
	int one = 1;

	for (int i = 0; i < 256; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->kind = K_CONN;
		c->fd = fd;
		c->tag = l->tag;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.data.ptr = c;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
		}
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	int timeout = -1;

	for (;;) {
		int n = epoll_wait(w->ep, evs, 256, timeout);

		for (int i = 0; i < n; i++) {
			enum kind *k = evs[i].data.ptr;
			struct conn *c;
			int done = 0;

			if (*k == K_LISTENER) {
				accept_all(w, (struct listener *)k);
				continue;
			}
			c = (struct conn *)k;
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				done = on_readable(w, c);
			if (!done && (evs[i].events & EPOLLOUT))
				done = on_writable(w, c);
			if (done)
				conn_close(w, c);
		}
		timeout = run_timed(w);
	}
	return NULL;
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 65535)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int worker_init(struct worker *w)
{
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->buf = malloc(BUF_SIZE);
	if (w->ep < 0 || !w->buf)
		return -ENOMEM;
	memset(w->buf, 0x5a, BUF_SIZE);
	w->timed.next = w->timed.prev = &w->timed;
	for (int i = 0; i < g_naddr; i++) {
		struct listener *l = &w->lst[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
		int fd = listen_on(&g_addr[i], g_addr_len[i]);

		if (fd < 0)
			return fd;
		l->kind = K_LISTENER;
		l->fd = fd;
		l->tag = ntohs(((struct sockaddr_in *)&g_addr[i])->sin_port);
		if (g_addr[i].ss_family == AF_INET6)
			l->tag = ntohs(((struct sockaddr_in6 *)&g_addr[i])->sin6_port);
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
		w->nlst++;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: smxb-srv --listen ADDR [--listen ADDR ...] [--threads N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct worker *w;
	int nthreads = 2, opt, err;

	while ((opt = getopt_long(argc, argv, "l:t:", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (g_naddr == MAX_LISTEN ||
			    smxb_parse_addr(optarg, &g_addr[g_naddr], &g_addr_len[g_naddr])) {
				fprintf(stderr, "smxb-srv: bad --listen %s\n", optarg);
				return 2;
			}
			g_naddr++;
			break;
		case 't':
			nthreads = atoi(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!g_naddr || nthreads < 1 || nthreads > 64) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	w = calloc(nthreads, sizeof(*w));
	if (!w)
		return 1;
	for (int i = 0; i < nthreads; i++) {
		err = worker_init(&w[i]);
		if (err) {
			fprintf(stderr, "smxb-srv: listen: %s\n", strerror(-err));
			return 1;
		}
	}
	printf("listening\n");
	fflush(stdout);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
	pthread_join(w[0].thread, NULL);
	return 0;
}
