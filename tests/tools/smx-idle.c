// SPDX-License-Identifier: MIT
/*
 * smx-idle.c - many long-lived idle connections, for sockmux's idle test (tests/e2e/idle.sh):
 * each opens with a routed ClientHello and the server's answer, then stays silent, and is
 * checked later to be still carried both ways. One thread on one epoll per role; each role
 * raises its RLIMIT_NOFILE soft limit to the hard limit, and holds one descriptor per
 * connection (so 10 000 connections fit a 20 000-descriptor limit in each process).
 *
 * server  --listen ADDR: echoes every byte back; prints "listening ADDR", and on exit
 *         (SIGTERM) "accepted=N open=M".
 * hold    --connect ADDR --sni NAME --count N [--sources A,B,..] [--parallel P]
 *         [--timeout-s T]: opens N connections, at most P at once, each from the next source
 *         address (bound with IP_BIND_ADDRESS_NO_PORT, so ports are picked per destination),
 *         each sending a ClientHello with SNI NAME and waiting for all of it to come back.
 *         Prints "held=N failed=F p50_us= p99_us= max_us= elapsed_ms=" (set-up times, from
 *         socket() to the whole answer), then waits. SIGUSR1: every connection sends one
 *         byte and waits for it to come back; prints "answered=A of N silent=S". SIGTERM:
 *         closes every connection, prints "closed=N" and exits: 0 if every one was held (and
 *         answered, if asked), else 1.
 * probe   --connect ADDR --sni NAME --count N [--sources A]: N connections one after the
 *         other, the same hello and answer, then a close; prints "probe count=N ok= failed=
 *         p50_us= p99_us= max_us=".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "peer_common.h"

#define MAX_EVENTS	512
#define MAX_SOURCES	16
#define KEY_SIGNAL	UINT64_MAX
#define KEY_LISTEN	(UINT64_MAX - 1)

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int ep_set(int epfd, int op, int fd, uint32_t events, uint64_t key)
{
	struct epoll_event ev = { .events = events, .data.u64 = key };

	return epoll_ctl(epfd, op, fd, &ev) ? -errno : 0;
}

/* A signalfd for SIGTERM, SIGINT and SIGUSR1, which are blocked; -errno on failure. */
static int signals_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int signal_read(int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t percentile(uint32_t *v, uint64_t n, unsigned int pct)
{
	if (!n)
		return 0;
	return v[(n - 1) * pct / 100];
}

/* --- server ------------------------------------------------------------------------------ */

static int srv_listen(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (parse_addr(text, &ss, &len))
		return -EINVAL;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void srv_echo(int fd, uint64_t *open)
{
	uint8_t buf[4096];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			/* a few bytes at a time: the socket buffer always takes them */
			if (write_all(fd, buf, (size_t)n) == 0)
				continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		}
		close(fd);	/* EOF or error: closing also takes it out of the epoll */
		(*open)--;
		return;
	}
}

static int run_server(const char *addr)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t accepted = 0, open = 0;
	int lfd, sfd, epfd, n, i, fd;
	bool stop = false;

	raise_nofile();
	sfd = signals_open();
	lfd = srv_listen(addr);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || lfd < 0 || epfd < 0) {
		fprintf(stderr, "server: cannot listen on %s: %s\n", addr,
			strerror(lfd < 0 ? -lfd : errno));
		return 1;
	}
	ep_set(epfd, EPOLL_CTL_ADD, sfd, EPOLLIN, KEY_SIGNAL);
	ep_set(epfd, EPOLL_CTL_ADD, lfd, EPOLLIN, KEY_LISTEN);
	printf("listening %s\n", addr);
	fflush(stdout);
	while (!stop) {
		n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
		for (i = 0; i < n; i++) {
			uint64_t key = evs[i].data.u64;

			if (key == KEY_SIGNAL) {
				int sig = signal_read(sfd);

				stop = sig == SIGTERM || sig == SIGINT;
			} else if (key == KEY_LISTEN) {
				while ((fd = accept4(lfd, NULL, NULL,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					accepted++;
					open++;
					if (ep_set(epfd, EPOLL_CTL_ADD, fd, EPOLLIN, (uint64_t)fd)) {
						close(fd);
						open--;
					}
				}
			} else {
				srv_echo((int)key, &open);
			}
		}
	}
	printf("accepted=%" PRIu64 " open=%" PRIu64 "\n", accepted, open);
	return 0;
}

/* --- client connections ------------------------------------------------------------------ */

struct opts {
	const char *connect;
	const char *sni;
	uint64_t count;
	uint64_t parallel;
	uint64_t timeout_s;
	struct sockaddr_storage src[MAX_SOURCES];
	unsigned int n_src;
};

/* Opens a non-blocking socket towards dst from source i of o (if any) and starts connecting. */
static int open_conn(const struct opts *o, const struct sockaddr_storage *dst, socklen_t dlen,
		     uint64_t i)
{
	int fd, one = 1;

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (o->n_src) {
		const struct sockaddr_storage *s = &o->src[i % o->n_src];

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)s, s->ss_family == AF_INET6 ?
			 sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in))) {
			int err = -errno;

			close(fd);
			return err;
		}
	}
	if (connect(fd, (const struct sockaddr *)dst, dlen) && errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

enum phase { PH_NONE, PH_CONNECTING, PH_HELLO, PH_HELD, PH_ASKED, PH_ANSWERED, PH_FAILED };

struct hconn {
	int fd;
	uint32_t got;		/* bytes of the answer so far */
	uint8_t phase;
	uint64_t t0;
};

struct hold {
	const struct opts *o;
	struct sockaddr_storage dst;
	socklen_t dlen;
	uint8_t hello[4200];
	size_t hello_len;
	int epfd;
	struct hconn *c;
	uint64_t started, in_progress, held, failed, answered;
	uint32_t *lat;
};

static void hold_fail(struct hold *h, struct hconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->phase == PH_CONNECTING || c->phase == PH_HELLO)
		h->in_progress--;
	c->phase = PH_FAILED;
	h->failed++;
}

static void hold_start(struct hold *h)
{
	while (h->started < h->o->count && h->in_progress < h->o->parallel) {
		struct hconn *c = &h->c[h->started];

		c->t0 = now_us();
		c->fd = open_conn(h->o, &h->dst, h->dlen, h->started);
		h->started++;
		h->in_progress++;
		c->phase = PH_CONNECTING;
		if (c->fd < 0 || ep_set(h->epfd, EPOLL_CTL_ADD, c->fd, EPOLLOUT,
					(uint64_t)(c - h->c))) {
			hold_fail(h, c);
			continue;
		}
	}
}

/* Reads what came back; true once `want` bytes are in (compared with what was sent). */
static bool read_answer(struct hold *h, struct hconn *c, const uint8_t *sent, uint32_t want,
			bool *bad)
{
	uint8_t buf[4200];
	ssize_t n;

	while (c->got < want) {
		n = recv(c->fd, buf, want - c->got, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0 || memcmp(buf, sent + c->got, (size_t)n)) {
			*bad = true;
			return false;
		}
		c->got += n;
	}
	return true;
}

static void hold_event(struct hold *h, struct hconn *c, uint32_t events)
{
	bool bad = false;
	int err = 0;
	socklen_t len = sizeof(err);

	switch (c->phase) {
	case PH_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err ||
		    write_all(c->fd, h->hello, h->hello_len) ||
		    ep_set(h->epfd, EPOLL_CTL_MOD, c->fd, EPOLLIN, (uint64_t)(c - h->c))) {
			hold_fail(h, c);
			return;
		}
		c->phase = PH_HELLO;
		return;
	case PH_HELLO:
		if (!read_answer(h, c, h->hello, (uint32_t)h->hello_len, &bad)) {
			if (bad)
				hold_fail(h, c);
			return;
		}
		h->lat[h->held++] = (uint32_t)(now_us() - c->t0);
		h->in_progress--;
		c->phase = PH_HELD;
		c->got = 0;
		return;
	case PH_ASKED:
		if (read_answer(h, c, (const uint8_t *)"x", 1, &bad)) {
			c->phase = PH_ANSWERED;
			h->answered++;
		} else if (bad) {
			hold_fail(h, c);
		}
		return;
	default:
		/* a held connection that became readable: it was closed or reset */
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			hold_fail(h, c);
	}
}

/* Every held connection sends one byte and waits for it back (the epoll loop reads it). */
static void hold_ask(struct hold *h)
{
	for (uint64_t i = 0; i < h->started; i++) {
		struct hconn *c = &h->c[i];

		if (c->phase != PH_HELD)
			continue;
		c->got = 0;
		c->phase = PH_ASKED;
		if (send(c->fd, "x", 1, MSG_NOSIGNAL) != 1)
			hold_fail(h, c);
	}
}

static int hold_setup(struct hold *h, const struct opts *o)
{
	memset(h, 0, sizeof(*h));
	h->o = o;
	if (parse_addr(o->connect, &h->dst, &h->dlen))
		return -EINVAL;
	h->hello_len = build_hello(h->hello, o->sni, NULL);
	h->c = calloc(o->count ? o->count : 1, sizeof(*h->c));
	h->lat = calloc(o->count ? o->count : 1, sizeof(*h->lat));
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!h->c || !h->lat || h->epfd < 0)
		return -ENOMEM;
	for (uint64_t i = 0; i < o->count; i++)
		h->c[i].fd = -1;
	return 0;
}

/* Long: the hold role's loop, phases driven by signals */
static int run_hold(const struct opts *o)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t t0 = now_us(), deadline = t0 + o->timeout_s * 1000000, closed = 0;
	bool reported = false, asked = false, stop = false;
	struct hold h;
	int sfd, n, i;

	raise_nofile();
	sfd = signals_open();
	if (sfd < 0 || hold_setup(&h, o)) {
		fprintf(stderr, "hold: cannot set up\n");
		return 1;
	}
	ep_set(h.epfd, EPOLL_CTL_ADD, sfd, EPOLLIN, KEY_SIGNAL);
	while (!stop) {
		hold_start(&h);
		if (!reported && h.started == o->count && !h.in_progress) {
			qsort(h.lat, h.held, sizeof(*h.lat), cmp_u32);
			printf("held=%" PRIu64 " failed=%" PRIu64 " p50_us=%u p99_us=%u max_us=%u "
			       "elapsed_ms=%" PRIu64 "\n", h.held, h.failed,
			       percentile(h.lat, h.held, 50), percentile(h.lat, h.held, 99),
			       percentile(h.lat, h.held, 100), (now_us() - t0) / 1000);
			fflush(stdout);
			reported = true;
		}
		if (!reported && now_us() > deadline) {
			printf("held=%" PRIu64 " failed=%" PRIu64 " timeout=1 in_progress=%" PRIu64
			       "\n", h.held, h.failed, h.in_progress);
			fflush(stdout);
			reported = true;
		}
		n = epoll_wait(h.epfd, evs, MAX_EVENTS, reported ? -1 : 100);
		for (i = 0; i < n; i++) {
			uint64_t key = evs[i].data.u64;
			int sig;

			if (key != KEY_SIGNAL) {
				hold_event(&h, &h.c[key], evs[i].events);
				continue;
			}
			sig = signal_read(sfd);
			if (sig == SIGUSR1 && !asked) {
				asked = true;
				hold_ask(&h);
				/* answers come through the loop; report once all are in or 10 s */
				for (uint64_t end = now_us() + 10000000;
				     h.answered + h.failed < o->count && now_us() < end;) {
					struct epoll_event e2[MAX_EVENTS];
					int m = epoll_wait(h.epfd, e2, MAX_EVENTS, 100);

					for (int j = 0; j < m; j++)
						if (e2[j].data.u64 != KEY_SIGNAL)
							hold_event(&h, &h.c[e2[j].data.u64],
								   e2[j].events);
				}
				printf("answered=%" PRIu64 " of %" PRIu64 " silent=%" PRIu64 "\n",
				       h.answered, h.held, h.held - h.answered);
				fflush(stdout);
			} else if (sig == SIGTERM || sig == SIGINT) {
				stop = true;
			}
		}
	}
	for (uint64_t k = 0; k < h.started; k++) {
		if (h.c[k].fd >= 0) {
			close(h.c[k].fd);
			closed++;
		}
	}
	printf("closed=%" PRIu64 "\n", closed);
	return h.held == o->count && (!asked || h.answered == o->count) ? 0 : 1;
}

/* One connection, blocking with a 5 s timeout: hello out, all of it back; its time or 0. */
static uint32_t probe_one(const struct opts *o, const struct sockaddr_storage *dst,
			  socklen_t dlen, const uint8_t *hello, size_t len, uint64_t i)
{
	uint64_t t0 = now_us();
	uint8_t buf[4200];
	size_t got = 0;
	struct pollfd p;
	int fd;

	fd = open_conn(o, dst, dlen, i);
	if (fd < 0)
		return 0;
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, 5000) != 1 || write_all(fd, hello, len))
		goto out_close;
	while (got < len) {
		ssize_t n;

		p.events = POLLIN;
		if (poll(&p, 1, 5000) != 1)
			goto out_close;
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n <= 0)
			goto out_close;
		got += n;
	}
	close(fd);
	if (memcmp(buf, hello, len))
		return 0;
	return (uint32_t)(now_us() - t0) + 1;

out_close:
	close(fd);
	return 0;
}

static int run_probe(const struct opts *o)
{
	struct sockaddr_storage dst;
	uint8_t hello[4200];
	uint64_t ok = 0, failed = 0;
	uint32_t *lat;
	socklen_t dlen;
	size_t len;

	if (parse_addr(o->connect, &dst, &dlen))
		return 2;
	len = build_hello(hello, o->sni, NULL);
	lat = calloc(o->count ? o->count : 1, sizeof(*lat));
	if (!lat)
		return 1;
	for (uint64_t i = 0; i < o->count; i++) {
		uint32_t t = probe_one(o, &dst, dlen, hello, len, i);

		if (t)
			lat[ok++] = t - 1;
		else
			failed++;
	}
	qsort(lat, ok, sizeof(*lat), cmp_u32);
	printf("probe count=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64 " p50_us=%u p99_us=%u "
	       "max_us=%u\n", o->count, ok, failed, percentile(lat, ok, 50),
	       percentile(lat, ok, 99), percentile(lat, ok, 100));
	free(lat);
	return failed ? 1 : 0;
}

/* --- command line ------------------------------------------------------------------------ */

static int parse_sources(const char *text, struct opts *o)
{
	char buf[1024], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&o->src[o->n_src];
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&o->src[o->n_src];

		if (o->n_src == MAX_SOURCES)
			return -1;
		memset(&o->src[o->n_src], 0, sizeof(o->src[0]));
		if (inet_pton(AF_INET, tok, &in4->sin_addr) == 1)
			in4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, tok, &in6->sin6_addr) == 1)
			in6->sin6_family = AF_INET6;
		else
			return -1;
		o->n_src++;
	}
	return 0;
}

static const char usage[] =
	"usage: smx-idle server --listen ADDR\n"
	"       smx-idle hold --connect ADDR --sni NAME --count N [--sources A,B,..]\n"
	"                     [--parallel P] [--timeout-s T]\n"
	"       smx-idle probe --connect ADDR --sni NAME --count N [--sources A]\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "sni", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "sources", required_argument, NULL, 'S' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "timeout-s", required_argument, NULL, 't' },
		{ 0 }
	};
	struct opts o = { .sni = "idle.example", .count = 1, .parallel = 200, .timeout_s = 120 };
	const char *listen_addr = NULL, *role;
	int opt;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	role = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen_addr = optarg; break;
		case 'c': o.connect = optarg; break;
		case 's': o.sni = optarg; break;
		case 'n': o.count = strtoull(optarg, NULL, 10); break;
		case 'p': o.parallel = strtoull(optarg, NULL, 10); break;
		case 't': o.timeout_s = strtoull(optarg, NULL, 10); break;
		case 'S':
			if (parse_sources(optarg, &o)) {
				fprintf(stderr, "bad --sources %s\n", optarg);
				return 2;
			}
			break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!strcmp(role, "server") && listen_addr)
		return run_server(listen_addr);
	if (!o.connect || !o.parallel) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(role, "hold"))
		return run_hold(&o);
	if (!strcmp(role, "probe"))
		return run_probe(&o);
	fputs(usage, stderr);
	return 2;
}
