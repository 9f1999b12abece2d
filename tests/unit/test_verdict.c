// SPDX-License-Identifier: MIT
/*
 * test_verdict.c - the sockmap verdict program (bpf/sockmap.bpf.c, peer_or_pass) on real TCP
 * sockets, below the daemon, the way the kernel's BPF selftests test sk_skb programs
 * (prog_tests/sockmap_basic.c). The real skeleton is loaded, sized and attached as
 * sockmap_open() does; two loopback connections, client <-> A and B <-> backend, are handed to
 * it as sockmap_start() does; then what arrives where, and what the counters say, is checked:
 *
 *   transfer   1 MiB each way, intact, all redirected, nothing passed;
 *   queued     bytes queued on A and B before the hand-off (a peeked hello) go first, after
 *              the SO_RCVLOWAT kick alone;
 *   fin        the FIN sets the direction's fin flag after its bytes were counted, bare or
 *              riding on the last data segment, and is not passed on by the kernel;
 *   spill      a backend that reads nothing stops the client; the program passes bytes once
 *              B's send buffer is full, and with user space carrying them as the engine's
 *              sockmap_carry() does, the stream arrives whole and in order, then the program
 *              redirects again;
 *   read-off   bytes user space read off A before the hand-off (a PROXY header) out of a
 *              partly read skb are cut, not carried again;
 *   repeat     a segment the client really sent, injected again on lo with new bytes behind
 *              it, is queued whole by TCP with its head before rcv_nxt: the program cuts the
 *              repeated head and the stream stays intact (deterministic, no tc needed);
 *   gap        bytes that went around the program (read while A was out of verdict_map):
 *              the next skb is flagged broken and passed, never redirected;
 *   no peer    bytes towards a peer missing from redir_map are dropped and counted.
 *
 * Runs in a network namespace of its own. Needs root (BPF, a namespace, raw sockets): without
 * it, or when the program cannot load here, the whole file is skipped with the reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sockmap_shared.h"
#include "sockmap.skel.h"
#include "tap.h"

#define N_SLOTS		8
#define CHUNK		65536
#define MIB		(1024 * 1024)
#define WAIT_MS		2000	/* longest wait for what the kernel does at once */
#define QUIET_MS	100	/* how long nothing must happen to count as "nothing" */
#define STALL_MS	200	/* a client that cannot write for this long is stopped */
#define SPILL_LIMIT	(64ull * MIB)	/* the client pushing this much means no back-pressure */
#define HANG_SECONDS	60
#define NO_BAD		UINT64_MAX

/* One counters slot per test, so that no test reads another's figures. */
enum {
	SLOT_TRANSFER,
	SLOT_QUEUED,
	SLOT_FIN,
	SLOT_SPILL,
	SLOT_READ_OFF,
	SLOT_REPEAT,
	SLOT_GAP,
	SLOT_NO_PEER,
};

struct fixture {
	struct sockmap_bpf *skel;
	int redir_fd;
	int verdict_fd;
	int peer_fd;
	int prog_fd;
	struct sm_counters *counters;	/* the mmap()ed counters map */
	size_t counters_len;
};

struct conn {
	int client;		/* the client's end */
	int a;			/* the proxy's client-facing socket, from accept() */
	int b;			/* the proxy's backend-facing socket, from connect() */
	int backend;		/* the backend's end, from accept() */
	__u64 cookie[2];	/* A's and B's: their keys in the maps */
	__u32 slot;
	bool in_peer_of;
};

/* A PRNG byte stream written at one end and checked at the other. */
struct stream {
	uint64_t seed;
	uint64_t sent;		/* bytes written */
	uint64_t got;		/* bytes read */
	uint64_t bad_at;	/* offset of the first byte read that differs, or NO_BAD */
	bool eof;
};

/* What the engine's sockmap_carry() holds for the client's direction: read from A, not yet on B. */
struct carrier {
	uint8_t buf[CHUNK];
	size_t off;
	size_t len;
	bool started;		/* read from A at least once */
	bool first_in_order;	/* the first bytes read were stream bytes [first_at, ...) */
	uint64_t first_at;	/* redirected, when they were read */
};

static uint8_t send_buf[CHUNK];
static uint8_t recv_buf[CHUNK];
static uint8_t gen_buf[CHUNK];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int libbpf_warn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	fprintf(stderr, "# libbpf: ");
	return vfprintf(stderr, fmt, ap);
}

/* --- the stream -------------------------------------------------------------------------- */

static uint8_t stream_byte(uint64_t seed, uint64_t off)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + (off >> 3);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (uint8_t)(x >> (8 * (off & 7)));
}

static void stream_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = stream_byte(seed, off + i);
}

/* How many leading bytes of buf are stream bytes [off, off + len). */
static size_t stream_match(const uint8_t *buf, size_t len, uint64_t seed, uint64_t off)
{
	size_t i;

	stream_fill(gen_buf, len, seed, off);
	for (i = 0; i < len && buf[i] == gen_buf[i]; i++)
		;
	return i;
}

/* Writes the stream's next bytes, up to offset limit. Bytes written, or -errno. */
static ssize_t stream_send(int fd, struct stream *st, uint64_t limit)
{
	size_t len = limit - st->sent > CHUNK ? CHUNK : (size_t)(limit - st->sent);
	ssize_t n;

	if (!len)
		return 0;
	stream_fill(send_buf, len, st->seed, st->sent);
	n = send(fd, send_buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	st->sent += n;
	return n;
}

/* Reads what has arrived and checks it against the stream. Bytes read, or -errno. */
static ssize_t stream_recv(int fd, struct stream *st)
{
	ssize_t n = recv(fd, recv_buf, sizeof(recv_buf), MSG_DONTWAIT);
	size_t ok;

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		st->eof = true;
		return 0;
	}
	ok = stream_match(recv_buf, n, st->seed, st->got);
	if (ok < (size_t)n && st->bad_at == NO_BAD)
		st->bad_at = st->got + ok;
	st->got += n;
	return n;
}

/*
 * Writes the stream at src (none if src < 0) up to offset total, never more than window bytes
 * ahead of what dst read, and reads it at dst, until dst has total bytes, EOF, or ms passed.
 */
static int pump(int src, int dst, struct stream *st, uint64_t total, uint64_t window, int ms)
{
	uint64_t deadline = now_ms() + ms;
	ssize_t out = 0, in;

	while (st->got < total && !st->eof) {
		uint64_t limit = st->got + window < total ? st->got + window : total;
		struct pollfd p[2] = { { .fd = dst, .events = POLLIN } };

		if (src >= 0 && st->sent < limit) {
			out = stream_send(src, st, limit);
			if (out < 0)
				return (int)out;
		}
		in = stream_recv(dst, st);
		if (in < 0)
			return (int)in;
		if (in || out > 0)
			continue;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		p[1].fd = src >= 0 && st->sent < limit ? src : -1;
		p[1].events = POLLOUT;
		poll(p, 2, 10);
	}
	return 0;
}

/* Reads at dst until it has total bytes of st or EOF, for at most ms. */
static int expect(int dst, struct stream *st, uint64_t total, int ms)
{
	return pump(-1, dst, st, total, total, ms);
}

/* One TAP line: every byte of st up to total arrived, in order, nothing else. */
static bool check_stream(const struct stream *st, uint64_t total, const char *name)
{
	bool ok = st->got == total && st->bad_at == NO_BAD;

	tap_result(ok, "%s", name);
	if (!ok)
		tap_diag("  %s: read %llu of %llu bytes; first wrong byte at %lld", name,
			 (unsigned long long)st->got, (unsigned long long)total,
			 st->bad_at == NO_BAD ? -1LL : (long long)st->bad_at);
	return ok;
}

/* True if nothing (no byte, no EOF) becomes readable on fd for QUIET_MS. */
static bool quiet(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, QUIET_MS) == 0;
}

/* Waits for EOF at fd (after no other byte) for at most ms. */
static bool sees_eof(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char byte;

	if (poll(&p, 1, ms) != 1)
		return false;
	return recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
}

/* --- counters ---------------------------------------------------------------------------- */

static struct sm_dir_state *dir_state(struct fixture *f, struct conn *c, int dir)
{
	return &f->counters[c->slot].dir[dir];
}

static __u64 load64(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static __u32 load32(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Waits until *p reaches want; true if it did within ms. */
static bool wait64(const __u64 *p, __u64 want, int ms)
{
	uint64_t deadline = now_ms() + ms;

	while (load64(p) < want) {
		if (now_ms() >= deadline)
			return false;
		usleep(200);
	}
	return true;
}

static bool wait32(const __u32 *p, __u32 want, int ms)
{
	uint64_t deadline = now_ms() + ms;

	while (load32(p) < want) {
		if (now_ms() >= deadline)
			return false;
		usleep(200);
	}
	return true;
}

static void diag_dir(const char *what, const struct sm_dir_state *d)
{
	tap_diag("  %s: redirected %llu passed %llu dropped %llu written %llu", what,
		 (unsigned long long)d->redirected, (unsigned long long)d->passed,
		 (unsigned long long)d->dropped, (unsigned long long)d->written);
	tap_diag("  %s: spilling %u spills %u repeated_skbs %u broken %u fin %u", what, d->spilling,
		 d->spills, d->repeated_skbs, d->broken, d->fin);
}

/* --- the program and its maps ------------------------------------------------------------ */

/* Loads, sizes and attaches the program and maps the counters, as sockmap_open() does. */
static int fixture_open(struct fixture *f, bool backpressure, const char **why)
{
	int err;

	f->skel = sockmap_bpf__open();
	if (!f->skel) {
		*why = "cannot open the BPF object";
		return errno ? -errno : -EINVAL;
	}
	f->skel->rodata->backpressure = backpressure;
	bpf_map__set_max_entries(f->skel->maps.redir_map, 2 * N_SLOTS);
	bpf_map__set_max_entries(f->skel->maps.verdict_map, 2 * N_SLOTS);
	bpf_map__set_max_entries(f->skel->maps.peer_of, 2 * N_SLOTS);
	bpf_map__set_max_entries(f->skel->maps.counters, N_SLOTS);
	err = sockmap_bpf__load(f->skel);
	if (err) {
		*why = "the kernel refused the verdict program or its maps";
		goto out_destroy;
	}
	f->redir_fd = bpf_map__fd(f->skel->maps.redir_map);
	f->verdict_fd = bpf_map__fd(f->skel->maps.verdict_map);
	f->peer_fd = bpf_map__fd(f->skel->maps.peer_of);
	f->prog_fd = bpf_program__fd(f->skel->progs.peer_or_pass);
	if (bpf_prog_attach(f->prog_fd, f->verdict_fd, BPF_SK_SKB_STREAM_VERDICT, 0)) {
		err = -errno;
		*why = "cannot attach the stream verdict program to verdict_map";
		goto out_destroy;
	}
	f->counters_len = (sizeof(struct sm_counters) * N_SLOTS + 4095) & ~(size_t)4095;
	f->counters = mmap(NULL, f->counters_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			   bpf_map__fd(f->skel->maps.counters), 0);
	if (f->counters == MAP_FAILED) {
		err = -errno;
		*why = "cannot mmap the counters map";
		goto out_detach;
	}
	return 0;

out_detach:
	bpf_prog_detach2(f->prog_fd, f->verdict_fd, BPF_SK_SKB_STREAM_VERDICT);
out_destroy:
	sockmap_bpf__destroy(f->skel);
	return err < 0 ? err : -EINVAL;
}

static void fixture_close(struct fixture *f)
{
	munmap(f->counters, f->counters_len);
	bpf_prog_detach2(f->prog_fd, f->verdict_fd, BPF_SK_SKB_STREAM_VERDICT);
	sockmap_bpf__destroy(f->skel);
}

/* --- connections ------------------------------------------------------------------------- */

/* A connected pair on loopback: *out from connect(), *in from accept(). 0 or -errno. */
static int tcp_pair(int *out, int *in)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, err;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&sa, len) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len)) {
		err = -errno;
		goto out_listener;
	}
	*out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*out < 0) {
		err = -errno;
		goto out_listener;
	}
	if (connect(*out, (struct sockaddr *)&sa, len)) {
		err = -errno;
		goto out_connector;
	}
	*in = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*in < 0) {
		err = -errno;
		goto out_connector;
	}
	close(lfd);
	return 0;

out_connector:
	close(*out);
	*out = -1;
out_listener:
	close(lfd);
	return err;
}

/* Two loopback connections, client <-> A and B <-> backend, not yet in the maps. */
static int conn_open(struct conn *c, __u32 slot)
{
	int one = 1, err;

	memset(c, 0, sizeof(*c));
	c->client = c->a = c->b = c->backend = -1;
	c->slot = slot;
	err = tcp_pair(&c->client, &c->a);
	if (!err)
		err = tcp_pair(&c->b, &c->backend);
	if (err)
		return err;
	/* a send() is a segment: the repeat test picks one off the wire */
	if (setsockopt(c->client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(c->backend, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return -errno;
	return 0;
}

static int sock_cookie(int fd, __u64 *cookie)
{
	socklen_t len = sizeof(*cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) < 0)
		return -errno;
	return 0;
}

static int map_put_sock(int map_fd, __u64 key, int fd)
{
	__u64 val = (__u64)fd;

	if (bpf_map_update_elem(map_fd, &key, &val, BPF_NOEXIST) < 0)
		return -errno;
	return 0;
}

/*
 * Hands A and B to the program in sockmap_start()'s order: a fresh counters slot, both
 * peer_of entries in one batch, redir_map backend side first, verdict_map client side first,
 * then the SO_RCVLOWAT kick for bytes queued before. conn_close() undoes it.
 */
static int conn_splice(struct fixture *f, struct conn *c)
{
	struct sm_peer peer[2];
	__u32 count = 2;
	int one = 1, err, i;

	memset(&f->counters[c->slot], 0, sizeof(f->counters[c->slot]));
	err = sock_cookie(c->a, &c->cookie[0]);
	if (!err)
		err = sock_cookie(c->b, &c->cookie[1]);
	if (err)
		return err;
	for (i = 0; i < 2; i++) {
		peer[i].peer_cookie = c->cookie[!i];
		peer[i].slot = c->slot;
		peer[i].dir = i == 0 ? SM_DIR_UP : SM_DIR_DOWN;
	}
	if (bpf_map_update_batch(f->peer_fd, c->cookie, peer, &count, NULL) < 0)
		return -errno;
	c->in_peer_of = true;
	err = map_put_sock(f->redir_fd, c->cookie[1], c->b);
	if (!err)
		err = map_put_sock(f->redir_fd, c->cookie[0], c->a);
	if (!err)
		err = map_put_sock(f->verdict_fd, c->cookie[0], c->a);
	if (!err)
		err = map_put_sock(f->verdict_fd, c->cookie[1], c->b);
	if (err)
		return err;
	if (setsockopt(c->a, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)) ||
	    setsockopt(c->b, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)))
		return -errno;
	return 0;
}

/* Closing the sockets takes them out of the sockhashes; peer_of is ours to empty. */
static void conn_close(struct fixture *f, struct conn *c)
{
	int *fds[] = { &c->client, &c->a, &c->b, &c->backend };

	if (c->in_peer_of) {
		bpf_map_delete_elem(f->peer_fd, &c->cookie[0]);
		bpf_map_delete_elem(f->peer_fd, &c->cookie[1]);
		c->in_peer_of = false;
	}
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Waits until len bytes are queued on fd, unread (MSG_PEEK), as the daemon peeks a hello. */
static bool peeked(int fd, const struct stream *st, size_t len)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	ssize_t n;

	for (;;) {
		n = recv(fd, recv_buf, len, MSG_PEEK | MSG_DONTWAIT);
		if (n == (ssize_t)len)
			return stream_match(recv_buf, len, st->seed, 0) == len;
		if (now_ms() >= deadline)
			return false;
		usleep(200);
	}
}

/* Reads len bytes at fd, which must be stream bytes [off, off + len), within WAIT_MS. */
static bool read_exact(int fd, const struct stream *st, uint64_t off, size_t len)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, recv_buf + got, len - got, MSG_DONTWAIT);
		if (n > 0) {
			got += n;
			continue;
		}
		if (n == 0 || errno != EAGAIN || now_ms() >= deadline)
			return false;
		poll(&p, 1, 10);
	}
	return stream_match(recv_buf, len, st->seed, off) == len;
}

/* --- 1. transfer ------------------------------------------------------------------------- */

static void check_direction(struct fixture *f, struct conn *c, int dir, uint64_t total)
{
	struct sm_dir_state *d = dir_state(f, c, dir);
	const char *way = dir == SM_DIR_UP ? "up" : "down";
	bool ok;

	ok = tap_result(load64(&d->redirected) == total && d->passed == 0 && d->dropped == 0 &&
			d->spills == 0 && d->repeated_skbs == 0 && d->broken == 0,
			"transfer: %s: all %llu bytes redirected; none passed, dropped, cut",
			way, (unsigned long long)total);
	if (!ok)
		diag_dir(way, d);
}

static void test_transfer(struct fixture *f)
{
	struct stream up = { .seed = 1, .bad_at = NO_BAD };
	struct stream down = { .seed = 2, .bad_at = NO_BAD };
	struct conn c;
	int err;

	err = conn_open(&c, SLOT_TRANSFER);
	if (!err)
		err = conn_splice(f, &c);
	if (!ASSERT_OK(err, "transfer: both connections handed over as sockmap_start() does"))
		goto out_close;

	err = pump(c.client, c.backend, &up, MIB, 256 * 1024, 5000);
	if (err)
		tap_diag("  up: %s", strerror(-err));
	check_stream(&up, MIB, "transfer: 1 MiB client -> backend arrives in order, intact");
	check_direction(f, &c, SM_DIR_UP, MIB);

	err = pump(c.backend, c.client, &down, MIB, 256 * 1024, 5000);
	if (err)
		tap_diag("  down: %s", strerror(-err));
	check_stream(&down, MIB, "transfer: 1 MiB backend -> client arrives in order, intact");
	check_direction(f, &c, SM_DIR_DOWN, MIB);

	ASSERT_TRUE(recv(c.a, recv_buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN &&
		    recv(c.b, recv_buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
		    "transfer: nothing was left on A or B for user space");
out_close:
	conn_close(f, &c);
}

/* --- 2. bytes queued before the hand-off ------------------------------------------------- */

#define HELLO_LEN 517	/* a typical ClientHello record */
#define EARLY_LEN 100

static void test_queued(struct fixture *f)
{
	struct stream up = { .seed = 3, .bad_at = NO_BAD };
	struct stream down = { .seed = 4, .bad_at = NO_BAD };
	struct sm_dir_state *d;
	struct conn c;
	int err;

	err = conn_open(&c, SLOT_QUEUED);
	if (!ASSERT_OK(err, "queued: two loopback connections"))
		goto out_close;
	stream_send(c.client, &up, HELLO_LEN);
	stream_send(c.backend, &down, EARLY_LEN);
	ASSERT_TRUE(peeked(c.a, &up, HELLO_LEN) && peeked(c.b, &down, EARLY_LEN),
		    "queued: the hello waits on A and early backend bytes on B, peeked, not read");
	err = conn_splice(f, &c);
	if (!ASSERT_OK(err, "queued: both sockets handed to the program after their bytes came"))
		goto out_close;

	expect(c.backend, &up, HELLO_LEN, WAIT_MS);
	check_stream(&up, HELLO_LEN,
		     "queued: the peeked hello reaches the backend on the SO_RCVLOWAT kick alone");
	expect(c.client, &down, EARLY_LEN, WAIT_MS);
	check_stream(&down, EARLY_LEN,
		     "queued: the backend's early bytes reach the client after the kick alone");

	pump(c.client, c.backend, &up, HELLO_LEN + CHUNK, CHUNK, WAIT_MS);
	check_stream(&up, HELLO_LEN + CHUNK,
		     "queued: 64 KiB sent after the hand-off arrive behind the hello, in order");
	d = dir_state(f, &c, SM_DIR_UP);
	if (!ASSERT_TRUE(load64(&d->redirected) == HELLO_LEN + CHUNK && d->passed == 0 &&
			 d->repeated_skbs == 0,
			 "queued: up: hello and later bytes all redirected, none passed or cut"))
		diag_dir("up", d);
out_close:
	conn_close(f, &c);
}

/* --- 3. FIN ------------------------------------------------------------------------------ */

#define FIN_BYTES	100000
#define CORKED_BYTES	1000

/* Writes st up to total at fd, waiting for room; 0 or -errno. */
static int send_all(int fd, struct stream *st, uint64_t total)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (st->sent < total) {
		n = stream_send(fd, st, total);
		if (n < 0)
			return (int)n;
		if (n)
			continue;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		poll(&p, 1, 10);
	}
	return 0;
}

/* The socket's pending error (SO_ERROR), or -errno if it cannot be read. */
static int sock_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return err;
}

/*
 * After the source's FIN: the fin flag is set with every byte already counted; the bytes
 * arrive, no EOF does until user space shuts the proxy's socket dst_proxy down.
 */
static void check_fin(struct fixture *f, struct conn *c, int dir, struct stream *st,
		      uint64_t total, int dst, int dst_proxy, const char *how)
{
	struct sm_dir_state *d = dir_state(f, c, dir);
	__u64 counted;
	bool fin;
	int err;

	fin = wait32(&d->fin, 1, WAIT_MS);
	counted = load64(&d->redirected) + load64(&d->passed);
	if (!tap_result(fin, "fin: %s sets the direction's fin flag", how))
		diag_dir("fin", d);
	if (!tap_result(fin && counted == total,
			"fin: %s: when fin is seen, every byte before it was counted (%llu)", how,
			(unsigned long long)total))
		diag_dir("fin", d);
	expect(dst, st, total, WAIT_MS);
	check_stream(st, total, "fin: the bytes before the FIN arrive intact");
	tap_result(!st->eof && quiet(dst),
		   "fin: %s: not passed on by the kernel: no EOF while the peer is open", how);
	/* an empty skb redirected to the peer would fail its send worker, which reports EPIPE */
	err = sock_error(dst_proxy);
	if (!tap_result(err == 0, "fin: %s: the peer's socket has no error after the FIN", how))
		tap_diag("  SO_ERROR: %s", strerror(err < 0 ? -err : err));
	shutdown(dst_proxy, SHUT_WR);
	tap_result(sees_eof(dst, WAIT_MS), "fin: %s: EOF once user space shuts the peer down", how);
}

static void test_fin(struct fixture *f)
{
	struct stream up = { .seed = 5, .bad_at = NO_BAD };
	struct stream down = { .seed = 6, .bad_at = NO_BAD };
	struct conn c;
	int one = 1, err;

	err = conn_open(&c, SLOT_FIN);
	if (!err)
		err = conn_splice(f, &c);
	if (!ASSERT_OK(err, "fin: both connections handed to the program"))
		goto out_close;

	/* the client's FIN right behind its bytes, as they still stream through */
	err = send_all(c.client, &up, FIN_BYTES);
	if (!err && shutdown(c.client, SHUT_WR))
		err = -errno;
	if (!ASSERT_OK(err, "fin: the client writes 100000 bytes and shuts down at once"))
		goto out_close;
	check_fin(f, &c, SM_DIR_UP, &up, FIN_BYTES, c.backend, c.b, "the client's FIN");

	/* the backend's FIN on its last data segment (corked: the FIN joins the queued skb) */
	err = setsockopt(c.backend, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) ? -errno : 0;
	if (!err)
		err = send_all(c.backend, &down, CORKED_BYTES);
	if (!err && shutdown(c.backend, SHUT_WR))
		err = -errno;
	if (!ASSERT_OK(err, "fin: the backend, corked, writes 1000 bytes and shuts down"))
		goto out_close;
	check_fin(f, &c, SM_DIR_DOWN, &down, CORKED_BYTES, c.client, c.a,
		  "a FIN riding on the last data segment");
out_close:
	conn_close(f, &c);
}

/* --- 4. back-pressure -------------------------------------------------------------------- */

/* Bytes queued on fd: acknowledged + still in its send queue (user/tcpstat.c's figure). */
static int tcp_queued(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	if (ioctl(fd, SIOCOUTQ, &outq) < 0)
		return -errno;
	*out = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

/* Every byte redirected to B, and every byte written to it, has entered B's send queue. */
static bool flushed(struct fixture *f, struct conn *c)
{
	struct sm_dir_state *d = dir_state(f, c, SM_DIR_UP);
	__u64 base = load64(&d->peer_base), moved = load64(&d->redirected) + d->written;
	uint64_t queued = 0;

	if (!(base & SM_BASE_SET))
		return moved == 0;
	if (tcp_queued(c->b, &queued))
		return false;
	return queued - (base & ~SM_BASE_SET) >= moved;
}

/*
 * One step of user/engine/sockmap_carry.c's sockmap_carry() for the client's direction: passed
 * bytes are read from A and written to B, never before everything the program redirected has
 * entered B's send queue; written is published after each write. Bytes moved, or -errno.
 */
static ssize_t carry_step(struct fixture *f, struct conn *c, struct carrier *k, uint64_t seed)
{
	struct sm_dir_state *d = dir_state(f, c, SM_DIR_UP);
	__u64 redirected;
	ssize_t n;

	if (!k->len) {
		if (load64(&d->passed) == d->written)
			return 0;
		/* passed bytes unwritten: the program redirects nothing until they are */
		redirected = load64(&d->redirected);
		if (!flushed(f, c))
			return 0;
		n = recv(c->a, k->buf, sizeof(k->buf), MSG_DONTWAIT);
		if (n <= 0)
			return n < 0 && errno != EAGAIN ? -errno : 0;
		if (!k->started) {
			k->started = true;
			k->first_at = redirected;
			k->first_in_order = stream_match(k->buf, n, seed, redirected) == (size_t)n;
		}
		k->off = 0;
		k->len = n;
	}
	/* the program may have redirected bytes between its last check and our recv() */
	if (!flushed(f, c))
		return 0;
	n = send(c->b, k->buf + k->off, k->len - k->off, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	__atomic_store_n(&d->written, d->written + n, __ATOMIC_RELEASE);
	k->off += n;
	if (k->off == k->len)
		k->len = 0;
	return n;
}

/* Writes at fd until it cannot for STALL_MS, or limit is reached. 0 or -errno. */
static int send_until_stalled(int fd, struct stream *st, uint64_t limit)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (st->sent < limit) {
		n = stream_send(fd, st, limit);
		if (n < 0)
			return (int)n;
		if (!n && poll(&p, 1, STALL_MS) == 0)
			break;
	}
	return 0;
}

/* The backend reads, user space carries the passed bytes, the client goes on to total. */
static int drain_spill(struct fixture *f, struct conn *c, struct stream *st, struct carrier *k,
		       uint64_t total)
{
	uint64_t deadline = now_ms() + 5000;
	ssize_t sent, got, carried;

	while (st->got < total) {
		sent = st->sent < total ? stream_send(c->client, st, total) : 0;
		got = stream_recv(c->backend, st);
		carried = carry_step(f, c, k, st->seed);
		if (sent < 0 || got < 0 || carried < 0)
			return -EIO;
		if (sent || got || carried)
			continue;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(100);
	}
	return 0;
}

static void diag_buffers(struct conn *c)
{
	int outq_client = 0, outq_b = 0, inq_backend = 0, sndbuf_b = 0, rcvbuf_a = 0;
	socklen_t len = sizeof(int);

	ioctl(c->client, SIOCOUTQ, &outq_client);
	ioctl(c->b, SIOCOUTQ, &outq_b);
	ioctl(c->backend, SIOCINQ, &inq_backend);
	getsockopt(c->b, SOL_SOCKET, SO_SNDBUF, &sndbuf_b, &len);
	len = sizeof(int);
	getsockopt(c->a, SOL_SOCKET, SO_RCVBUF, &rcvbuf_a, &len);
	tap_diag("  send queues: client %d, B %d (SO_SNDBUF %d)", outq_client, outq_b, sndbuf_b);
	tap_diag("  A's SO_RCVBUF %d, backend's receive queue %d", rcvbuf_a, inq_backend);
}

static void test_spill(struct fixture *f)
{
	static struct carrier k;
	struct stream up = { .seed = 7, .bad_at = NO_BAD };
	struct sm_dir_state *d;
	__u64 redirected, passed;
	uint64_t total, stalled;
	struct conn c;
	int err;

	memset(&k, 0, sizeof(k));
	err = conn_open(&c, SLOT_SPILL);
	if (!err)
		err = conn_splice(f, &c);
	if (!ASSERT_OK(err, "spill: both connections handed to the program"))
		goto out_close;
	d = dir_state(f, &c, SM_DIR_UP);

	/* the backend reads nothing */
	err = send_until_stalled(c.client, &up, SPILL_LIMIT);
	stalled = up.sent;
	tap_diag("  the client wrote %llu bytes before it stalled", (unsigned long long)stalled);
	diag_dir("up", d);
	diag_buffers(&c);
	ASSERT_TRUE(!err && stalled < SPILL_LIMIT,
		    "spill: the backend reads nothing: the client is stopped under 64 MiB");
	ASSERT_TRUE(load32(&d->spilling) == 1 && d->spills == 1,
		    "spill: the program started spilling once, and still is");
	ASSERT_TRUE(load64(&d->redirected) > 0 && load64(&d->passed) > 0 && d->dropped == 0,
		    "spill: bytes were redirected until B was full, then passed to user space");

	/* the backend reads; user space carries what was passed, as the engine does */
	total = stalled + MIB;
	err = drain_spill(f, &c, &up, &k, total);
	if (err)
		tap_diag("  draining: %s", strerror(-err));
	ASSERT_TRUE(k.started && k.first_in_order,
		    "spill: the first byte read from A comes right after the last redirected one");
	if (k.started)
		tap_diag("  first passed byte: stream offset %llu", (unsigned long long)k.first_at);
	check_stream(&up, total,
		     "spill: all bytes reach the backend in order: redirected, carried, the rest");
	if (!ASSERT_TRUE(load64(&d->redirected) + load64(&d->passed) == total &&
			 load64(&d->passed) == d->written && d->dropped == 0 && d->broken == 0,
			 "spill: redirected + passed = every byte; user space wrote all passed"))
		diag_dir("up", d);

	/* everything carried, B drained: the next bytes go through the kernel again */
	redirected = load64(&d->redirected);
	passed = load64(&d->passed);
	pump(c.client, c.backend, &up, total + CHUNK, CHUNK, WAIT_MS);
	check_stream(&up, total + CHUNK, "spill: 64 KiB more arrive in order after the spill");
	if (!ASSERT_TRUE(load64(&d->redirected) == redirected + CHUNK &&
			 load64(&d->passed) == passed && load32(&d->spilling) == 0,
			 "spill: caught up, B uncongested: redirecting again, not spilling"))
		diag_dir("up", d);
	if (d->repeated_skbs)
		tap_diag("  the program cut %u repeated skbs meanwhile", d->repeated_skbs);
out_close:
	conn_close(f, &c);
}

/* --- 5. repeated bytes ------------------------------------------------------------------- */

#define HEADER_LEN	16	/* a PROXY header, read off by user space */
#define BODY_LEN	1000
#define SEG_LEN		1000	/* the segment injected again */
#define NEW_LEN		1000	/* the new bytes injected behind it */
#define OWN_NEW		500	/* new bytes behind the client's own copy of those */

static void test_read_off(struct fixture *f)
{
	struct stream up = { .seed = 8, .bad_at = NO_BAD };
	struct sm_dir_state *d;
	struct conn c;
	int err;

	err = conn_open(&c, SLOT_READ_OFF);
	if (!ASSERT_OK(err, "read-off: two loopback connections"))
		goto out_close;
	stream_send(c.client, &up, HEADER_LEN + BODY_LEN);
	/* one skb on A; user space reads the header off it, the body stays queued */
	if (!ASSERT_TRUE(peeked(c.a, &up, HEADER_LEN + BODY_LEN) &&
			 recv(c.a, recv_buf, HEADER_LEN, MSG_DONTWAIT) == HEADER_LEN,
			 "read-off: user space reads 16 bytes off the first segment"))
		goto out_close;
	err = conn_splice(f, &c);
	if (!ASSERT_OK(err, "read-off: both sockets handed to the program"))
		goto out_close;
	up.got = HEADER_LEN;	/* the backend is owed the body only */
	expect(c.backend, &up, HEADER_LEN + BODY_LEN, WAIT_MS);
	check_stream(&up, HEADER_LEN + BODY_LEN,
		     "read-off: the body reaches the backend; the header read off does not");
	ASSERT_TRUE(quiet(c.backend), "read-off: nothing more reaches the backend");
	d = dir_state(f, &c, SM_DIR_UP);
	if (!ASSERT_TRUE(d->repeated_skbs == 1 && load64(&d->redirected) == BODY_LEN &&
			 d->broken == 0,
			 "read-off: the program cut the head off the partly read skb"))
		diag_dir("up", d);
out_close:
	conn_close(f, &c);
}

static uint32_t csum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* A packet socket on lo, seeing what leaves through it (only ETH_P_ALL taps see that). */
static int capture_open(void)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex("lo"),
	};
	int fd;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* The first IPv4 TCP segment from sport to dport with data that left through lo; its length. */
static ssize_t capture_segment(int fd, uint16_t sport, uint16_t dport, uint8_t *pkt, size_t cap)
{
	uint64_t deadline = now_ms() + WAIT_MS;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (now_ms() < deadline) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct iphdr *ip = (struct iphdr *)pkt;
		struct tcphdr *th;
		size_t ihl, tot;
		ssize_t n;

		n = recvfrom(fd, pkt, cap, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno != EAGAIN)
				return -errno;
			poll(&p, 1, 10);
			continue;
		}
		if (from.sll_pkttype != PACKET_OUTGOING || from.sll_protocol != htons(ETH_P_IP) ||
		    (size_t)n < sizeof(*ip) ||
		    ip->version != 4 || ip->protocol != IPPROTO_TCP)
			continue;
		ihl = ip->ihl * 4u;
		tot = ntohs(ip->tot_len);
		th = (struct tcphdr *)(pkt + ihl);
		if (tot > (size_t)n || tot < ihl + sizeof(*th) || th->source != sport ||
		    th->dest != dport || tot <= ihl + th->doff * 4u)
			continue;
		return (ssize_t)tot;
	}
	return -ETIMEDOUT;
}

/*
 * Sends the captured segment again with extra bytes appended: same ports, sequence number,
 * ACK and options (its timestamp passes PAWS), new lengths and checksums.
 */
static int inject_longer(uint8_t *pkt, size_t len, const uint8_t *extra, size_t extra_len)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct iphdr *ip = (struct iphdr *)pkt;
	size_t ihl = ip->ihl * 4u, tcp_len = len + extra_len - ihl;
	struct tcphdr *th = (struct tcphdr *)(pkt + ihl);
	uint8_t pseudo[12];
	uint32_t sum;
	int fd, err = 0;

	memcpy(pkt + len, extra, extra_len);
	ip->tot_len = htons((uint16_t)(len + extra_len));
	ip->check = 0;		/* the kernel fills it in for IPPROTO_RAW */
	memcpy(pseudo, &ip->saddr, 4);
	memcpy(pseudo + 4, &ip->daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = (uint8_t)(tcp_len >> 8);
	pseudo[11] = (uint8_t)tcp_len;
	th->check = 0;
	sum = csum_bytes(csum_bytes(0, pseudo, sizeof(pseudo)), (uint8_t *)th, tcp_len);
	th->check = csum_fold(sum);

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	dst.sin_addr.s_addr = ip->daddr;
	if (sendto(fd, pkt, len + extra_len, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		return 0;
	return sa.sin_port;
}

/*
 * A duplicate that TCP queues: the client's segment [s, s + 1000) sent again with the next
 * 1000 bytes behind it. A already has s + 1000 as rcv_nxt, so tcp_data_queue() queues the
 * whole segment, its head before rcv_nxt (as when a duplicate is coalesced with the next
 * segment in the backlog), and tcp_read_skb() hands it to the program as it is.
 */
static void test_repeat(struct fixture *f)
{
	static uint8_t pkt[4096];
	struct stream up = { .seed = 9, .bad_at = NO_BAD };
	uint8_t extra[NEW_LEN];
	struct sm_dir_state *d;
	struct conn c;
	ssize_t len;
	int cap, err;

	cap = capture_open();
	if (cap < 0) {
		tap_skip("repeat: an injected duplicate segment is cut to its new bytes",
			 "no packet socket on lo to capture the client's segment");
		return;
	}
	err = conn_open(&c, SLOT_REPEAT);
	if (!err)
		err = conn_splice(f, &c);
	if (!ASSERT_OK(err, "repeat: both connections handed to the program"))
		goto out_close;
	d = dir_state(f, &c, SM_DIR_UP);

	pump(c.client, c.backend, &up, SEG_LEN, SEG_LEN, WAIT_MS);
	len = capture_segment(cap, local_port(c.client), local_port(c.a), pkt,
			      sizeof(pkt) - NEW_LEN);
	if (!ASSERT_TRUE(len > 0 && up.got == SEG_LEN,
			 "repeat: the client's 1000-byte segment arrived, captured on lo"))
		goto out_close;
	stream_fill(extra, NEW_LEN, up.seed, SEG_LEN);
	err = inject_longer(pkt, (size_t)len, extra, NEW_LEN);
	if (!ASSERT_OK(err, "repeat: it is injected again with the next 1000 bytes behind"))
		goto out_close;
	expect(c.backend, &up, SEG_LEN + NEW_LEN, WAIT_MS);
	check_stream(&up, SEG_LEN + NEW_LEN,
		     "repeat: only the new bytes of the overlapping segment reach the backend");
	if (!ASSERT_TRUE(d->repeated_skbs == 1 && load64(&d->redirected) == SEG_LEN + NEW_LEN &&
			 d->broken == 0,
			 "repeat: the program counted one repeated skb and cut its 1000-byte head"))
		diag_dir("up", d);

	/*
	 * The client now sends those 1000 bytes itself, with OWN_NEW new ones in the same
	 * segment: its head is before rcv_nxt again, TCP queues it whole, the program cuts again.
	 */
	pump(c.client, c.backend, &up, SEG_LEN + NEW_LEN + OWN_NEW, NEW_LEN + OWN_NEW, WAIT_MS);
	check_stream(&up, SEG_LEN + NEW_LEN + OWN_NEW,
		     "repeat: the client's own copy, with 500 new bytes, not carried twice");
	if (!ASSERT_TRUE(d->repeated_skbs == 2 && d->broken == 0 &&
			 load64(&d->redirected) == SEG_LEN + NEW_LEN + OWN_NEW,
			 "repeat: the program cut that segment's head too (repeated_skbs 2)"))
		diag_dir("up", d);
	pump(c.client, c.backend, &up, SEG_LEN + NEW_LEN + OWN_NEW + CHUNK, CHUNK, WAIT_MS);
	check_stream(&up, SEG_LEN + NEW_LEN + OWN_NEW + CHUNK,
		     "repeat: 64 KiB more arrive intact behind them");
	if (!ASSERT_TRUE(d->repeated_skbs == 2 && d->broken == 0 && d->passed == 0 &&
			 load64(&d->redirected) == SEG_LEN + NEW_LEN + OWN_NEW + CHUNK,
			 "repeat: the counters hold every byte once"))
		diag_dir("up", d);
out_close:
	conn_close(f, &c);
	close(cap);
}

/*
 * Bytes that went around the program: A is taken out of verdict_map (it stays in redir_map),
 * user space reads what comes meanwhile, A goes back in. The program's next skb starts after
 * the byte it expects: nothing can make that stream whole, so it must flag the direction
 * broken and pass the skb to user space (which resets the connection), never redirect it.
 */
static void test_gap(struct fixture *f)
{
	struct stream up = { .seed = 11, .bad_at = NO_BAD };
	struct sm_dir_state *d;
	struct conn c;
	int one = 1, err;

	err = conn_open(&c, SLOT_GAP);
	if (!err)
		err = conn_splice(f, &c);
	if (!ASSERT_OK(err, "gap: both connections handed to the program"))
		goto out_close;
	d = dir_state(f, &c, SM_DIR_UP);
	pump(c.client, c.backend, &up, SEG_LEN, SEG_LEN, WAIT_MS);
	err = bpf_map_delete_elem(f->verdict_fd, &c.cookie[0]) ? -errno : 0;
	if (!err)
		err = send_all(c.client, &up, 2 * SEG_LEN);
	if (!err && !read_exact(c.a, &up, SEG_LEN, SEG_LEN))
		err = -EIO;
	if (!err)
		err = map_put_sock(f->verdict_fd, c.cookie[0], c.a);
	if (!err && setsockopt(c.a, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)))
		err = -errno;
	if (!ASSERT_OK(err, "gap: A out of verdict_map, 1000 bytes read by user space, A back in"))
		goto out_close;

	send_all(c.client, &up, 3 * SEG_LEN);
	wait64(&d->passed, SEG_LEN, WAIT_MS);
	if (!ASSERT_TRUE(load32(&d->broken) == 1 && load64(&d->passed) == SEG_LEN &&
			 load64(&d->redirected) == SEG_LEN && d->repeated_skbs == 0,
			 "gap: the next skb is flagged broken and passed, not redirected"))
		diag_dir("up", d);
	check_stream(&up, SEG_LEN, "gap: the backend got the bytes before the gap only");
	ASSERT_TRUE(quiet(c.backend), "gap: nothing after the gap reaches the backend");
	ASSERT_TRUE(read_exact(c.a, &up, 2 * SEG_LEN, SEG_LEN) &&
		    recv(c.a, recv_buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
		    "gap: the passed bytes, and only they, wait on A for user space");
out_close:
	conn_close(f, &c);
}

/* --- 6. a peer missing from redir_map ---------------------------------------------------- */

static void test_no_peer(struct fixture *f)
{
	struct stream up = { .seed = 10, .bad_at = NO_BAD };
	struct sm_dir_state *d;
	struct conn c;
	int err;

	err = conn_open(&c, SLOT_NO_PEER);
	if (!err)
		err = conn_splice(f, &c);
	if (!ASSERT_OK(err, "no peer: both connections handed to the program"))
		goto out_close;
	d = dir_state(f, &c, SM_DIR_UP);
	if (!ASSERT_OK(bpf_map_delete_elem(f->redir_fd, &c.cookie[1]) ? -errno : 0,
		       "no peer: B taken out of redir_map (still in verdict_map)"))
		goto out_close;
	send_all(c.client, &up, CHUNK);
	if (!ASSERT_TRUE(wait64(&d->dropped, CHUNK, WAIT_MS) && load64(&d->dropped) == CHUNK,
			 "no peer: the client's 64 KiB are dropped and counted in dropped"))
		diag_dir("up", d);
	if (!ASSERT_TRUE(load64(&d->redirected) == 0 && load64(&d->passed) == 0,
			 "no peer: nothing redirected, nothing passed"))
		diag_dir("up", d);
	ASSERT_TRUE(quiet(c.backend), "no peer: nothing reaches the backend");
	ASSERT_TRUE(recv(c.a, recv_buf, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
		    "no peer: nothing is left on A for user space");
out_close:
	conn_close(f, &c);
}

/* --- main -------------------------------------------------------------------------------- */

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* True when this process already has a network namespace other than init's (pid 1's). */
static bool own_netns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self) || stat("/proc/1/ns/net", &init))
		return false;
	return self.st_ino != init.st_ino || self.st_dev != init.st_dev;
}

/* --- 9. unbounded (--engine sockmap-unbounded, the benchmark's control) ------------------- */

/*
 * Without the congestion check the program still records the peer's base at the first skb:
 * the engine learns from it when redirected bytes have left the psock, before it passes a FIN
 * on. Without the base a connection whose client half-closes never ends.
 */
static void test_unbounded(void)
{
	struct stream up = { .seed = 9, .bad_at = NO_BAD };
	const char *why = "";
	struct fixture f;
	struct conn c;
	int err, i;

	err = fixture_open(&f, false, &why);
	if (!ASSERT_OK(err, "unbounded: the program loads without the congestion check")) {
		tap_diag("%s", why);
		return;
	}
	err = conn_open(&c, SLOT_TRANSFER);
	if (!err)
		err = conn_splice(&f, &c);
	if (!ASSERT_OK(err, "unbounded: both connections handed over"))
		goto out_close;
	err = pump(c.client, c.backend, &up, MIB, 256 * 1024, 5000);
	if (err)
		tap_diag("  up: %s", strerror(-err));
	check_stream(&up, MIB, "unbounded: 1 MiB client -> backend arrives in order, intact");
	ASSERT_TRUE(load64(&dir_state(&f, &c, SM_DIR_UP)->peer_base) & SM_BASE_SET,
		    "unbounded: the peer's base is recorded at the first skb");
	for (i = 0; i < 100 && !flushed(&f, &c); i++)
		usleep(10000);
	ASSERT_TRUE(flushed(&f, &c),
		    "unbounded: the engine can see every redirected byte left the psock");
out_close:
	conn_close(&f, &c);
	fixture_close(&f);
}

static void timed(void (*test)(struct fixture *), struct fixture *f, const char *name)
{
	uint64_t start = now_ms();

	test(f);
	tap_diag("%s took %llu ms", name, (unsigned long long)(now_ms() - start));
}

int main(void)
{
	const char *why = "";
	struct fixture f;
	int err;

	tap_plan_start();
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root: BPF, a network namespace, raw sockets\n");
		return 0;
	}
	/* a namespace of our own, unless run in one already: only its lo is touched */
	err = !own_netns() && unshare(CLONE_NEWNET) ? -errno : lo_up();
	if (err) {
		printf("1..0 # SKIP cannot make a network namespace with lo up: %s\n",
		       strerror(-err));
		return 0;
	}
	alarm(HANG_SECONDS);
	libbpf_set_print(libbpf_warn);
	err = fixture_open(&f, true, &why);
	if (err == -EPERM) {
		/* root without CAP_BPF/CAP_PERFMON (a container): nothing to test here */
		printf("1..0 # SKIP %s: %s\n", why, strerror(-err));
		return 0;
	}
	/* as root with BPF, a program the kernel refuses (the verifier) is a failure */
	if (!tap_result(!err, "setup: the verdict program loads and attaches")) {
		tap_diag("%s: %s", why, strerror(-err));
		return tap_done();
	}
	tap_result(true, "setup: peer_or_pass loaded and attached, counters mmap()ed");
	timed(test_transfer, &f, "transfer");
	timed(test_queued, &f, "queued");
	timed(test_fin, &f, "fin");
	timed(test_spill, &f, "spill");
	timed(test_read_off, &f, "read-off");
	timed(test_repeat, &f, "repeat");
	timed(test_gap, &f, "gap");
	timed(test_no_peer, &f, "no peer");
	fixture_close(&f);
	test_unbounded();
	return tap_done();
}
