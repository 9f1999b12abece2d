// SPDX-License-Identifier: MIT
/*
 * smxb-cli.c - the benchmark's load generator. Every connection starts with a browser-like
 * ClientHello (SNI --sni), then the request smxb-srv expects (smxb.h). One measurement per
 * run, printed as one "result key=value ..." line on stdout:
 *
 *   bulk  --streams N --dir up|down [--rate BPS]   throughput, counted by the receiver;
 *         CPU of every task on the machine during the window, per GiB moved
 *   rr    [--size 64]                             ping-pong latency percentiles
 *   cps   [--threads T --conc C --reply N]        new connections per second, each one a
 *                                                 hello, an N-byte answer and a close
 *   idle  --n N                                   opens N routed connections, prints the
 *                                                 result line, holds them until SIGTERM
 *   slow  [--rate BPS --cap BYTES --floor-mib M]  a fast sender to a backend reading at BPS:
 *                                                 peak bytes held between them (sent minus
 *                                                 what the backend can have read) and peak
 *                                                 kernel memory while it lasts
 *
 * Common: --connect ADDR, --sni NAME, --tag PORT (the backend the route must reach),
 * --warm MS and --dur MS (measurement window after a warm-up), --own-ns PATHS (the
 * benchmark's namespaces: cpu_s sums the schedstat run time of their tasks and of every
 * kernel thread; foreign_cpu_s is the rest of the machine's busy time, other users' load).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "smxb.h"

#define CHUNK		(256 * 1024)
#define MAX_STREAMS	64

struct opts {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	const char *sni;
	uint32_t tag;
	uint32_t warm_ms, dur_ms;
	int streams, threads, conc, n, size;
	bool up;
	uint64_t rate, cap;
	uint32_t reply;
	long floor_mib;
};

static struct opts o = {
	.sni = "bench.example",
	.tag = 9000,
	.warm_ms = 500,
	.dur_ms = 2000,
	.streams = 1,
	.threads = 2,
	.conc = 16,
	.n = 1000,
	.size = 64,
	.up = true,
	.cap = 4ull << 30,
	.reply = 512,
	.floor_mib = 4096,
};

static uint8_t g_hello[SMXB_HELLO_MAX];
static size_t g_hello_len;

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000ull, .tv_nsec = t % 1000000000ull };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void make_req(struct smxb_req *r, enum smxb_mode mode)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->magic, SMXB_REQ_MAGIC, 4);
	r->mode = mode;
	r->warm_ms = o.warm_ms;
	r->dur_ms = o.dur_ms;
	r->reply_len = o.reply;
	r->rate = o.rate;
}

static int new_socket(bool nonblock)
{
	int one = 1;
	int fd = socket(o.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
			0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Blocking connect and ClientHello; returns the socket or -errno. */
static int open_conn(void)
{
	int fd = new_socket(false), err;

	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&o.addr, o.addr_len)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = smxb_write_all(fd, g_hello, g_hello_len);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int send_req(int fd, enum smxb_mode mode)
{
	struct smxb_req r;

	make_req(&r, mode);
	return smxb_write_all(fd, &r, sizeof(r));
}

static int check_ack(const struct smxb_ack *a)
{
	if (memcmp(a->magic, SMXB_ACK_MAGIC, 4))
		return -EPROTO;
	return a->tag == o.tag ? 0 : -EXDEV;	/* EXDEV: routed to the wrong backend */
}

/* Closes with a reset: whatever a proxy still holds for this connection is dropped. */
static void close_rst(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* ---- bulk ---------------------------------------------------------------------------- */

struct stream {
	pthread_t thread;
	int fd;
	uint64_t t0;
	uint64_t win_bytes;	/* receiver's count inside the window */
	uint64_t sent_win;	/* up: what the client's kernel accepted inside the window */
	int err;
};

static pthread_barrier_t g_barrier;

/* Sends until the server's report arrives; paced to o.rate / o.streams when set. */
static void bulk_up(struct stream *s)
{
	uint64_t rate = o.rate / o.streams, sent = 0, now, ws, we, deadline;
	static uint8_t zero[CHUNK];
	struct smxb_report rep;
	size_t got = 0, chunk = CHUNK;

	if (rate)
		chunk = rate / 2000 < 16384 ? 16384 : (rate / 2000 > CHUNK ? CHUNK : rate / 2000);
	s->err = send_req(s->fd, SMXB_SINK);
	ws = s->t0 + o.warm_ms * 1000000ull;
	we = ws + o.dur_ms * 1000000ull;
	deadline = we + 10000000000ull;
	while (!s->err && got < sizeof(rep)) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN | POLLOUT };
		struct timespec ts = { 0, 100000000 };
		uint64_t wait = 0;

		now = smxb_now_ns();
		if (now > deadline) {
			s->err = -ETIMEDOUT;
			break;
		}
		if (rate) {
			uint64_t due = s->t0 + (uint64_t)((double)sent * 1e9 / rate);

			if (due > now) {
				wait = due - now;
				pfd.events = POLLIN;
				ts.tv_sec = wait / 1000000000ull;
				ts.tv_nsec = wait % 1000000000ull;
			}
		}
		if (ppoll(&pfd, 1, &ts, NULL) < 0)
			continue;
		if (pfd.revents & POLLIN) {
			ssize_t n = read(s->fd, (uint8_t *)&rep + got, sizeof(rep) - got);

			if (n <= 0) {
				s->err = n ? -errno : -ECONNRESET;
				break;
			}
			got += n;
			continue;
		}
		if (pfd.revents & (POLLERR | POLLHUP)) {
			s->err = -ECONNRESET;
			break;
		}
		if (pfd.revents & POLLOUT) {
			ssize_t n = send(s->fd, zero, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				s->err = -errno;
				break;
			}
			if (n > 0) {
				now = smxb_now_ns();
				if (now >= ws && now < we)
					s->sent_win += n;
				sent += n;
			}
		}
	}
	if (!s->err && memcmp(rep.magic, SMXB_REPORT_MAGIC, 4))
		s->err = -EPROTO;
	if (!s->err && rep.tag != o.tag)
		s->err = -EXDEV;
	if (!s->err)
		s->win_bytes = rep.window_ns ? (uint64_t)((double)rep.bytes * o.dur_ms * 1e6 /
							  rep.window_ns) : 0;
}

static void bulk_down(struct stream *s)
{
	static __thread uint8_t buf[CHUNK];
	uint64_t ws, we, now;
	struct smxb_ack ack;
	struct timeval tv = { 2, 0 };

	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	s->err = send_req(s->fd, SMXB_SOURCE);
	if (!s->err)
		s->err = smxb_read_all(s->fd, &ack, sizeof(ack));
	if (!s->err)
		s->err = check_ack(&ack);
	ws = s->t0 + o.warm_ms * 1000000ull;
	we = ws + o.dur_ms * 1000000ull;
	while (!s->err) {
		ssize_t n = read(s->fd, buf, sizeof(buf));

		if (n <= 0) {
			s->err = n ? -errno : -ECONNRESET;
			break;
		}
		now = smxb_now_ns();
		if (now >= we)
			break;
		if (now >= ws)
			s->win_bytes += n;
	}
}

static void *stream_run(void *arg)
{
	struct stream *s = arg;

	pthread_barrier_wait(&g_barrier);
	s->t0 = smxb_now_ns();
	if (o.up)
		bulk_up(s);
	else
		bulk_down(s);
	close_rst(s->fd);
	return NULL;
}

static int cmd_bulk(void)
{
	struct smxb_cpu_snap a = { 0 }, b = { 0 };
	struct stream s[MAX_STREAMS] = { 0 };
	uint64_t t0, bytes = 0, sent = 0;
	double cpu = 0, busy = 0, stat_cpu = 0, gib, secs = o.dur_ms / 1e3;
	int i, ok = 0, err = 0;
	char rates[MAX_STREAMS * 12] = "";

	if (o.streams < 1 || o.streams > MAX_STREAMS)
		return 2;
	for (i = 0; i < o.streams; i++) {
		s[i].fd = open_conn();
		if (s[i].fd < 0) {
			fprintf(stderr, "smxb-cli: connect: %s\n", strerror(-s[i].fd));
			return 1;
		}
	}
	pthread_barrier_init(&g_barrier, NULL, o.streams + 1);
	for (i = 0; i < o.streams; i++)
		pthread_create(&s[i].thread, NULL, stream_run, &s[i]);
	pthread_barrier_wait(&g_barrier);
	t0 = smxb_now_ns();
	sleep_until(t0 + o.warm_ms * 1000000ull);
	smxb_cpu_snap_take(&a);
	sleep_until(t0 + (o.warm_ms + o.dur_ms) * 1000000ull);
	smxb_cpu_snap_take(&b);
	cpu = smxb_cpu_snap_diff(&a, &b, true);
	busy = smxb_cpu_busy_diff(&a, &b);
	stat_cpu = smxb_cpu_stat_diff(&a, &b);
	for (i = 0; i < o.streams; i++) {
		size_t l = strlen(rates);

		pthread_join(s[i].thread, NULL);
		if (s[i].err) {
			err = s[i].err;
		} else {
			ok++;
		}
		bytes += s[i].win_bytes;
		sent += s[i].sent_win;
		snprintf(rates + l, sizeof(rates) - l, "%s%.2f", i ? "," : "",
			 s[i].win_bytes * 8 / secs / 1e9);
	}
	gib = bytes / (double)(1ull << 30);
	printf("result ok=%d gbps=%.3f client_gbps=%.3f streams=%d streams_ok=%d cpu_s=%.4f "
	       "machine_cpu_s=%.4f foreign_cpu_s=%.4f stat_cpu_s=%.4f gib=%.4f cpu_per_gib=%.4f "
	       "stat_cpu_per_gib=%.4f per_stream=%s%s%s\n",
	       ok == o.streams, bytes * 8 / secs / 1e9, sent * 8 / secs / 1e9, o.streams, ok, cpu,
	       busy,
	       busy > cpu ? busy - cpu : 0, stat_cpu, gib,
	       gib > 0 ? cpu / gib : 0, gib > 0 ? stat_cpu / gib : 0, rates,
	       err ? " error=" : "", err ? strerror(-err) : "");
	smxb_cpu_snap_free(&a);
	smxb_cpu_snap_free(&b);
	return ok == o.streams ? 0 : 1;
}

/* ---- rr ------------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double pct(const uint32_t *v, size_t n, double p)
{
	size_t i = (size_t)ceil(p / 100.0 * n);

	if (!n)
		return 0;
	return v[i ? i - 1 : 0] / 1e3;
}

static int cmd_rr(void)
{
	struct smxb_cpu_snap sa = { 0 }, sb = { 0 };
	uint8_t msg[4096] = { 0 }, back[4096];
	bool in_window = false;
	double cpu, busy;
	size_t cap = 1 << 22, n = 0;
	uint32_t *ns = malloc(cap * sizeof(*ns));
	struct smxb_ack ack;
	uint64_t t0, ws, we, sum = 0;
	int fd, err;

	if (!ns || o.size < 1 || o.size > (int)sizeof(msg))
		return 2;
	fd = open_conn();
	if (fd < 0) {
		fprintf(stderr, "smxb-cli: connect: %s\n", strerror(-fd));
		return 1;
	}
	err = send_req(fd, SMXB_ECHO);
	if (!err)
		err = smxb_read_all(fd, &ack, sizeof(ack));
	if (!err)
		err = check_ack(&ack);
	t0 = smxb_now_ns();
	ws = t0 + o.warm_ms * 1000000ull;
	we = ws + o.dur_ms * 1000000ull;
	while (!err) {
		uint64_t a = smxb_now_ns(), b;

		if (a >= we)
			break;
		if (!in_window && a >= ws) {
			/* the snapshot takes a few ms: outside any timed round trip */
			smxb_cpu_snap_take(&sa);
			in_window = true;
			a = smxb_now_ns();
		}
		err = smxb_write_all(fd, msg, o.size);
		if (!err)
			err = smxb_read_all(fd, back, o.size);
		b = smxb_now_ns();
		if (!err && a >= ws && n < cap) {
			ns[n++] = b - a;
			sum += b - a;
		}
	}
	smxb_cpu_snap_take(&sb);
	close_rst(fd);
	if (err) {
		printf("result ok=0 error=%s\n", strerror(-err));
		return 1;
	}
	cpu = in_window ? smxb_cpu_snap_diff(&sa, &sb, true) : 0;
	busy = in_window ? smxb_cpu_busy_diff(&sa, &sb) : 0;
	qsort(ns, n, sizeof(*ns), cmp_u32);
	printf("result ok=1 count=%zu mean_us=%.2f p50_us=%.2f p90_us=%.2f p99_us=%.2f "
	       "p999_us=%.2f max_us=%.2f cpu_s=%.4f foreign_cpu_s=%.4f\n",
	       n, n ? sum / 1e3 / n : 0, pct(ns, n, 50), pct(ns, n, 90), pct(ns, n, 99),
	       pct(ns, n, 99.9), n ? ns[n - 1] / 1e3 : 0, cpu, busy > cpu ? busy - cpu : 0);
	smxb_cpu_snap_free(&sa);
	smxb_cpu_snap_free(&sb);
	free(ns);
	return 0;
}

/* ---- cps and idle: many connections from an epoll loop ------------------------------ */

enum cstate { C_FREE, C_CONNECTING, C_READING, C_READY };

struct cslot {
	int fd;
	enum cstate st;
	uint64_t start;
	uint32_t got;
	struct smxb_ack ack;
};

struct cpool {
	pthread_t thread;
	int ep;
	enum smxb_mode mode;
	struct cslot *slot;
	int nslot;
	int budget;		/* idle: connections this pool still opens */
	uint64_t ws, we, end;
	uint64_t done_win, done, fails, timeouts, wrong_route;
	uint32_t *lat;		/* per-connection time, ns, inside the window */
	size_t nlat, caplat;
};

static int slot_start(struct cpool *p, struct cslot *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int fd = new_socket(true);

	c->st = C_FREE;
	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&o.addr, o.addr_len) && errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	c->fd = fd;
	c->st = C_CONNECTING;
	c->got = 0;
	c->start = smxb_now_ns();
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		c->st = C_FREE;
		return -errno;
	}
	return 0;
}

static void slot_end(struct cpool *p, struct cslot *c, bool ok)
{
	uint64_t now = smxb_now_ns();

	epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->st = C_FREE;
	if (!ok) {
		p->fails++;
		return;
	}
	p->done++;
	if (now >= p->ws && now < p->we) {
		p->done_win++;
		if (p->nlat < p->caplat)
			p->lat[p->nlat++] = now - c->start;
	}
}

static void on_connected(struct cpool *p, struct cslot *c)
{
	uint8_t buf[SMXB_HELLO_MAX + sizeof(struct smxb_req)];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	struct smxb_req r;
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	make_req(&r, p->mode);
	memcpy(buf, g_hello, g_hello_len);
	memcpy(buf + g_hello_len, &r, sizeof(r));
	if (err || send(c->fd, buf, g_hello_len + sizeof(r), MSG_NOSIGNAL) !=
			   (ssize_t)(g_hello_len + sizeof(r)) ||
	    epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd, &ev)) {
		slot_end(p, c, false);
		return;
	}
	c->st = C_READING;
}

/* Reads the answer; REPLY ends at EOF after reply bytes, IDLE once the ack is in. */
static void on_answer(struct cpool *p, struct cslot *c)
{
	uint8_t buf[65536];

	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			slot_end(p, c, false);
			return;
		}
		if (n == 0) {
			bool ok = p->mode == SMXB_REPLY && c->got == o.reply;

			if (c->got >= sizeof(c->ack) && check_ack(&c->ack) == -EXDEV)
				p->wrong_route++;
			if (p->mode == SMXB_REPLY && c->got >= sizeof(c->ack) && check_ack(&c->ack))
				ok = false;
			slot_end(p, c, ok);
			return;
		}
		if (c->got < sizeof(c->ack))
			memcpy((uint8_t *)&c->ack + c->got, buf,
			       n < (ssize_t)(sizeof(c->ack) - c->got) ? (size_t)n
								     : sizeof(c->ack) - c->got);
		c->got += n;
		if (p->mode == SMXB_IDLE && c->got >= sizeof(c->ack)) {
			if (check_ack(&c->ack)) {
				if (check_ack(&c->ack) == -EXDEV)
					p->wrong_route++;
				slot_end(p, c, false);
				return;
			}
			epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
			c->st = C_READY;
			p->done++;
			return;
		}
	}
}

/* Ends connections stuck for more than 5 s; returns how many slots are in flight. */
static int sweep(struct cpool *p)
{
	uint64_t now = smxb_now_ns();
	int busy = 0;

	for (int i = 0; i < p->nslot; i++) {
		struct cslot *c = &p->slot[i];

		if (c->st != C_CONNECTING && c->st != C_READING)
			continue;
		if (now - c->start > 5000000000ull) {
			p->timeouts++;
			slot_end(p, c, false);
			continue;
		}
		busy++;
	}
	return busy;
}

static void *cpool_run_cps(void *arg)
{
	struct cpool *p = arg;
	struct epoll_event evs[64];
	uint64_t last_sweep = 0;

	for (int i = 0; i < p->nslot; i++)
		if (slot_start(p, &p->slot[i]))
			p->fails++;
	for (;;) {
		int n = epoll_wait(p->ep, evs, 64, 50);
		uint64_t now = smxb_now_ns();

		for (int i = 0; i < n; i++) {
			struct cslot *c = evs[i].data.ptr;

			if (c->st == C_CONNECTING)
				on_connected(p, c);
			else if (c->st == C_READING)
				on_answer(p, c);
		}
		if (now - last_sweep > 100000000ull) {
			sweep(p);
			last_sweep = now;
		}
		if (now >= p->end)
			break;
		for (int i = 0; i < p->nslot; i++)
			if (p->slot[i].st == C_FREE && slot_start(p, &p->slot[i]))
				p->fails++;
	}
	for (int i = 0; i < p->nslot; i++)
		if (p->slot[i].st != C_FREE)
			close_rst(p->slot[i].fd);
	return NULL;
}

static int cmd_cps(void)
{
	struct smxb_cpu_snap a = { 0 }, b = { 0 };
	struct cpool *p = calloc(o.threads, sizeof(*p));
	uint64_t t0 = smxb_now_ns(), done = 0, fails = 0, timeouts = 0, wrong = 0;
	size_t nlat = 0;
	uint32_t *lat;
	double secs = o.dur_ms / 1e3, cpu, busy;
	int i;

	if (!p || o.threads < 1 || o.conc < 1)
		return 2;
	for (i = 0; i < o.threads; i++) {
		p[i].ep = epoll_create1(EPOLL_CLOEXEC);
		p[i].mode = SMXB_REPLY;
		p[i].nslot = o.conc;
		p[i].slot = calloc(o.conc, sizeof(*p[i].slot));
		p[i].ws = t0 + o.warm_ms * 1000000ull;
		p[i].we = p[i].ws + o.dur_ms * 1000000ull;
		p[i].end = p[i].we;
		p[i].caplat = 1 << 21;
		p[i].lat = malloc(p[i].caplat * sizeof(*p[i].lat));
		if (p[i].ep < 0 || !p[i].slot || !p[i].lat)
			return 1;
		pthread_create(&p[i].thread, NULL, cpool_run_cps, &p[i]);
	}
	sleep_until(p[0].ws);
	smxb_cpu_snap_take(&a);
	sleep_until(p[0].we);
	smxb_cpu_snap_take(&b);
	cpu = smxb_cpu_snap_diff(&a, &b, true);
	busy = smxb_cpu_busy_diff(&a, &b);
	for (i = 0; i < o.threads; i++) {
		pthread_join(p[i].thread, NULL);
		done += p[i].done_win;
		fails += p[i].fails;
		timeouts += p[i].timeouts;
		wrong += p[i].wrong_route;
		nlat += p[i].nlat;
	}
	lat = malloc((nlat + 1) * sizeof(*lat));
	nlat = 0;
	for (i = 0; i < o.threads; i++) {
		memcpy(lat + nlat, p[i].lat, p[i].nlat * sizeof(*lat));
		nlat += p[i].nlat;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("result ok=%d cps=%.1f conns=%llu fails=%llu timeouts=%llu wrong_route=%llu "
	       "conn_p50_us=%.1f conn_p99_us=%.1f cpu_s=%.4f foreign_cpu_s=%.4f cpu_us_per_conn=%.2f\n",
	       done > 0 && !wrong, done / secs, (unsigned long long)done,
	       (unsigned long long)fails, (unsigned long long)timeouts, (unsigned long long)wrong,
	       pct(lat, nlat, 50), pct(lat, nlat, 99), cpu, busy > cpu ? busy - cpu : 0,
	       done ? cpu * 1e6 / done : 0);
	return done > 0 && !wrong ? 0 : 1;
}

/* Opens every slot's connection, o.conc at a time, until each is ready or has failed. */
static void cpool_run_idle(struct cpool *p)
{
	struct epoll_event evs[64];
	int next = 0;

	for (;;) {
		int busy = sweep(p), n;

		for (; next < p->nslot && busy < o.conc; next++, busy++)
			if (slot_start(p, &p->slot[next]))
				p->fails++;
		if (next == p->nslot && !busy)
			break;
		n = epoll_wait(p->ep, evs, 64, 50);
		for (int i = 0; i < n; i++) {
			struct cslot *c = evs[i].data.ptr;

			if (c->st == C_CONNECTING)
				on_connected(p, c);
			else if (c->st == C_READING)
				on_answer(p, c);
		}
	}
}

static int cmd_idle(void)
{
	struct cpool p = { 0 };
	uint64_t t0 = smxb_now_ns();
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	p.ep = epoll_create1(EPOLL_CLOEXEC);
	p.mode = SMXB_IDLE;
	p.nslot = o.n;
	p.slot = calloc(o.n, sizeof(*p.slot));
	if (p.ep < 0 || !p.slot)
		return 1;
	cpool_run_idle(&p);
	printf("result ok=%d ready=%llu fails=%llu timeouts=%llu wrong_route=%llu secs=%.2f\n",
	       p.done == (uint64_t)o.n, (unsigned long long)p.done, (unsigned long long)p.fails,
	       (unsigned long long)p.timeouts, (unsigned long long)p.wrong_route,
	       (smxb_now_ns() - t0) / 1e9);
	fflush(stdout);
	sigwait(&set, &sig);
	for (int i = 0; i < p.nslot; i++)
		if (p.slot[i].st == C_READY)
			close_rst(p.slot[i].fd);
	return 0;
}

/* ---- slow ---------------------------------------------------------------------------- */

struct memwatch {
	pthread_t thread;
	volatile bool stop;
	volatile bool low;		/* MemAvailable fell under the floor */
	long base_kib, peak_kib, last_kib;
};

static void *memwatch_run(void *arg)
{
	struct memwatch *m = arg;

	while (!m->stop) {
		struct smxb_mem mi;

		if (!smxb_mem_read(&mi)) {
			m->last_kib = mi.kernel_kib;
			if (mi.kernel_kib > m->peak_kib)
				m->peak_kib = mi.kernel_kib;
			if (mi.avail_kib < o.floor_mib * 1024)
				m->low = true;
		}
		usleep(10000);
	}
	return NULL;
}

static long mem_kernel_now(void)
{
	struct smxb_mem mi = { 0 };

	smxb_mem_read(&mi);
	return mi.kernel_kib;
}

static int cmd_slow(void)
{
	static uint8_t zero[CHUNK];
	struct memwatch m = { 0 };
	struct smxb_ack ack;
	uint64_t t0, end, sent = 0;
	double held_peak = 0;
	long after = 0;
	int fd, err;

	m.base_kib = mem_kernel_now();
	m.peak_kib = m.base_kib;
	fd = open_conn();
	if (fd < 0) {
		fprintf(stderr, "smxb-cli: connect: %s\n", strerror(-fd));
		return 1;
	}
	err = send_req(fd, SMXB_SLOW);
	if (!err)
		err = smxb_read_all(fd, &ack, sizeof(ack));
	if (!err)
		err = check_ack(&ack);
	pthread_create(&m.thread, NULL, memwatch_run, &m);
	t0 = smxb_now_ns();
	end = t0 + o.dur_ms * 1000000ull;
	while (!err && !m.low && sent < o.cap && smxb_now_ns() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		double held;
		ssize_t n;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		n = send(fd, zero, CHUNK, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			err = -errno;
		if (n <= 0)
			continue;
		sent += n;
		/* the backend has read at most rate x elapsed: the rest is held on the way */
		held = sent - (double)o.rate * (smxb_now_ns() - t0) / 1e9;
		if (held > held_peak)
			held_peak = held;
	}
	usleep(50000);
	m.stop = true;
	pthread_join(m.thread, NULL);
	close_rst(fd);
	/*
	 * What the kernel still holds once the connection is gone: if the path held much, wait
	 * up to 5 s for it to be freed.
	 */
	usleep(100000);
	after = mem_kernel_now();
	for (int i = 0; i < 100 && m.peak_kib - m.base_kib > 64 * 1024; i++) {
		if (after - m.base_kib < 32 * 1024)
			break;
		usleep(50000);
		after = mem_kernel_now();
	}
	printf("result ok=%d held_peak_mib=%.1f peak_kernel_mib=%.1f end_kernel_mib=%.1f "
	       "after_close_mib=%.1f sent_mib=%.1f secs=%.2f hit_floor=%d hit_cap=%d%s%s\n",
	       !err, held_peak / 1048576.0, (m.peak_kib - m.base_kib) / 1024.0,
	       (m.last_kib - m.base_kib) / 1024.0,
	       (after - m.base_kib) / 1024.0, sent / 1048576.0, (smxb_now_ns() - t0) / 1e9,
	       m.low, sent >= o.cap, err ? " error=" : "", err ? strerror(-err) : "");
	return err ? 1 : 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: smxb-cli bulk|rr|cps|idle|slow --connect ADDR [--sni NAME] [--tag PORT]\n"
		"       [--warm MS] [--dur MS] [--streams N] [--dir up|down] [--rate BPS]\n"
		"       [--threads T] [--conc C] [--reply N] [--n N] [--size N] [--cap BYTES]\n"
		"       [--floor-mib M] [--own-ns /run/netns/A,/run/netns/B...]\n");
}

static int parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "sni", required_argument, NULL, 's' },
		{ "tag", required_argument, NULL, 'T' },
		{ "warm", required_argument, NULL, 'w' },
		{ "dur", required_argument, NULL, 'd' },
		{ "streams", required_argument, NULL, 'S' },
		{ "dir", required_argument, NULL, 'D' },
		{ "rate", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "conc", required_argument, NULL, 'C' },
		{ "reply", required_argument, NULL, 'R' },
		{ "n", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 'z' },
		{ "cap", required_argument, NULL, 'a' },
		{ "floor-mib", required_argument, NULL, 'f' },
		{ "own-ns", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_addr = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (smxb_parse_addr(optarg, &o.addr, &o.addr_len))
				return -EINVAL;
			have_addr = true;
			break;
		case 's': o.sni = optarg; break;
		case 'T': o.tag = atoi(optarg); break;
		case 'w': o.warm_ms = atoi(optarg); break;
		case 'd': o.dur_ms = atoi(optarg); break;
		case 'S': o.streams = atoi(optarg); break;
		case 'D': o.up = !strcmp(optarg, "up"); break;
		case 'r': o.rate = strtoull(optarg, NULL, 10); break;
		case 't': o.threads = atoi(optarg); break;
		case 'C': o.conc = atoi(optarg); break;
		case 'R': o.reply = atoi(optarg); break;
		case 'n': o.n = atoi(optarg); break;
		case 'z': o.size = atoi(optarg); break;
		case 'a': o.cap = strtoull(optarg, NULL, 10); break;
		case 'f': o.floor_mib = atol(optarg); break;
		case 'o':
			if (smxb_cpu_set_own_ns(optarg))
				return -EINVAL;
			break;
		default: return -EINVAL;
		}
	}
	return have_addr && o.dur_ms > 0 ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (parse_opts(argc - 1, argv + 1)) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0);
	g_hello_len = smxb_build_hello(g_hello, sizeof(g_hello), o.sni);
	if (!g_hello_len)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "bulk"))
		return cmd_bulk();
	if (!strcmp(cmd, "rr"))
		return cmd_rr();
	if (!strcmp(cmd, "cps"))
		return cmd_cps();
	if (!strcmp(cmd, "idle"))
		return cmd_idle();
	if (!strcmp(cmd, "slow"))
		return cmd_slow();
	usage();
	return 2;
}
