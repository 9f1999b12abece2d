// SPDX-License-Identifier: MIT
/*
 * smx-peer.c - the test client and backend server for sockmux's end-to-end tests.
 *
 * client: connects, sends a ClientHello (built from --sni/--alpn, or read from --hello-file),
 *         then a request line "SMX <up-bytes> <down-bytes> <seed> <mode>\n", then up-bytes of
 *         a PRNG stream; reads the server's "TAG <name>\n" line and down-bytes of the other
 *         PRNG stream, checking every byte. Prints one line with counts and SHA-256 sums and
 *         exits 0 only if everything arrived intact.
 * server: accepts, skips the ClientHello (by its TLS record lengths), reads the request line,
 *         answers with its tag and the requested stream, checks what it receives, and prints
 *         one result line per connection on stdout.
 * mode "both": each side sends while it receives; "halfclose": the client sends, then
 * shutdown(SHUT_WR), and the server answers only after it saw that EOF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "peer_common.h"

struct side {
	int fd;
	uint64_t bytes;
	uint64_t seed;
	uint64_t done;
	uint64_t bad_at;	/* first corrupt offset + 1, 0 if none */
	bool eof_early;
	uint64_t rate;		/* reader: bytes/s, 0 = unlimited */
	double slow_for;	/* reader: apply rate for this many seconds only (0: always) */
	long pause_ms;		/* reader: alternate pause_ms reading, pause_ms paused */
	long burst_ms;		/* sender: alternate burst_ms sending, burst_ms idle */
	char sha[65];
	int err;
};

static void *send_stream(void *arg)
{
	struct side *s = arg;
	struct stream st;
	uint8_t *buf = malloc(CHUNK), md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen;

	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	stream_init(&st, s->seed);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while (s->done < s->bytes) {
		size_t n = s->bytes - s->done < CHUNK ? s->bytes - s->done : CHUNK;

		if (s->burst_ms) {
			long el;

			clock_gettime(CLOCK_MONOTONIC, &t);
			el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
			if ((el / s->burst_ms) % 2) {
				usleep(1000);
				continue;
			}
		}

		stream_fill(&st, buf, n);
		EVP_DigestUpdate(ctx, buf, n);
		s->err = write_all(s->fd, buf, n);
		if (s->err)
			break;
		s->done += n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hex(md, 32, s->sha);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return NULL;
}

static void *recv_stream(void *arg)
{
	struct side *s = arg;
	struct stream st;
	uint8_t *buf = malloc(CHUNK), *expect = malloc(CHUNK), md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	stream_init(&st, s->seed);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (;;) {
		size_t want = CHUNK;
		ssize_t n;

		if (s->pause_ms) {
			long el;

			clock_gettime(CLOCK_MONOTONIC, &t);
			el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
			if ((el / s->pause_ms) % 2) {
				usleep(1000);
				continue;
			}
		}
		if (s->rate) {
			double el;

			clock_gettime(CLOCK_MONOTONIC, &t);
			el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
			if (s->slow_for && el > s->slow_for)
				goto read_now;
			want = 16384;
			for (;;) {
				clock_gettime(CLOCK_MONOTONIC, &t);
				el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
				if ((double)s->done < el * (double)s->rate)
					break;
				usleep(2000);
			}
		}
read_now:
		n = read(s->fd, buf, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			s->err = -errno;
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, n);
		stream_fill(&st, expect, n);
		if (!s->bad_at && memcmp(buf, expect, n)) {
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] != expect[i]) {
					s->bad_at = s->done + i + 1;
					break;
				}
			}
		}
		s->done += n;
	}
	s->eof_early = s->done < s->bytes;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hex(md, 32, s->sha);
	EVP_MD_CTX_free(ctx);
	free(buf);
	free(expect);
	return NULL;
}

static bool side_ok(const struct side *r)
{
	return !r->err && !r->bad_at && r->done == r->bytes;
}

/* Reads exactly one line (up to '\n') without reading past it. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return 0;
		}
		n++;
	}
	return -1;
}

static int read_exact(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Skips one ClientHello: TLS records until the handshake message is complete. */
static int skip_hello(int fd)
{
	uint8_t hdr[5], rec[16384 + 2048];
	size_t need = 0, got = 0;

	do {
		size_t len;

		if (read_exact(fd, hdr, 5) || hdr[0] != 22)
			return -1;
		len = (size_t)hdr[3] << 8 | hdr[4];
		if (len > sizeof(rec) || read_exact(fd, rec, len))
			return -1;
		if (got == 0) {
			if (len < 4)
				return -1;
			need = 4 + ((size_t)rec[1] << 16 | (size_t)rec[2] << 8 | rec[3]);
		}
		got += len;
	} while (got < need);
	return 0;
}

struct server_conn {
	int fd;
	const char *tag;
	uint64_t rate;
	double slow_for;
	long pause_ms;
	long burst_ms;
	pthread_mutex_t *out_lock;
};

static void *serve_conn(void *arg)
{
	struct server_conn *sc = arg;
	struct side up = { .fd = sc->fd, .rate = sc->rate, .slow_for = sc->slow_for,
			   .pause_ms = sc->pause_ms },
		    down = { .fd = sc->fd, .burst_ms = sc->burst_ms };
	pthread_t rt, wt;
	char line[256], mode[32] = "";
	unsigned long long nup = 0, ndown = 0, seed = 0;
	char tagline[128];

	if (skip_hello(sc->fd) || read_line(sc->fd, line, sizeof(line)) ||
	    sscanf(line, "SMX %llu %llu %llu %31s", &nup, &ndown, &seed, mode) != 4) {
		pthread_mutex_lock(sc->out_lock);
		printf("conn tag=%s error=bad-request\n", sc->tag);
		fflush(stdout);
		pthread_mutex_unlock(sc->out_lock);
		goto out;
	}
	up.bytes = nup;
	up.seed = seed;
	down.bytes = ndown;
	down.seed = seed ^ 0x5555;
	snprintf(tagline, sizeof(tagline), "TAG %s\n", sc->tag);
	write_all(sc->fd, tagline, strlen(tagline));
	pthread_create(&rt, NULL, recv_stream, &up);
	if (!strcmp(mode, "halfclose"))
		pthread_join(rt, NULL);
	pthread_create(&wt, NULL, send_stream, &down);
	if (strcmp(mode, "halfclose"))
		pthread_join(rt, NULL);
	pthread_join(wt, NULL);
	shutdown(sc->fd, SHUT_WR);
	pthread_mutex_lock(sc->out_lock);
	printf("conn tag=%s mode=%s recv=%" PRIu64 " recv_sha256=%s sent=%" PRIu64
	       " sent_sha256=%s %s\n",
	       sc->tag, mode, up.done, up.sha, down.done, down.sha,
	       side_ok(&up) && !down.err ? "ok" : "FAIL");
	fflush(stdout);
	pthread_mutex_unlock(sc->out_lock);
	/* wait for the client's close so the last bytes are not cut by a reset */
	while (read(sc->fd, line, sizeof(line)) > 0)
		;
out:
	close(sc->fd);
	free(sc);
	return NULL;
}

static int run_server(const char *listen_addr, const char *tag, uint64_t rate, double slow_for,
		      long pause_ms, long burst_ms, bool no_accept)
{
	static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (parse_addr(listen_addr, &ss, &len)) {
		fprintf(stderr, "smx-peer: bad address %s\n", listen_addr);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, no_accept ? 0 : 1024)) {
		fprintf(stderr, "smx-peer: listen %s: %s\n", listen_addr, strerror(errno));
		return 2;
	}
	printf("listening %s tag=%s\n", listen_addr, tag);
	fflush(stdout);
	/* never accepting: once its queue holds one connection, further SYNs go unanswered */
	while (no_accept)
		pause();
	for (;;) {
		struct server_conn *sc;
		pthread_t t;
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		sc = calloc(1, sizeof(*sc));
		sc->fd = c;
		sc->tag = tag;
		sc->rate = rate;
		sc->slow_for = slow_for;
		sc->pause_ms = pause_ms;
		sc->burst_ms = burst_ms;
		sc->out_lock = &out_lock;
		pthread_create(&t, NULL, serve_conn, sc);
		pthread_detach(t);
	}
}

struct client_opts {
	uint64_t rate;		/* read the answer at this rate (bytes/s) ... */
	double slow_for;	/* ... for this many seconds (0: always) */
	long burst_ms;		/* send in bursts of burst_ms, idle as long between */
	bool rst;		/* after sending, close with a reset instead of reading */
	long drip_ms;		/* send the hello one byte every drip_ms ms */
	long hold_ms;		/* after the (partial) hello, wait this long, report, close */
};

/* True when the peer closed or reset the connection (without consuming data). */
static bool poll_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN);
}

/*
 * Waits until ms after t0 for the server side to close; prints "closed_after_ms=N" (time
 * since t0) or "open_after_ms=N".
 */
static void wait_closed(int fd, const struct timespec *t0, long ms)
{
	struct timespec t;
	char buf[4096];
	long el;

	for (;;) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = read(fd, buf, sizeof(buf));
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			printf("client closed_after_ms=%ld%s\n", el,
			       n < 0 && errno == ECONNRESET ? " reset" : "");
			return;
		}
		if (el >= ms) {
			printf("client open_after_ms=%ld\n", el);
			return;
		}
	}
}

static int run_client(const char *addr, const uint8_t *hello, size_t hello_len, uint64_t nup,
		      uint64_t ndown, uint64_t seed, const char *mode, const char *expect_tag,
		      const struct client_opts *co)
{
	struct side up = { .bytes = nup, .seed = seed },
		    down = { .bytes = ndown, .seed = seed ^ 0x5555, .rate = co->rate,
			     .slow_for = co->slow_for };
	struct sockaddr_storage ss;
	socklen_t len;
	pthread_t wt, rt;
	char line[256], tag[128] = "";
	int fd, ok;

	if (parse_addr(addr, &ss, &len)) {
		fprintf(stderr, "smx-peer: bad address %s\n", addr);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		printf("client error=connect:%s\n", strerror(errno));
		return 1;
	}
	snprintf(line, sizeof(line), "SMX %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", nup, ndown,
		 seed, mode);
	if (co->drip_ms || co->hold_ms) {
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (!co->drip_ms) {
			write_all(fd, hello, hello_len);
		} else {
			for (size_t i = 0; i < hello_len; i++) {
				if (write_all(fd, hello + i, 1) || poll_closed(fd))
					break;
				usleep(co->drip_ms * 1000);
			}
		}
		wait_closed(fd, &t0, co->hold_ms ? co->hold_ms : 10000);
		close(fd);
		return 0;
	}
	if (write_all(fd, hello, hello_len) || write_all(fd, line, strlen(line))) {
		printf("client error=write-hello\n");
		return 1;
	}
	up.fd = down.fd = fd;
	up.burst_ms = co->burst_ms;
	if (co->rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		send_stream(&up);
		usleep(200000);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		printf("client sent=%" PRIu64 " then reset\n", up.done);
		return 0;
	}
	pthread_create(&wt, NULL, send_stream, &up);
	if (!strcmp(mode, "halfclose")) {
		pthread_join(wt, NULL);
		shutdown(fd, SHUT_WR);
	}
	if (read_line(fd, line, sizeof(line)) || sscanf(line, "TAG %127s", tag) != 1) {
		printf("client error=no-tag\n");
		return 1;
	}
	pthread_create(&rt, NULL, recv_stream, &down);
	if (strcmp(mode, "halfclose")) {
		pthread_join(wt, NULL);
		shutdown(fd, SHUT_WR);
	}
	pthread_join(rt, NULL);
	ok = side_ok(&down) && !up.err && up.done == nup &&
	     (!expect_tag || !strcmp(expect_tag, tag));
	printf("client tag=%s sent=%" PRIu64 " sent_sha256=%s recv=%" PRIu64
	       " recv_sha256=%s%s%s %s\n",
	       tag, up.done, up.sha, down.done, down.sha, down.bad_at ? " corrupt_at=" : "",
	       down.bad_at ? "yes" : "", ok ? "ok" : "FAIL");
	close(fd);
	return ok ? 0 : 1;
}

static const char usage[] =
	"usage: smx-peer server --listen ADDR --tag NAME [--no-accept]\n"
	"                [--read-rate BYTES_PER_S [--slow-for SECONDS]] [--pause-ms MS]\n"
	"                [--burst-ms MS]   (send in bursts of MS, idle as long between)\n"
	"       smx-peer client --connect ADDR [--sni NAME] [--alpn A,B] [--hello-file F]\n"
	"                [--up BYTES] [--down BYTES] [--seed N] [--mode both|halfclose]\n"
	"                [--expect-tag NAME] [--rst] [--hello-truncate N] [--burst-ms MS]\n"
	"                [--read-rate BYTES_PER_S [--slow-for SECONDS]]\n"
	"                [--drip-ms MS | --hold-ms MS]   (send the hello slowly, or partly, and\n"
	"                                                 report when the server closes)\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tag", required_argument, NULL, 't' },
		{ "read-rate", required_argument, NULL, 'r' },
		{ "connect", required_argument, NULL, 'c' },
		{ "sni", required_argument, NULL, 's' },
		{ "alpn", required_argument, NULL, 'a' },
		{ "hello-file", required_argument, NULL, 'f' },
		{ "up", required_argument, NULL, 'u' },
		{ "down", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 'S' },
		{ "mode", required_argument, NULL, 'm' },
		{ "expect-tag", required_argument, NULL, 'e' },
		{ "no-accept", no_argument, NULL, 'N' },
		{ "slow-for", required_argument, NULL, 'F' },
		{ "pause-ms", required_argument, NULL, 'P' },
		{ "rst", no_argument, NULL, 'R' },
		{ "burst-ms", required_argument, NULL, 'B' },
		{ "drip-ms", required_argument, NULL, 'D' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ "hello-truncate", required_argument, NULL, 'T' },
		{ 0 },
	};
	const char *listen_addr = NULL, *tag = "server", *conn = NULL, *sni = NULL, *alpn = NULL;
	const char *hello_file = NULL, *mode = "both", *expect = NULL;
	uint64_t rate = 0, nup = 0, ndown = 0, seed = 1;
	struct client_opts co = { 0 };
	bool no_accept = false;
	double slow_for = 0;
	long pause_ms = 0;
	long truncate = -1;
	static uint8_t hello[65536];
	size_t hello_len;
	int o;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_addr = optarg; break;
		case 't': tag = optarg; break;
		case 'r': rate = strtoull(optarg, NULL, 0); break;
		case 'c': conn = optarg; break;
		case 's': sni = optarg; break;
		case 'a': alpn = optarg; break;
		case 'f': hello_file = optarg; break;
		case 'u': nup = strtoull(optarg, NULL, 0); break;
		case 'd': ndown = strtoull(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'm': mode = optarg; break;
		case 'e': expect = optarg; break;
		case 'N': no_accept = true; break;
		case 'F': slow_for = atof(optarg); break;
		case 'P': pause_ms = atol(optarg); break;
		case 'R': co.rst = true; break;
		case 'B': co.burst_ms = atol(optarg); break;
		case 'D': co.drip_ms = atol(optarg); break;
		case 'H': co.hold_ms = atol(optarg); break;
		case 'T': truncate = atol(optarg); break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!strcmp(argv[1], "server") && listen_addr)
		return run_server(listen_addr, tag, rate, slow_for, pause_ms, co.burst_ms, no_accept);
	if (strcmp(argv[1], "client") || !conn) {
		fputs(usage, stderr);
		return 2;
	}
	if (hello_file) {
		FILE *f = fopen(hello_file, "rb");

		if (!f) {
			perror(hello_file);
			return 2;
		}
		hello_len = fread(hello, 1, sizeof(hello), f);
		fclose(f);
	} else {
		hello_len = build_hello(hello, sni, alpn);
	}
	co.rate = rate;
	co.slow_for = slow_for;
	if (truncate >= 0 && (size_t)truncate < hello_len)
		hello_len = truncate;
	return run_client(conn, hello, hello_len, nup, ndown, seed, mode, expect, &co);
}
