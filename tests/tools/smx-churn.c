// SPDX-License-Identifier: MIT
/*
 * smx-churn.c - load for sockmux's leak and abuse tests: many short connections that end in
 * every way a connection can end, clients that hold connections open without finishing their
 * hello (slowloris), and a latency probe. Each role is one thread on one epoll, with
 * non-blocking sockets, so thousands of connections stay open at once; each raises its
 * RLIMIT_NOFILE soft limit to the hard limit first.
 *
 * server    accepts forever. A connection opens with an optional ClientHello (skipped by its
 *           TLS record lengths when the first byte is 0x16), then "CHURN <behaviour> <n>\n":
 *             echo       n bytes, FIN, read to EOF, close
 *             reply_rst  n bytes, then, once they all left (SIOCOUTQNSD 0), a reset
 *             rst        a reset at once
 *             close      close at once, reading nothing more
 *             hold       read and discard until the client closes
 *           Prints "listening ADDR" once it listens, and its counts on SIGUSR1 and on exit
 *           (SIGTERM/SIGINT, exit 0).
 * client    N connections, at most P open at once, cycling through a mix of behaviours (the
 *           table behaviours[] below); prints one summary line:
 *             count=N ok=X failed=Y by_behaviour=NAME:OK/TOTAL,... p50_us= p99_us= max_us=
 *             elapsed_ms= conn_per_s=
 *           "ok" counts connections that ended as their behaviour expects, whatever it is;
 *           the latencies are socket() to first reply byte of the "ok" ones. Exit status 0
 *           when every ok/ok_rst connection behaved (the others only have to end), 1 if not
 *           or on the whole-run timeout (the line then says timeout=1 and what was stuck).
 * slowloris N connections that send the first B bytes of a ClientHello that claims a full
 *           16 KiB record, then one more byte every I ms, and otherwise stay open; prints
 *           "open=N" once every connect ended, then "open=M" every second; exit 0 on SIGTERM.
 * probe     N sequential "ok" connections; prints count, ok, failed and latency percentiles.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "peer_common.h"

#define REPLY_LEN	100		/* bytes the server sends for echo and reply_rst */
#define HOLD_US		200000		/* how long a "hold" client keeps its connection */
#define PARTIAL_HELLO	20		/* bytes of a ClientHello a partial_hello client sends */
#define GARBAGE_LEN	200
#define MAX_EVENTS	512
#define MAX_SNI		1024
#define MAX_REQUEST_N	(1ull << 30)
#define SLOW_HELLO_LEN	(5 + 16384)
#define KEY_SIGNAL	UINT64_MAX	/* epoll key of the signalfd in slot-keyed roles */
#define FAILS_SHOWN	20		/* judged failures described on stderr, at most */
#define RST_WAIT_US	10000000	/* reply_rst: longest wait for the reply to leave */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	return 0;
}

/* Closes fd with a reset rather than a FIN. */
static void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Byte i of every reply; the client checks each one. */
static uint8_t reply_byte(uint64_t i)
{
	return 'a' + i % 26;
}

static int ep_set(int epfd, int op, int fd, uint32_t events, uint64_t key)
{
	struct epoll_event ev = { .events = events, .data.u64 = key };

	return epoll_ctl(epfd, op, fd, &ev) ? -errno : 0;
}

/* Blocks the given signals and returns a signalfd that reports them, or -errno. */
static int signals_open(bool usr1)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (usr1)
		sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The signal waiting on a signalfd, or 0. */
static int signal_read(int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return si.ssi_signo;
}

/* Sends buf[*off..len) without blocking: 0 once all is out, -EAGAIN if some is left, -errno. */
static int send_some(int fd, const uint8_t *buf, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = send(fd, buf + *off, len - *off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		*off += n;
	}
	return 0;
}

/* ---- server ------------------------------------------------------------------------------ */

enum srv_act { ACT_ECHO, ACT_REPLY_RST, ACT_RST, ACT_CLOSE, ACT_HOLD, ACT_NR };

static const char *const act_names[ACT_NR] = {
	[ACT_ECHO] = "echo", [ACT_REPLY_RST] = "reply_rst", [ACT_RST] = "rst",
	[ACT_CLOSE] = "close", [ACT_HOLD] = "hold",
};

enum srv_phase {
	SRV_FIRST,	/* nothing read yet: a ClientHello or the request line? */
	SRV_REC_HDR,	/* in a TLS record header */
	SRV_REC_BODY,	/* in a TLS record's body */
	SRV_LINE,	/* in the request line */
	SRV_REPLY,	/* writing the reply */
	SRV_RST_WAIT,	/* reply written: waiting for it to leave before the reset */
	SRV_DRAIN,	/* reading and discarding until EOF */
};

enum srv_feed { FEED_MORE, FEED_DONE, FEED_BAD };

struct srv_conn {
	struct srv_conn *prev, *next;	/* every open connection, to free them at exit */
	struct srv_conn *wait_prev, *wait_next;	/* in SRV_RST_WAIT */
	uint64_t wait_until;
	int fd;
	enum srv_phase phase;
	enum srv_act act;
	bool want_out;			/* registered for EPOLLOUT rather than EPOLLIN */
	uint8_t rec_hdr[5], hs_hdr[4];
	unsigned int rec_hdr_len, hs_hdr_len;
	size_t rec_left;		/* bytes of the current record still to skip */
	size_t hs_got;			/* bytes of the handshake message skipped so far */
	char line[64];
	unsigned int line_len;
	uint64_t reply_len, reply_done;
};

/*
 * A connection's epoll key is its address: it is only ever ended from its own event or after
 * the batch, so no key later in a batch names a freed one.
 */
struct srv {
	int epfd, lfd, sfd;		/* &lfd and &sfd are their epoll keys */
	struct srv_conn *conns;
	struct srv_conn *rst_wait;	/* replies waiting to leave before their reset */
	uint64_t accept_resume;		/* accepting paused (out of descriptors) until then */
	uint64_t accepted, open, bad, cut, reqs[ACT_NR];
	uint8_t pattern[4096 + 26];	/* the reply, from any offset modulo 26 */
};

static void srv_print(const struct srv *s)
{
	printf("server accepted=%" PRIu64 " open=%" PRIu64 " bad=%" PRIu64 " cut=%" PRIu64,
	       s->accepted, s->open, s->bad, s->cut);
	for (int i = 0; i < ACT_NR; i++)
		printf("%s%s:%" PRIu64, i ? "," : " requests=", act_names[i], s->reqs[i]);
	printf("\n");
	fflush(stdout);
}

static void srv_wait_unlink(struct srv *s, struct srv_conn *c)
{
	if (c->wait_prev)
		c->wait_prev->wait_next = c->wait_next;
	else
		s->rst_wait = c->wait_next;
	if (c->wait_next)
		c->wait_next->wait_prev = c->wait_prev;
}

static void srv_end(struct srv *s, struct srv_conn *c, bool rst)
{
	if (c->phase == SRV_RST_WAIT)
		srv_wait_unlink(s, c);
	if (rst)
		close_rst(c->fd);
	else
		close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->open--;
	free(c);
}

static bool srv_parse_request(struct srv_conn *c)
{
	char name[16];
	unsigned long long n;
	int end = 0;

	if (sscanf(c->line, "CHURN %15s %llu%n", name, &n, &end) != 2 || c->line[end] ||
	    n > MAX_REQUEST_N)
		return false;
	for (int i = 0; i < ACT_NR; i++) {
		if (!strcmp(name, act_names[i])) {
			c->act = i;
			c->reply_len = n;
			return true;
		}
	}
	return false;
}

/* The TLS records of a ClientHello, by their lengths: the handshake length is in the first. */
static enum srv_feed srv_feed_tls(struct srv_conn *c, const uint8_t *p, size_t len, size_t *i)
{
	size_t n, hs_len;

	if (c->phase == SRV_REC_HDR) {
		c->rec_hdr[c->rec_hdr_len++] = p[(*i)++];
		if (c->rec_hdr_len < sizeof(c->rec_hdr))
			return FEED_MORE;
		c->rec_hdr_len = 0;
		c->rec_left = (size_t)c->rec_hdr[3] << 8 | c->rec_hdr[4];
		if (c->rec_hdr[0] != 22 || !c->rec_left)
			return FEED_BAD;
		c->phase = SRV_REC_BODY;
		return FEED_MORE;
	}
	n = len - *i < c->rec_left ? len - *i : c->rec_left;
	for (size_t k = 0; k < n && c->hs_hdr_len < sizeof(c->hs_hdr); k++)
		c->hs_hdr[c->hs_hdr_len++] = p[*i + k];
	*i += n;
	c->rec_left -= n;
	c->hs_got += n;
	if (c->rec_left)
		return FEED_MORE;
	hs_len = (size_t)c->hs_hdr[1] << 16 | (size_t)c->hs_hdr[2] << 8 | c->hs_hdr[3];
	if (c->hs_hdr_len == 4 && c->hs_got >= 4 + hs_len)
		c->phase = SRV_LINE;
	else
		c->phase = SRV_REC_HDR;
	return FEED_MORE;
}

/* Consumes opener bytes; FEED_DONE once the request line is in (what follows is ignored). */
static enum srv_feed srv_feed(struct srv_conn *c, const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		switch (c->phase) {
		case SRV_FIRST:
			c->phase = p[i] == 22 ? SRV_REC_HDR : SRV_LINE;
			break;
		case SRV_REC_HDR:
		case SRV_REC_BODY:
			if (srv_feed_tls(c, p, len, &i) == FEED_BAD)
				return FEED_BAD;
			break;
		case SRV_LINE:
			if (p[i] == '\n') {
				c->line[c->line_len] = 0;
				return srv_parse_request(c) ? FEED_DONE : FEED_BAD;
			}
			if (c->line_len + 1 >= sizeof(c->line))
				return FEED_BAD;
			c->line[c->line_len++] = p[i++];
			break;
		default:
			return FEED_BAD;
		}
	}
	return FEED_MORE;
}

/* True once every byte written has been sent (not necessarily acknowledged). */
static bool srv_all_sent(const struct srv_conn *c)
{
	int unsent = 0;

	return ioctl(c->fd, SIOCOUTQNSD, &unsent) || !unsent;
}

/*
 * A reset discards what is not sent yet: reply_rst resets once the reply left, which on
 * loopback means the peer has it before the reset. Checked at once, then every millisecond.
 */
static void srv_rst_wait(struct srv *s, struct srv_conn *c)
{
	if (srv_all_sent(c)) {
		srv_end(s, c, true);
		return;
	}
	ep_set(s->epfd, EPOLL_CTL_MOD, c->fd, 0, (uintptr_t)c);
	c->phase = SRV_RST_WAIT;
	c->wait_until = now_us() + RST_WAIT_US;
	c->wait_prev = NULL;
	c->wait_next = s->rst_wait;
	if (c->wait_next)
		c->wait_next->wait_prev = c;
	s->rst_wait = c;
}

static void srv_check_rst_wait(struct srv *s)
{
	struct srv_conn *c = s->rst_wait, *next;
	uint64_t now = now_us();

	for (; c; c = next) {
		next = c->wait_next;
		if (srv_all_sent(c) || now >= c->wait_until)
			srv_end(s, c, true);
	}
}

static void srv_reply(struct srv *s, struct srv_conn *c)
{
	while (c->reply_done < c->reply_len) {
		uint64_t left = c->reply_len - c->reply_done;
		size_t off = c->reply_done % 26, len = left < 4096 ? left : 4096;
		ssize_t n = send(c->fd, s->pattern + off, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->want_out && !ep_set(s->epfd, EPOLL_CTL_MOD, c->fd, EPOLLOUT,
						    (uintptr_t)c))
				c->want_out = true;
			return;
		}
		if (n < 0) {
			s->cut++;
			srv_end(s, c, false);
			return;
		}
		c->reply_done += n;
	}
	if (c->act == ACT_REPLY_RST) {
		srv_rst_wait(s, c);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->phase = SRV_DRAIN;
	if (c->want_out && !ep_set(s->epfd, EPOLL_CTL_MOD, c->fd, EPOLLIN, (uintptr_t)c))
		c->want_out = false;
}

static void srv_act(struct srv *s, struct srv_conn *c)
{
	s->reqs[c->act]++;
	switch (c->act) {
	case ACT_ECHO:
	case ACT_REPLY_RST:
		c->phase = SRV_REPLY;
		srv_reply(s, c);
		break;
	case ACT_RST:
		srv_end(s, c, true);
		break;
	case ACT_CLOSE:
		srv_end(s, c, false);
		break;
	default:
		c->phase = SRV_DRAIN;
		break;
	}
}

static void srv_event(struct srv *s, struct srv_conn *c, uint32_t events)
{
	static uint8_t buf[65536];
	ssize_t n;

	if (c->phase == SRV_REPLY) {
		srv_reply(s, c);
		return;
	}
	if (c->phase == SRV_RST_WAIT) {
		/* reported whatever the mask: the peer is gone, nothing is left to wait for */
		if (events & (EPOLLERR | EPOLLHUP))
			srv_end(s, c, true);
		return;
	}
	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* a drained connection ends here normally; any other was cut short */
		if (n < 0 || c->phase != SRV_DRAIN)
			s->cut++;
		srv_end(s, c, false);
		return;
	}
	if (c->phase == SRV_DRAIN)
		return;
	switch (srv_feed(c, buf, n)) {
	case FEED_MORE:
		break;
	case FEED_BAD:
		s->bad++;
		srv_end(s, c, false);
		break;
	case FEED_DONE:
		srv_act(s, c);
		break;
	}
}

static void srv_accept(struct srv *s)
{
	for (int k = 0; k < 256; k++) {
		struct srv_conn *c;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* out of descriptors: stop listening for a while, not spin */
				if (!s->accept_resume)
					fprintf(stderr, "smx-churn: accept: %s\n", strerror(errno));
				ep_set(s->epfd, EPOLL_CTL_MOD, s->lfd, 0, (uintptr_t)&s->lfd);
				s->accept_resume = now_us() + 10000;
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close_rst(fd);
			continue;
		}
		c->fd = fd;
		if (ep_set(s->epfd, EPOLL_CTL_ADD, fd, EPOLLIN, (uintptr_t)c)) {
			close_rst(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		if (c->next)
			c->next->prev = c;
		s->conns = c;
		s->accepted++;
		s->open++;
	}
}

static int srv_listen(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (parse_addr(addr, &ss, &len))
		return -EINVAL;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Runs until SIGTERM/SIGINT; returns 0, or -errno if it could not start. */
static int srv_loop(struct srv *s)
{
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		int timeout = s->rst_wait ? 1 : s->accept_resume ? 10 : -1;
		int n = epoll_wait(s->epfd, evs, MAX_EVENTS, timeout);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			void *key = evs[i].data.ptr;

			if (key == &s->lfd) {
				srv_accept(s);
			} else if (key == &s->sfd) {
				int sig = signal_read(s->sfd);

				if (sig == SIGUSR1)
					srv_print(s);
				else if (sig)
					return 0;
			} else {
				srv_event(s, key, evs[i].events);
			}
		}
		srv_check_rst_wait(s);
		if (s->accept_resume && now_us() >= s->accept_resume &&
		    !ep_set(s->epfd, EPOLL_CTL_MOD, s->lfd, EPOLLIN, (uintptr_t)&s->lfd))
			s->accept_resume = 0;
	}
}

static int run_server(const char *addr)
{
	struct srv *s = calloc(1, sizeof(*s));
	int err, ret = 1;

	if (!s)
		return 1;
	for (size_t i = 0; i < sizeof(s->pattern); i++)
		s->pattern[i] = reply_byte(i);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		perror("smx-churn: epoll_create1");
		goto out_free;
	}
	s->lfd = srv_listen(addr);
	if (s->lfd < 0) {
		fprintf(stderr, "smx-churn: listen %s: %s\n", addr, strerror(-s->lfd));
		ret = s->lfd == -EINVAL ? 2 : 1;
		goto out_close_ep;
	}
	s->sfd = signals_open(true);
	if (s->sfd < 0) {
		fprintf(stderr, "smx-churn: signalfd: %s\n", strerror(-s->sfd));
		goto out_close_listen;
	}
	if (ep_set(s->epfd, EPOLL_CTL_ADD, s->lfd, EPOLLIN, (uintptr_t)&s->lfd) ||
	    ep_set(s->epfd, EPOLL_CTL_ADD, s->sfd, EPOLLIN, (uintptr_t)&s->sfd)) {
		perror("smx-churn: epoll_ctl");
		goto out_close_sig;
	}
	printf("listening %s\n", addr);
	fflush(stdout);
	err = srv_loop(s);
	if (err)
		fprintf(stderr, "smx-churn: epoll_wait: %s\n", strerror(-err));
	srv_print(s);
	ret = err ? 1 : 0;
	while (s->conns)
		srv_end(s, s->conns, false);
out_close_sig:
	close(s->sfd);
out_close_listen:
	close(s->lfd);
out_close_ep:
	close(s->epfd);
out_free:
	free(s);
	return ret;
}

/* ---- client and probe -------------------------------------------------------------------- */

enum beh {
	B_OK, B_OK_RST, B_SRV_RST, B_SRV_CLOSE, B_CLI_RST, B_CLI_FIN, B_CLI_RST_EARLY,
	B_CLI_CLOSE_EARLY, B_PARTIAL_HELLO, B_GARBAGE, B_HOLD, B_NR
};

static const struct behaviour {
	const char *name;
	const char *request;	/* the request line it sends after the hello, if any */
	bool judged;		/* its outcome sets the exit status */
} behaviours[B_NR] = {
	[B_OK]			= { "ok", "CHURN echo 100\n", true },
	[B_OK_RST]		= { "ok_rst", "CHURN reply_rst 100\n", true },
	[B_SRV_RST]		= { "srv_rst", "CHURN rst 0\n", false },
	[B_SRV_CLOSE]		= { "srv_close", "CHURN close 0\n", false },
	[B_CLI_RST]		= { "cli_rst", "CHURN echo 100\n", false },
	[B_CLI_FIN]		= { "cli_fin", "CHURN echo 100\n", false },
	[B_CLI_RST_EARLY]	= { "cli_rst_early", NULL, false },
	[B_CLI_CLOSE_EARLY]	= { "cli_close_early", NULL, false },
	[B_PARTIAL_HELLO]	= { "partial_hello", NULL, false },
	[B_GARBAGE]		= { "garbage", NULL, false },
	[B_HOLD]		= { "hold", "CHURN hold 0\n", false },
};

/* How a connection ended, seen from the client. */
enum cli_end {
	END_EOF,		/* read EOF */
	END_RST,		/* read a reset */
	END_LOCAL,		/* closed by the client on purpose */
	END_CONNECT_ERR,
	END_SEND_ERR,
	END_READ_ERR,		/* another read error */
	END_UNFINISHED,		/* still open at the whole-run timeout */
	END_NR
};

static const char *const end_names[END_NR] = {
	"eof", "rst", "local", "connect_err", "send_err", "read_err", "unfinished",
};

enum cli_phase { CLI_FREE, CLI_CONNECTING, CLI_SENDING, CLI_READING, CLI_HOLDING };

static const char *const phase_names[] = { "free", "connecting", "sending", "reading", "holding" };

struct cli_conn {
	int fd;
	uint32_t gen;			/* bumped at each use of the slot: stale epoll keys miss */
	uint64_t seq;			/* connection number, from 0 */
	enum beh beh;
	enum cli_phase phase;
	uint64_t t_start, t_first;	/* socket(), first reply byte */
	uint64_t hold_until;
	uint64_t got;			/* reply bytes read */
	uint16_t port;			/* local port, to find it in sockmux's log */
	bool bad_data;
	uint8_t *pending;		/* what a short send left, rare */
	size_t pending_len, pending_off;
	struct cli_conn *hold_prev, *hold_next;
};

struct cli_opts {
	const char *addr;
	uint64_t count, parallel, rate, timeout_s;
	const char *sni;
	enum beh mix[64];
	unsigned int nmix;
	bool verbose, probe;
};

struct beh_stats {
	uint64_t total, ok, ends[END_NR];
};

struct cli {
	const struct cli_opts *o;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int epfd;
	struct cli_conn *conns;		/* o->parallel slots */
	uint32_t *free_slots;
	uint64_t nfree;
	uint64_t started, finished, open, shown;
	struct beh_stats st[B_NR];
	uint32_t *lat;			/* latencies of the good "ok" connections, us */
	uint64_t nlat;
	struct cli_conn *hold_head, *hold_tail;	/* by deadline: all holds last as long */
	uint8_t hello[4096 + 9];	/* with --sni, or without a server name */
	size_t hello_len;
};

static uint64_t cli_key(const struct cli *c, const struct cli_conn *cc)
{
	return (uint64_t)cc->gen << 32 | (uint64_t)(cc - c->conns);
}

static bool cli_expected(const struct cli_conn *cc, enum cli_end end)
{
	switch (cc->beh) {
	case B_OK:
	case B_CLI_FIN:
		return end == END_EOF && cc->got == REPLY_LEN && !cc->bad_data;
	case B_OK_RST:
		return end == END_RST && cc->got == REPLY_LEN && !cc->bad_data;
	case B_SRV_RST:
	case B_SRV_CLOSE:
		return (end == END_EOF || end == END_RST) && !cc->got;
	default:
		/* it sent what it meant to and closed; a hold was not closed by the server */
		return end == END_LOCAL;
	}
}

static void cli_hold_unlink(struct cli *c, struct cli_conn *cc)
{
	if (cc->hold_prev)
		cc->hold_prev->hold_next = cc->hold_next;
	else
		c->hold_head = cc->hold_next;
	if (cc->hold_next)
		cc->hold_next->hold_prev = cc->hold_prev;
	else
		c->hold_tail = cc->hold_prev;
	cc->hold_prev = cc->hold_next = NULL;
}

/* Accounts for a connection whose descriptor the caller closed, and frees its slot. */
static void cli_finish(struct cli *c, struct cli_conn *cc, enum cli_end end, int err)
{
	struct beh_stats *st = &c->st[cc->beh];
	bool good = cli_expected(cc, end);

	st->total++;
	st->ends[end]++;
	if (good)
		st->ok++;
	if (good && cc->beh == B_OK)
		c->lat[c->nlat++] = cc->t_first - cc->t_start;
	if (!good && behaviours[cc->beh].judged && c->shown++ < FAILS_SHOWN)
		fprintf(stderr,
			"smx-churn: conn #%" PRIu64 " port=%u behaviour=%s end=%s%s%s got=%" PRIu64
			"%s after_us=%" PRIu64 "\n",
			cc->seq, cc->port, behaviours[cc->beh].name, end_names[end],
			err ? " error=" : "",
			err ? strerror(err) : "", cc->got, cc->bad_data ? " bad_data" : "",
			now_us() - cc->t_start);
	if (cc->phase == CLI_HOLDING)
		cli_hold_unlink(c, cc);
	free(cc->pending);
	cc->pending = NULL;
	cc->phase = CLI_FREE;
	cc->fd = -1;
	c->free_slots[c->nfree++] = cc - c->conns;
	c->open--;
	c->finished++;
}

static void cli_close(struct cli *c, struct cli_conn *cc, enum cli_end end, int err)
{
	close(cc->fd);
	cli_finish(c, cc, end, err);
}

/* Everything is sent: what the behaviour does next. */
static void cli_sent(struct cli *c, struct cli_conn *cc)
{
	uint32_t events = EPOLLIN;
	int err;

	switch (cc->beh) {
	case B_CLI_RST:
	case B_CLI_RST_EARLY:
		close_rst(cc->fd);
		cli_finish(c, cc, END_LOCAL, 0);
		return;
	case B_PARTIAL_HELLO:
	case B_GARBAGE:
		cli_close(c, cc, END_LOCAL, 0);
		return;
	case B_CLI_FIN:
		shutdown(cc->fd, SHUT_WR);
		cc->phase = CLI_READING;
		break;
	case B_HOLD:
		cc->phase = CLI_HOLDING;
		cc->hold_until = now_us() + HOLD_US;
		cc->hold_prev = c->hold_tail;
		if (c->hold_tail)
			c->hold_tail->hold_next = cc;
		else
			c->hold_head = cc;
		c->hold_tail = cc;
		break;
	default:
		cc->phase = CLI_READING;
		break;
	}
	err = ep_set(c->epfd, EPOLL_CTL_MOD, cc->fd, events, cli_key(c, cc));
	if (err)
		cli_close(c, cc, END_READ_ERR, -err);
}

/* Sends msg, or keeps what a short send left for EPOLLOUT. */
static void cli_send(struct cli *c, struct cli_conn *cc, const uint8_t *msg, size_t len)
{
	size_t off = 0;
	int err = send_some(cc->fd, msg, len, &off);

	if (!err) {
		cli_sent(c, cc);
		return;
	}
	if (err != -EAGAIN) {
		cli_close(c, cc, END_SEND_ERR, -err);
		return;
	}
	cc->pending = malloc(len - off);
	if (!cc->pending) {
		cli_close(c, cc, END_SEND_ERR, ENOMEM);
		return;
	}
	memcpy(cc->pending, msg + off, len - off);
	cc->pending_len = len - off;
	cc->pending_off = 0;
	cc->phase = CLI_SENDING;
}

static void cli_connected(struct cli *c, struct cli_conn *cc)
{
	const struct behaviour *b = &behaviours[cc->beh];
	uint8_t msg[sizeof(c->hello) + GARBAGE_LEN + 64];
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	size_t len = 0;

	/* sin_port and sin6_port lie at the same offset */
	if (!getsockname(cc->fd, (struct sockaddr *)&local, &local_len))
		cc->port = ntohs(((struct sockaddr_in *)&local)->sin_port);

	if (cc->beh == B_CLI_CLOSE_EARLY) {
		cli_close(c, cc, END_LOCAL, 0);
		return;
	}
	if (cc->beh == B_PARTIAL_HELLO) {
		len = c->hello_len < PARTIAL_HELLO ? c->hello_len : PARTIAL_HELLO;
		cli_send(c, cc, c->hello, len);
		return;
	}
	if (c->o->sni) {
		memcpy(msg, c->hello, c->hello_len);
		len = c->hello_len;
	}
	if (b->request) {
		memcpy(msg + len, b->request, strlen(b->request));
		len += strlen(b->request);
	}
	if (cc->beh == B_GARBAGE) {
		struct stream s = { 0 };

		stream_init(&s, cc->seq + 1);
		stream_fill(&s, msg + len, GARBAGE_LEN);
		len += GARBAGE_LEN;
	}
	if (!len) {
		cli_sent(c, cc);
		return;
	}
	cli_send(c, cc, msg, len);
}

static void cli_start(struct cli *c)
{
	struct cli_conn *cc = &c->conns[c->free_slots[--c->nfree]];
	const struct cli_opts *o = c->o;

	cc->gen++;
	cc->seq = c->started;
	cc->beh = o->mix[c->started % o->nmix];
	cc->got = 0;
	cc->port = 0;
	cc->bad_data = false;
	cc->phase = CLI_CONNECTING;
	cc->t_start = now_us();
	c->started++;
	c->open++;
	cc->fd = socket(c->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cc->fd < 0) {
		cli_finish(c, cc, END_CONNECT_ERR, errno);
		return;
	}
	if (ep_set(c->epfd, EPOLL_CTL_ADD, cc->fd, EPOLLOUT, cli_key(c, cc))) {
		cli_close(c, cc, END_CONNECT_ERR, errno);
		return;
	}
	if (!connect(cc->fd, (struct sockaddr *)&c->ss, c->sslen))
		cli_connected(c, cc);
	else if (errno != EINPROGRESS)
		cli_close(c, cc, END_CONNECT_ERR, errno);
}

static void cli_read(struct cli *c, struct cli_conn *cc)
{
	uint8_t buf[4096];
	ssize_t n = recv(cc->fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0) {
		cli_close(c, cc, END_EOF, 0);
		return;
	}
	if (n < 0) {
		cli_close(c, cc, errno == ECONNRESET ? END_RST : END_READ_ERR, errno);
		return;
	}
	if (!cc->got)
		cc->t_first = now_us();
	for (ssize_t i = 0; i < n && !cc->bad_data; i++)
		cc->bad_data = buf[i] != reply_byte(cc->got + i);
	cc->got += n;
	if (cc->got > REPLY_LEN)
		cc->bad_data = true;
}

static void cli_event(struct cli *c, struct cli_conn *cc)
{
	int err = 0;
	socklen_t len = sizeof(err);

	switch (cc->phase) {
	case CLI_CONNECTING:
		if (getsockopt(cc->fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (err)
			cli_close(c, cc, END_CONNECT_ERR, err);
		else
			cli_connected(c, cc);
		break;
	case CLI_SENDING:
		err = send_some(cc->fd, cc->pending, cc->pending_len, &cc->pending_off);
		if (!err)
			cli_sent(c, cc);
		else if (err != -EAGAIN)
			cli_close(c, cc, END_SEND_ERR, -err);
		break;
	case CLI_READING:
	case CLI_HOLDING:
		cli_read(c, cc);
		break;
	default:
		break;
	}
}

static void cli_expire_holds(struct cli *c, uint64_t now)
{
	while (c->hold_head && c->hold_head->hold_until <= now)
		cli_close(c, c->hold_head, END_LOCAL, 0);
}

/* epoll_wait's timeout, in ms: the next hold to end, the next start the rate allows. */
static int cli_wait_ms(const struct cli *c, uint64_t now, uint64_t t0, uint64_t deadline)
{
	uint64_t next = deadline;

	if (c->hold_head && c->hold_head->hold_until < next)
		next = c->hold_head->hold_until;
	if (c->o->rate && c->started < c->o->count && c->nfree) {
		uint64_t at = t0 + c->started * 1000000 / c->o->rate;

		if (at < next)
			next = at;
	}
	return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

static bool cli_may_start(const struct cli *c, uint64_t now, uint64_t t0)
{
	if (c->started >= c->o->count || !c->nfree)
		return false;
	return !c->o->rate || (now - t0) * c->o->rate >= c->started * 1000000;
}

/* Runs until every connection ended (0) or the deadline passed (-ETIMEDOUT). */
static int cli_loop(struct cli *c, uint64_t t0)
{
	uint64_t deadline = t0 + c->o->timeout_s * 1000000;
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		uint64_t now = now_us();
		int n;

		while (cli_may_start(c, now, t0))
			cli_start(c);
		if (c->started == c->o->count && !c->open)
			return 0;
		if (now >= deadline)
			return -ETIMEDOUT;
		n = epoll_wait(c->epfd, evs, MAX_EVENTS, cli_wait_ms(c, now, t0, deadline));
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t key = evs[i].data.u64;
			struct cli_conn *cc = &c->conns[(uint32_t)key];

			if (cc->gen == key >> 32 && cc->phase != CLI_FREE)
				cli_event(c, cc);
		}
		cli_expire_holds(c, now_us());
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t percentile(const uint32_t *v, uint64_t n, unsigned int pct)
{
	uint64_t rank = (n * pct + 99) / 100;

	return n ? v[rank ? rank - 1 : 0] : 0;
}

/* Closes what is still open at the timeout, says what it was doing; returns how many. */
static uint64_t cli_abandon(struct cli *c, char *stuck, size_t size)
{
	uint64_t n = 0;
	size_t used = 0;

	stuck[0] = 0;
	for (uint64_t i = 0; i < c->o->parallel; i++) {
		struct cli_conn *cc = &c->conns[i];
		int w;

		if (cc->phase == CLI_FREE)
			continue;
		w = snprintf(stuck + used, size - used, "%s%s@%s#%" PRIu64, used ? "," : "",
			     behaviours[cc->beh].name, phase_names[cc->phase], cc->seq);
		if (w > 0 && (size_t)w < size - used)
			used += w;
		close_rst(cc->fd);
		cli_finish(c, cc, END_UNFINISHED, 0);
		n++;
	}
	return n;
}

static bool cli_report(struct cli *c, uint64_t elapsed, bool timed_out, uint64_t unfinished,
		       const char *stuck)
{
	const struct cli_opts *o = c->o;
	uint64_t ok = 0;
	bool pass = !timed_out;

	for (int b = 0; b < B_NR; b++) {
		ok += c->st[b].ok;
		if (behaviours[b].judged && c->st[b].ok != c->st[b].total)
			pass = false;
		if (!o->verbose || !c->st[b].total)
			continue;
		printf("behaviour=%s total=%" PRIu64 " ok=%" PRIu64, behaviours[b].name,
		       c->st[b].total, c->st[b].ok);
		for (int e = 0; e < END_NR; e++)
			printf(" %s=%" PRIu64, end_names[e], c->st[b].ends[e]);
		printf("\n");
	}
	qsort(c->lat, c->nlat, sizeof(*c->lat), cmp_u32);
	printf("count=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64, o->count, ok, o->count - ok);
	for (int b = 0, first = 1; !o->probe && b < B_NR; b++) {
		if (!c->st[b].total)
			continue;
		printf("%s%s:%" PRIu64 "/%" PRIu64, first ? " by_behaviour=" : ",",
		       behaviours[b].name, c->st[b].ok, c->st[b].total);
		first = 0;
	}
	printf(" p50_us=%u p99_us=%u max_us=%u elapsed_ms=%" PRIu64 " conn_per_s=%" PRIu64,
	       percentile(c->lat, c->nlat, 50), percentile(c->lat, c->nlat, 99),
	       c->nlat ? c->lat[c->nlat - 1] : 0, elapsed / 1000,
	       elapsed ? (c->finished - unfinished) * 1000000 / elapsed : 0);
	if (timed_out)
		printf(" timeout=1 unfinished=%" PRIu64 " not_started=%" PRIu64 " stuck=%s",
		       unfinished, o->count - c->started, stuck[0] ? stuck : "-");
	printf("\n");
	fflush(stdout);
	return pass && (!o->probe || ok == o->count);
}

static int cli_setup(struct cli *c, const struct cli_opts *o)
{
	c->o = o;
	if (parse_addr(o->addr, &c->ss, &c->sslen))
		return -EINVAL;
	c->hello_len = build_hello(c->hello, o->sni, NULL);
	c->conns = calloc(o->parallel, sizeof(*c->conns));
	c->free_slots = calloc(o->parallel, sizeof(*c->free_slots));
	c->lat = calloc(o->count, sizeof(*c->lat));
	if (!c->conns || !c->free_slots || !c->lat)
		return -ENOMEM;
	for (uint64_t i = 0; i < o->parallel; i++) {
		c->conns[i].fd = -1;
		c->free_slots[c->nfree++] = o->parallel - 1 - i;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	return c->epfd < 0 ? -errno : 0;
}

static int run_client(const struct cli_opts *o)
{
	struct cli c = { .epfd = -1 };
	static char stuck[4096];
	uint64_t t0, unfinished = 0;
	int err, ret = 1;

	err = cli_setup(&c, o);
	if (err == -EINVAL) {
		fprintf(stderr, "smx-churn: bad address %s\n", o->addr);
		ret = 2;
		goto out_free;
	}
	if (err) {
		fprintf(stderr, "smx-churn: %s\n", strerror(-err));
		goto out_free;
	}
	t0 = now_us();
	err = cli_loop(&c, t0);
	if (err && err != -ETIMEDOUT)
		fprintf(stderr, "smx-churn: epoll_wait: %s\n", strerror(-err));
	if (err)
		unfinished = cli_abandon(&c, stuck, sizeof(stuck));
	ret = cli_report(&c, now_us() - t0, err, unfinished, stuck) ? 0 : 1;
out_free:
	if (c.epfd >= 0)
		close(c.epfd);
	free(c.conns);
	free(c.free_slots);
	free(c.lat);
	return ret;
}

/* ---- slowloris --------------------------------------------------------------------------- */

struct sl_conn {
	int fd;
	uint32_t gen;
	bool connected;
	bool tried;			/* its first connect ended, one way or the other */
	size_t sent;			/* bytes of the slow hello sent */
};

struct sl_opts {
	const char *addr;
	uint64_t count, bytes, interval_ms;
	bool reopen;
};

struct sl {
	const struct sl_opts *o;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int epfd, sfd;
	struct sl_conn *conns;
	uint64_t pending, open, connect_failed, closed_by_peer, reopened;
	uint64_t untried;		/* slots whose first connect has not ended yet */
	uint8_t hello[SLOW_HELLO_LEN];
};

/*
 * A ClientHello whose record claims the largest plaintext length, padded out with a padding
 * extension, so that every prefix of it is a well-formed hello still waiting for more bytes.
 */
static void build_slow_hello(uint8_t *out)
{
	size_t body = SLOW_HELLO_LEN - 5 - 4, ext = body - 43, i = 0;

	memset(out, 0, SLOW_HELLO_LEN);
	out[i++] = 22; out[i++] = 3; out[i++] = 1;
	out[i++] = (SLOW_HELLO_LEN - 5) >> 8; out[i++] = (SLOW_HELLO_LEN - 5) & 0xff;
	out[i++] = 1; out[i++] = body >> 16; out[i++] = body >> 8; out[i++] = body & 0xff;
	out[i++] = 3; out[i++] = 3;				/* legacy_version */
	for (int k = 0; k < 32; k++)
		out[i++] = (uint8_t)(k * 7 + 1);		/* random */
	out[i++] = 0;						/* session id */
	out[i++] = 0; out[i++] = 2; out[i++] = 0x13; out[i++] = 0x01;	/* cipher suites */
	out[i++] = 1; out[i++] = 0;				/* compression */
	out[i++] = ext >> 8; out[i++] = ext & 0xff;
	out[i++] = 0; out[i++] = 21;				/* padding, zeros */
	out[i++] = (ext - 4) >> 8; out[i++] = (ext - 4) & 0xff;
}

/* The first connect of each slot ends here or connected: then "open=" is printed. */
static void sl_tried(struct sl *s, struct sl_conn *sc)
{
	if (!sc->tried) {
		sc->tried = true;
		s->untried--;
	}
}

static void sl_close(struct sl *s, struct sl_conn *sc)
{
	sl_tried(s, sc);
	close(sc->fd);
	sc->fd = -1;
	if (sc->connected)
		s->open--;
	else
		s->pending--;
	sc->connected = false;
}

static void sl_connect(struct sl *s, struct sl_conn *sc)
{
	sc->gen++;
	sc->sent = 0;
	sc->connected = false;
	s->pending++;
	sc->fd = socket(s->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sc->fd < 0) {
		sl_tried(s, sc);
		s->pending--;
		s->connect_failed++;
		return;
	}
	if (ep_set(s->epfd, EPOLL_CTL_ADD, sc->fd, EPOLLOUT,
		   (uint64_t)sc->gen << 32 | (uint64_t)(sc - s->conns)) ||
	    (connect(sc->fd, (struct sockaddr *)&s->ss, s->sslen) && errno != EINPROGRESS)) {
		sl_close(s, sc);
		s->connect_failed++;
	}
}

/* Sends up to n more bytes of the slow hello; false if the connection is gone. */
static bool sl_send(struct sl_conn *sc, const uint8_t *hello, size_t n)
{
	size_t end = sc->sent + n > SLOW_HELLO_LEN ? SLOW_HELLO_LEN : sc->sent + n;
	int err = send_some(sc->fd, hello, end, &sc->sent);

	return !err || err == -EAGAIN;
}

static void sl_event(struct sl *s, struct sl_conn *sc)
{
	uint8_t buf[4096];
	int err = 0;
	socklen_t len = sizeof(err);
	uint64_t key = (uint64_t)sc->gen << 32 | (uint64_t)(sc - s->conns);
	ssize_t n;

	if (!sc->connected) {
		if (getsockopt(sc->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err ||
		    ep_set(s->epfd, EPOLL_CTL_MOD, sc->fd, EPOLLIN, key)) {
			sl_close(s, sc);
			s->connect_failed++;
			return;
		}
		sl_tried(s, sc);
		sc->connected = true;
		s->pending--;
		s->open++;
		if (!sl_send(sc, s->hello, s->o->bytes))
			goto closed;
		return;
	}
	n = recv(sc->fd, buf, sizeof(buf), 0);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
closed:
	sl_close(s, sc);
	s->closed_by_peer++;
	if (s->o->reopen) {
		s->reopened++;
		sl_connect(s, sc);
	}
}

static void sl_tick(struct sl *s)
{
	for (uint64_t i = 0; i < s->o->count; i++) {
		struct sl_conn *sc = &s->conns[i];

		if (!sc->connected || sl_send(sc, s->hello, 1))
			continue;
		sl_close(s, sc);
		s->closed_by_peer++;
		if (s->o->reopen) {
			s->reopened++;
			sl_connect(s, sc);
		}
	}
}

static int sl_loop(struct sl *s)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now = now_us(), next_print = 0, next_tick = UINT64_MAX;
	bool announced = false;

	if (s->o->interval_ms)
		next_tick = now + s->o->interval_ms * 1000;
	for (;;) {
		uint64_t next;
		int n;

		now = now_us();
		if (!announced && !s->untried) {
			announced = true;
			next_print = now;
		}
		if (announced && now >= next_print) {
			printf("open=%" PRIu64 "\n", s->open);
			fflush(stdout);
			next_print += 1000000;
		}
		if (now >= next_tick) {
			sl_tick(s);
			next_tick += s->o->interval_ms * 1000;
		}
		next = announced ? next_print : now + 1000000;
		if (next_tick < next)
			next = next_tick;
		n = epoll_wait(s->epfd, evs, MAX_EVENTS,
			       next <= now ? 0 : (int)((next - now + 999) / 1000));
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t key = evs[i].data.u64;
			struct sl_conn *sc;

			if (key == KEY_SIGNAL) {
				if (signal_read(s->sfd))
					return 0;
				continue;
			}
			sc = &s->conns[(uint32_t)key];
			if (sc->gen == key >> 32 && sc->fd >= 0)
				sl_event(s, sc);
		}
	}
}

static int run_slowloris(const struct sl_opts *o)
{
	struct sl *s = calloc(1, sizeof(*s));
	int err, ret = 1;

	if (!s)
		return 1;
	s->o = o;
	build_slow_hello(s->hello);
	if (parse_addr(o->addr, &s->ss, &s->sslen)) {
		fprintf(stderr, "smx-churn: bad address %s\n", o->addr);
		ret = 2;
		goto out_free;
	}
	s->conns = calloc(o->count, sizeof(*s->conns));
	if (!s->conns)
		goto out_free;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		goto out_free_conns;
	s->sfd = signals_open(false);
	if (s->sfd < 0 || ep_set(s->epfd, EPOLL_CTL_ADD, s->sfd, EPOLLIN, KEY_SIGNAL)) {
		fprintf(stderr, "smx-churn: signalfd: %s\n", strerror(errno));
		goto out_close_sig;
	}
	s->untried = o->count;
	for (uint64_t i = 0; i < o->count; i++)
		sl_connect(s, &s->conns[i]);
	err = sl_loop(s);
	if (err)
		fprintf(stderr, "smx-churn: epoll_wait: %s\n", strerror(-err));
	fprintf(stderr, "smx-churn: slowloris open=%" PRIu64 " connect_failed=%" PRIu64
		" closed_by_peer=%" PRIu64 " reopened=%" PRIu64 "\n",
		s->open, s->connect_failed, s->closed_by_peer, s->reopened);
	ret = err ? 1 : 0;
	for (uint64_t i = 0; i < o->count; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
out_close_sig:
	if (s->sfd >= 0)
		close(s->sfd);
	close(s->epfd);
out_free_conns:
	free(s->conns);
out_free:
	free(s);
	return ret;
}

/* ---- command line ------------------------------------------------------------------------ */

static const char usage[] =
	"usage: smx-churn server --listen ADDR\n"
	"       smx-churn client --connect ADDR --count N [--parallel P] [--sni NAME]\n"
	"                        [--mix LIST] [--rate PER_S] [--timeout-s S] [--verbose]\n"
	"       smx-churn slowloris --connect ADDR --count N [--bytes B] [--interval-ms I]\n"
	"                        [--reopen]\n"
	"       smx-churn probe --connect ADDR --count N [--sni NAME] [--timeout-s S]\n"
	"\n"
	"client: N connections, at most P (default 100) open at once, at most PER_S started a\n"
	"  second (default: no limit), each opening with a ClientHello for NAME if --sni; the\n"
	"  whole run fails after S seconds (default 120). LIST is a comma-separated list of\n"
	"  behaviours, taken in turn (name one twice to weight it); default: all of them:\n"
	"    ok ok_rst srv_rst srv_close cli_rst cli_fin cli_rst_early cli_close_early\n"
	"    partial_hello garbage hold\n"
	"  Exit 0 if every ok/ok_rst connection got its 100 bytes then EOF/reset, else 1.\n"
	"slowloris: N connections sending B bytes (default 3) of an unfinished ClientHello, then\n"
	"  one more every I ms (default 0: never); --reopen replaces those the server closes.\n"
	"  Prints open=N once all connected, then every second; exits 0 on SIGTERM.\n"
	"probe: N sequential ok connections; exit 0 only if all succeeded.\n";

static int parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_mix(const char *text, struct cli_opts *o)
{
	char copy[1024], *save = NULL, *name;

	if (strlen(text) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, text);
	o->nmix = 0;
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int b;

		for (b = 0; b < B_NR && strcmp(name, behaviours[b].name); b++)
			;
		if (b == B_NR || o->nmix == sizeof(o->mix) / sizeof(o->mix[0]))
			return -EINVAL;
		o->mix[o->nmix++] = b;
	}
	return o->nmix ? 0 : -EINVAL;
}

static int bad_usage(const char *why)
{
	if (why)
		fprintf(stderr, "smx-churn: %s\n", why);
	fputs(usage, stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "sni", required_argument, NULL, 's' },
		{ "mix", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "timeout-s", required_argument, NULL, 't' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "reopen", no_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cli_opts co = { .parallel = 100, .timeout_s = 120, .nmix = B_NR };
	struct sl_opts so = { .bytes = 3 };
	const char *listen_addr = NULL, *role;
	int o, err;

	if (argc < 2 || argv[1][0] == '-')
		return bad_usage(NULL);
	role = argv[1];
	for (int b = 0; b < B_NR; b++)
		co.mix[b] = b;
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		err = 0;
		switch (o) {
		case 'l': listen_addr = optarg; break;
		case 'c': co.addr = so.addr = optarg; break;
		case 'n': err = parse_u64(optarg, 1, 10000000, &co.count); break;
		case 'p': err = parse_u64(optarg, 1, 1000000, &co.parallel); break;
		case 's': co.sni = optarg; err = strlen(optarg) > MAX_SNI ? -EINVAL : 0; break;
		case 'm': err = parse_mix(optarg, &co); break;
		case 'r': err = parse_u64(optarg, 0, 100000000, &co.rate); break;
		case 't': err = parse_u64(optarg, 1, 86400, &co.timeout_s); break;
		case 'b': err = parse_u64(optarg, 0, SLOW_HELLO_LEN, &so.bytes); break;
		case 'i': err = parse_u64(optarg, 0, 3600000, &so.interval_ms); break;
		case 'R': so.reopen = true; break;
		case 'v': co.verbose = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return bad_usage(NULL);
		}
		if (err)
			return bad_usage("bad value for an option");
	}
	if (optind != argc - 1)
		return bad_usage("unexpected argument");
	signal(SIGPIPE, SIG_IGN);
	err = raise_nofile();
	if (err)
		fprintf(stderr, "smx-churn: RLIMIT_NOFILE: %s\n", strerror(-err));
	if (!strcmp(role, "server")) {
		if (!listen_addr)
			return bad_usage("server needs --listen");
		return run_server(listen_addr);
	}
	if (!co.addr || !co.count)
		return bad_usage("needs --connect and --count");
	if (!strcmp(role, "slowloris")) {
		so.count = co.count;
		return run_slowloris(&so);
	}
	if (!strcmp(role, "probe")) {
		co.probe = true;
		co.parallel = 1;
		co.mix[0] = B_OK;
		co.nmix = 1;
	} else if (strcmp(role, "client")) {
		return bad_usage("unknown role");
	}
	if (co.parallel > co.count)
		co.parallel = co.count;
	return run_client(&co);
}
