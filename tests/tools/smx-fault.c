// SPDX-License-Identifier: MIT
/*
 * smx-fault.c - both ends of one faulty TCP conversation, for the oracle tests
 * (tests/e2e/faults.sh): the same scenario runs client -> server directly and through sockmux,
 * and what each end saw is compared.
 *
 *   smx-fault server --listen ADDR --scenario NAME --size N   (one connection, then exits)
 *   smx-fault client --connect ADDR --scenario NAME --size N [--bind ADDR]
 *   both: [--at BYTES] (where a mid-transfer fault happens; default half of N)
 *         [--read-rate BYTES_PER_S] (a slow reader)
 *         [--pace MS] (every payload spread over MS milliseconds, in chunks of at most
 *         64 KiB, rather than sent at once: tests/e2e/pipeswitch.sh)
 *
 * The client always opens with OPENER (so that sockmux has bytes to route on, the same both
 * ways); every payload is the PRNG stream of peer_common.h (seed 1 upwards, 2 downwards), so a
 * receiver checks each byte. Each end prints one line:
 *
 *   role=client scenario=S size=N sent=X send_end=ok|reset|pipe recv=Y recv_ok=1
 *   recv_end=eof|reset|none recv_sha256=H ms=T
 *
 * A fault is made at a point both ways see alike: before it, the faulting end waits until
 * every byte it wrote was acknowledged (SIOCOUTQ 0), so the bytes in flight are not left to
 * chance. "kill" scenarios end with raise(SIGKILL), which is what kill -9 does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <time.h>

#include "peer_common.h"

#define OPENER "SMXF\n"
#define OPENER_LEN 5
#define REQUEST_LEN 1024	/* reply_reset: what the server leaves unread */
#define PACE_MS 2000		/* half-close scenarios: the other way flows this long */
#define NEVER_READ_MS 1000	/* never_reads: the server holds the connection this long */
#define NO_LIMIT UINT64_MAX

enum role { CLIENT, SERVER };

struct scenario {
	const char *name;
	void (*client)(int fd, uint64_t n);
	void (*server)(int fd, uint64_t n);
};

/* One direction's observations. */
struct half {
	uint64_t bytes;
	int end;		/* 0: EOF (or all sent), else errno; -1: not ended */
	bool ok;		/* every byte received matched the stream */
	EVP_MD_CTX *md;
	struct stream st;
};

static struct half tx = { .end = -1, .ok = true }, rx = { .end = -1, .ok = true };
static enum role role;
static const char *scen_name;
static uint64_t size;
static uint64_t fault_at = UINT64_MAX;	/* --at; UINT64_MAX: half of size */
static uint64_t read_rate;		/* --read-rate, bytes/s; 0: as fast as it comes */
static long pace_all;			/* --pace, ms; 0: payloads sent at once */
static struct timespec t_start;

static long ms_since_start(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t_start.tv_sec) * 1000 + (t.tv_nsec - t_start.tv_nsec) / 1000000;
}

static const char *end_name(int end)
{
	switch (end) {
	case -1: return "none";
	case 0: return "ok";
	case ECONNRESET: return "reset";
	case EPIPE: return "pipe";
	case ETIMEDOUT: return "timeout";
	default: return strerror(end);
	}
}

static void report(void)
{
	uint8_t md[32];
	unsigned int len;
	char sha[65];

	EVP_DigestFinal_ex(rx.md, md, &len);
	hex(md, 32, sha);
	printf("role=%s scenario=%s size=%" PRIu64 " sent=%" PRIu64 " send_end=%s recv=%" PRIu64
	       " recv_ok=%d recv_end=%s recv_sha256=%s ms=%ld\n",
	       role == CLIENT ? "client" : "server", scen_name, size, tx.bytes, end_name(tx.end),
	       rx.bytes, rx.ok, rx.end == 0 ? "eof" : end_name(rx.end), sha, ms_since_start());
	fflush(stdout);
}

/* Sends n more bytes of the stream (paced over pace_ms if not 0, else --pace); 0 or errno. */
static int send_n(int fd, uint64_t n, long pace_ms)
{
	static uint8_t buf[65536];
	uint64_t left = n, chunk = sizeof(buf);
	long t0 = ms_since_start();

	if (!pace_ms)
		pace_ms = pace_all;
	if (pace_ms) {
		chunk = n / 16 ? n / 16 : 1;
		if (chunk > sizeof(buf))
			chunk = sizeof(buf);
	}
	while (left) {
		size_t k = left < chunk ? left : chunk;
		ssize_t w;
		size_t off = 0;

		if (pace_ms) {
			/* stay on the line from 0 at t0 to n at t0 + pace_ms */
			while ((double)(n - left) > (double)n * (ms_since_start() - t0) / pace_ms)
				usleep(1000);
		}
		stream_fill(&tx.st, buf, k);
		while (off < k) {
			w = send(fd, buf + off, k - off, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				tx.end = errno;
				return errno;
			}
			off += w;
			tx.bytes += w;
		}
		left -= k;
	}
	tx.end = 0;
	return 0;
}

/* Reads until EOF, an error, or limit bytes (NO_LIMIT: none); records how it ended. */
static void recv_until(int fd, uint64_t limit)
{
	static uint8_t buf[65536], expect[65536];

	for (;;) {
		size_t want = sizeof(buf);
		ssize_t n;

		if (limit - rx.bytes < want)
			want = limit - rx.bytes;
		if (!want)
			return;
		if (read_rate) {
			/* stay on the line of read_rate bytes per second, 16 KiB at a time */
			if (want > 16384)
				want = 16384;
			while ((double)rx.bytes > (double)read_rate * ms_since_start() / 1000)
				usleep(2000);
		}
		n = recv(fd, buf, want, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rx.end = errno;
			return;
		}
		if (n == 0) {
			rx.end = 0;
			return;
		}
		EVP_DigestUpdate(rx.md, buf, n);
		stream_fill(&rx.st, expect, n);
		if (memcmp(buf, expect, n))
			rx.ok = false;
		rx.bytes += n;
	}
}

/* Reads exactly the opener; false if it did not come whole. */
static bool recv_opener(int fd)
{
	char buf[OPENER_LEN];
	size_t got = 0;

	while (got < OPENER_LEN) {
		ssize_t n = recv(fd, buf + got, OPENER_LEN - got, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			rx.end = n ? errno : 0;
			return false;
		}
		got += n;
	}
	return !memcmp(buf, OPENER, OPENER_LEN);
}

/* Waits until every byte written on fd was acknowledged (10 s at most). */
static void wait_acked(int fd)
{
	for (int i = 0; i < 10000; i++) {
		int outq = 0;

		if (ioctl(fd, SIOCOUTQ, &outq) < 0 || outq == 0)
			return;
		usleep(1000);
	}
}

/* Waits until at least n bytes are queued unread on fd (10 s at most). */
static void wait_queued(int fd, int n)
{
	for (int i = 0; i < 10000; i++) {
		int inq = 0;

		if (ioctl(fd, SIOCINQ, &inq) < 0 || inq >= n)
			return;
		usleep(1000);
	}
}

static void abort_conn(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void die_now(void)
{
	report();
	raise(SIGKILL);
}

struct sender {
	int fd;
	uint64_t n;
	long pace_ms;
	bool shut;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	if (!send_n(s->fd, s->n, s->pace_ms) && s->shut)
		shutdown(s->fd, SHUT_WR);
	return NULL;
}

/* Sends n bytes (then FIN if shut) while reading until the end, as two threads. */
static void send_and_recv(int fd, uint64_t n, long pace_ms, bool shut)
{
	struct sender s = { .fd = fd, .n = n, .pace_ms = pace_ms, .shut = shut };
	pthread_t t;

	pthread_create(&t, NULL, sender_main, &s);
	recv_until(fd, NO_LIMIT);
	pthread_join(t, NULL);
}

/* Where a mid-transfer fault happens: --at, or half-way. */
static uint64_t half_of(uint64_t n)
{
	return fault_at <= n ? fault_at : (n + 1) / 2;
}

/* --- scenarios: what the client does, what the server does --------------------------------- */

/* The server answers without reading the request and closes: its kernel sends a reset. */
static void reply_reset_client(int fd, uint64_t n)
{
	send_n(fd, REQUEST_LEN, 0);
	recv_until(fd, NO_LIMIT);
}

static void reply_reset_server(int fd, uint64_t n)
{
	wait_queued(fd, OPENER_LEN + REQUEST_LEN);
	send_n(fd, n, 0);
	wait_acked(fd);
	report();
	close(fd);
}

/*
 * The server reads only the opener, answers, sends its FIN and closes with the request still
 * unread: its kernel sends FIN, then a reset (Python's http.server does this to a POST whose
 * body it does not read). A direct client reads the answer, then EOF.
 */
static void reply_fin_reset_client(int fd, uint64_t n)
{
	send_n(fd, REQUEST_LEN, 0);
	recv_until(fd, NO_LIMIT);
}

static void reply_fin_reset_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	wait_queued(fd, REQUEST_LEN);
	send_n(fd, n, 0);
	shutdown(fd, SHUT_WR);
	wait_acked(fd);
	report();
	close(fd);
}

/*
 * The server sends a banner at once, then its FIN, then a reset, without waiting for anything
 * (before sockmux may have seen its connect complete).
 */
static void banner_fin_reset_client(int fd, uint64_t n)
{
	recv_until(fd, NO_LIMIT);
}

static void banner_fin_reset_server(int fd, uint64_t n)
{
	send_n(fd, n, 0);
	shutdown(fd, SHUT_WR);
	wait_acked(fd);
	report();
	abort_conn(fd);
}

/* The server answers, sends its FIN and reads on while the client still sends. */
static void reply_fin_client(int fd, uint64_t n)
{
	send_and_recv(fd, n, 0, true);
}

static void reply_fin_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	send_n(fd, n, 0);
	shutdown(fd, SHUT_WR);
	recv_until(fd, NO_LIMIT);
}

/* The server answers and closes while the client still sends: a reset behind the answer. */
static void reply_close_client(int fd, uint64_t n)
{
	send_and_recv(fd, n, 0, true);
}

static void reply_close_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	wait_queued(fd, 1);	/* the client is sending: closing now is a reset */
	send_n(fd, n, 0);
	wait_acked(fd);
	report();
	close(fd);
}

/* The client sends its request and its FIN at once, then reads the answer. */
static void req_fin_client(int fd, uint64_t n)
{
	send_n(fd, n, 0);
	shutdown(fd, SHUT_WR);
	recv_until(fd, NO_LIMIT);
}

static void req_fin_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	recv_until(fd, NO_LIMIT);
	send_n(fd, n, 0);
}

/* The client resets half-way through its upload. */
static void client_reset_up_client(int fd, uint64_t n)
{
	send_n(fd, half_of(n), 0);
	wait_acked(fd);
	report();
	abort_conn(fd);
}

static void client_reset_up_server(int fd, uint64_t n)
{
	if (recv_opener(fd))
		recv_until(fd, NO_LIMIT);
}

/* The client resets half-way through its download. */
static void client_reset_down_client(int fd, uint64_t n)
{
	recv_until(fd, half_of(n));
	report();
	abort_conn(fd);
}

static void client_reset_down_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	send_n(fd, n, 0);
	if (!tx.end)
		recv_until(fd, NO_LIMIT);
}

/* The server resets half-way through the client's upload. */
static void server_reset_up_client(int fd, uint64_t n)
{
	send_and_recv(fd, n, 0, true);
}

static void server_reset_up_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	recv_until(fd, half_of(n));
	report();
	abort_conn(fd);
}

/* The server resets half-way through the client's download. */
static void server_reset_down_client(int fd, uint64_t n)
{
	recv_until(fd, NO_LIMIT);
}

static void server_reset_down_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	send_n(fd, half_of(n), 0);
	wait_acked(fd);
	report();
	abort_conn(fd);
}

/* The client half-closes; the server's answer flows for PACE_MS after it. */
static void halfclose_client_client(int fd, uint64_t n)
{
	shutdown(fd, SHUT_WR);
	recv_until(fd, NO_LIMIT);
}

static void halfclose_client_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	recv_until(fd, NO_LIMIT);
	send_n(fd, n, PACE_MS);
}

/* The server half-closes first; the client's upload flows for PACE_MS after it. */
static void halfclose_server_client(int fd, uint64_t n)
{
	send_and_recv(fd, n, PACE_MS, true);
}

static void halfclose_server_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	shutdown(fd, SHUT_WR);
	recv_until(fd, NO_LIMIT);
}

/* The server accepts and never reads; it closes after NEVER_READ_MS (a reset: unread data). */
static void never_reads_client(int fd, uint64_t n)
{
	send_and_recv(fd, n, 0, false);
}

static void never_reads_server(int fd, uint64_t n)
{
	usleep(NEVER_READ_MS * 1000);
	report();
	close(fd);
}

/* The server closes at once, before it could read the client's first byte. */
static void close_first_client(int fd, uint64_t n)
{
	send_and_recv(fd, n, 0, false);
}

static void close_first_server(int fd, uint64_t n)
{
	report();
	close(fd);
}

/* kill -9 of the server half-way through the download. */
static void kill_server_client(int fd, uint64_t n)
{
	recv_until(fd, NO_LIMIT);
}

static void kill_server_server(int fd, uint64_t n)
{
	if (!recv_opener(fd))
		return;
	send_n(fd, half_of(n), 0);
	wait_acked(fd);
	die_now();
}

/* kill -9 of the client half-way through the upload. */
static void kill_client_client(int fd, uint64_t n)
{
	send_n(fd, half_of(n), 0);
	wait_acked(fd);
	die_now();
}

static void kill_client_server(int fd, uint64_t n)
{
	if (recv_opener(fd))
		recv_until(fd, NO_LIMIT);
}

#define SCENARIO(x) { #x, x##_client, x##_server }
static const struct scenario scenarios[] = {
	SCENARIO(reply_reset),
	SCENARIO(reply_fin),
	SCENARIO(reply_fin_reset),
	SCENARIO(banner_fin_reset),
	SCENARIO(reply_close),
	SCENARIO(req_fin),
	SCENARIO(client_reset_up),
	SCENARIO(client_reset_down),
	SCENARIO(server_reset_up),
	SCENARIO(server_reset_down),
	SCENARIO(halfclose_client),
	SCENARIO(halfclose_server),
	SCENARIO(never_reads),
	SCENARIO(close_first),
	SCENARIO(kill_server),
	SCENARIO(kill_client),
};

static const struct scenario *find_scenario(const char *name)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

static int run_server(const char *addr, const struct scenario *sc)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, fd, one = 1;

	if (parse_addr(addr, &ss, &len)) {
		fprintf(stderr, "bad address %s\n", addr);
		return 2;
	}
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, len) < 0 || listen(lfd, 16) < 0) {
		perror("listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		perror("accept");
		return 1;
	}
	close(lfd);
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	stream_init(&tx.st, 2);
	stream_init(&rx.st, 1);
	sc->server(fd, size);
	/* the scenarios that close or reset on their own reported before; the rest now */
	if (fcntl(fd, F_GETFD) >= 0) {
		report();
		close(fd);
	}
	return 0;
}

static int run_client(const char *addr, const char *bind_addr, const struct scenario *sc)
{
	struct sockaddr_storage ss, bs;
	socklen_t len, blen;
	int fd;

	if (parse_addr(addr, &ss, &len) || (bind_addr && parse_addr(bind_addr, &bs, &blen))) {
		fprintf(stderr, "bad address %s\n", addr);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind_addr && bind(fd, (struct sockaddr *)&bs, blen) < 0) {
		perror("bind");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		perror("connect");
		return 1;
	}
	if (send(fd, OPENER, OPENER_LEN, MSG_NOSIGNAL) != OPENER_LEN) {
		perror("send opener");
		return 1;
	}
	stream_init(&tx.st, 1);
	stream_init(&rx.st, 2);
	sc->client(fd, size);
	if (fcntl(fd, F_GETFD) >= 0) {
		report();
		close(fd);
	}
	return 0;
}

static const char usage[] =
	"usage: smx-fault server --listen ADDR --scenario NAME --size N [--at BYTES]\n"
	"                        [--read-rate BYTES_PER_S] [--pace MS]\n"
	"       smx-fault client --connect ADDR --scenario NAME --size N [--at BYTES]\n"
	"                        [--read-rate BYTES_PER_S] [--pace MS] [--bind ADDR]\n"
	"       smx-fault list\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "scenario", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'n' },
		{ "at", required_argument, NULL, 'a' },
		{ "read-rate", required_argument, NULL, 'r' },
		{ "bind", required_argument, NULL, 'b' },
		{ "pace", required_argument, NULL, 'p' },
		{ 0 }
	};
	const struct scenario *sc;
	const char *addr = NULL, *bind_addr = NULL;
	int o;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "list")) {
		for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	role = !strcmp(argv[1], "server") ? SERVER : CLIENT;
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l':
		case 'c': addr = optarg; break;
		case 's': scen_name = optarg; break;
		case 'n': size = strtoull(optarg, NULL, 0); break;
		case 'a': fault_at = strtoull(optarg, NULL, 0); break;
		case 'r': read_rate = strtoull(optarg, NULL, 0); break;
		case 'b': bind_addr = optarg; break;
		case 'p': pace_all = strtol(optarg, NULL, 0); break;
		default: fputs(usage, stderr); return 2;
		}
	}
	sc = scen_name ? find_scenario(scen_name) : NULL;
	if (!addr || !sc) {
		fputs(usage, stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	rx.md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(rx.md, EVP_sha256(), NULL);
	return role == SERVER ? run_server(addr, sc) : run_client(addr, bind_addr, sc);
}
