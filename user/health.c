// SPDX-License-Identifier: MIT
/* health.c - the health checker thread (see health.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balance.h"
#include "clock.h"
#include "config_gen.h"
#include "daemon.h"
#include "health.h"
#include "health_tls.h"
#include "log.h"
#include "proxy_proto.h"
#include "source_bind.h"

#define HELLO_MAX 2048
#define FIRST_CHECK_WITHIN_MS 1000	/* the first check of a new server, jittered */

enum check_phase { PHASE_IDLE, PHASE_CONNECTING, PHASE_READING };

/* One server's checks; the state is shared with balancing (a reference is held). */
struct check {
	struct server_state *st;
	char *backend, *server;		/* names for the log */
	struct addr addr;
	struct config_source source;	/* the server's source list (a copy), as connections */
	unsigned int source_turn;	/* checks rotate over it on their own */
	struct config_health cfg;	/* cfg.sni is owned here */
	unsigned int proxy_protocol;	/* the backend's: its servers expect the header first */
	enum check_phase phase;
	int fd;
	uint64_t due_ns, deadline_ns;	/* next check; the running one's end */
	uint8_t answer[HEALTH_TLS_ANSWER_LEN];
	size_t got;
	unsigned int ok_row, fail_row;	/* results in a row */
};

struct health {
	struct daemon *d;
	pthread_t thread;
	int epfd, wakefd;
	atomic_bool stop;
	unsigned int gen;		/* the generation the checks are of */
	struct check **checks;
	size_t n;
	SSL_CTX *tls;
	uint64_t rand;			/* xorshift64 */
};

static uint64_t next_rand(struct health *h)
{
	h->rand ^= h->rand << 13;
	h->rand ^= h->rand >> 7;
	h->rand ^= h->rand << 17;
	return h->rand;
}

/* interval_ms +-10 % from now (HAProxy's spread-checks) */
static uint64_t next_due(struct health *h, const struct check *c, uint64_t now)
{
	uint64_t ms = c->cfg.interval_ms, spread = ms / 5;

	if (spread)
		ms = ms - ms / 10 + next_rand(h) % (spread + 1);
	return now + ms * 1000000ull;
}

static void check_free(struct check *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	server_state_put(c->st);
	free(c->backend);
	free(c->server);
	free(c->cfg.sni);
	free(c->source.addr);
	free(c);
}

/* Takes b's health settings and names; 0 or -ENOMEM. */
static int check_set(struct check *c, const struct config_backend *b, size_t i)
{
	char *name = strdup(b->name), *server = strdup(b->servers[i].text);
	char *sni = b->health.sni ? strdup(b->health.sni) : NULL;
	const struct config_source *src = &b->servers[i].source;
	struct addr *from = src->n ? calloc(src->n, sizeof(*from)) : NULL;

	if (!name || !server || (b->health.sni && !sni) || (src->n && !from)) {
		free(name);
		free(server);
		free(sni);
		free(from);
		return -ENOMEM;
	}
	if (src->n)
		memcpy(from, src->addr, src->n * sizeof(*from));
	free(c->source.addr);
	c->source = *src;
	c->source.addr = from;
	free(c->backend);
	free(c->server);
	free(c->cfg.sni);
	c->backend = name;
	c->server = server;
	c->cfg = b->health;
	c->cfg.sni = sni;
	c->proxy_protocol = b->proxy_protocol;
	c->addr = b->servers[i].addr;
	return 0;
}

static struct check *take_old(struct health *h, const struct server_state *st)
{
	for (size_t k = 0; k < h->n; k++) {
		struct check *c = h->checks[k];

		if (c && c->st == st) {
			h->checks[k] = NULL;
			return c;
		}
	}
	return NULL;
}

static struct check *check_new(struct health *h, struct server_state *st, uint64_t now)
{
	struct check *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->st = server_state_get(st);
	/* a server newly checked starts up, whatever earlier checks said of it */
	atomic_store(&st->check_down, false);
	c->due_ns = now + (next_rand(h) % (FIRST_CHECK_WITHIN_MS * 1000ull)) * 1000ull;
	return c;
}

static size_t count_checked(const struct config *cfg)
{
	size_t n = 0;

	for (size_t k = 0; k < cfg->n_backends; k++)
		if (cfg->backends[k].health.on)
			n += cfg->backends[k].n_servers;
	return n;
}

/* Whether server state st still serves in g (its backend has no health checks now). */
static bool still_served(const struct config_gen *g, const struct server_state *st)
{
	for (size_t k = 0; k < g->cfg.n_backends; k++)
		for (size_t i = 0; i < g->cfg.backends[k].n_servers; i++)
			if (g->balance[k].servers[i] == st)
				return true;
	return false;
}

/* A reload took c's backend's checks away: a server they held down is up from now on. */
static void unchecked(const struct check *c)
{
	if (!atomic_load(&c->st->check_down))
		return;
	atomic_store(&c->st->check_down, false);
	atomic_store(&c->st->check_since_rt, realtime_ns());
	pr_info("health: server %s of backend %s is up: its health checks were removed",
		c->server, c->backend);
}

/*
 * The checks of g's servers: a server whose state was checked already keeps its check (the
 * one running goes on, the counts in a row stay); the others start within a second. Checks of
 * servers g no longer has end. 0 or -ENOMEM (the old checks then stay).
 */
static int adopt(struct health *h, struct config_gen *g)
{
	const struct config *cfg = &g->cfg;
	size_t n = count_checked(cfg), m = 0;
	struct check **list = calloc(n ? n : 1, sizeof(*list));
	uint64_t now = now_ns();

	if (!list)
		return -ENOMEM;
	for (size_t k = 0; k < cfg->n_backends; k++) {
		const struct config_backend *b = &cfg->backends[k];

		for (size_t i = 0; b->health.on && i < b->n_servers; i++) {
			struct server_state *st = g->balance[k].servers[i];
			struct check *c = take_old(h, st);

			if (!c)
				c = check_new(h, st, now);
			if (!c || check_set(c, b, i)) {
				check_free(c);
				goto out_nomem;
			}
			list[m++] = c;
		}
	}
	for (size_t k = 0; k < h->n; k++) {
		if (h->checks[k] && still_served(g, h->checks[k]->st))
			unchecked(h->checks[k]);
		check_free(h->checks[k]);
	}
	free(h->checks);
	h->checks = list;
	h->n = m;
	h->gen = g->gen;
	return 0;
out_nomem:
	/* give back what was taken: the old list keeps its checks */
	for (size_t k = 0; k < m; k++) {
		size_t j = 0;

		while (j < h->n && h->checks[j])
			j++;
		if (j < h->n)
			h->checks[j] = list[k];
		else
			check_free(list[k]);
	}
	free(list);
	return -ENOMEM;
}

static enum check_result result_of(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return CHECK_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return CHECK_RESET;
	case ETIMEDOUT:
		return CHECK_TIMEOUT;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		return CHECK_UNREACHABLE;
	default:
		return CHECK_ERROR;
	}
}

static void log_change(const struct check *c, bool down, enum check_result r)
{
	if (down)
		pr_warn("health: server %s of backend %s is down: %u check(s) failed in a row "
			"(last: %s)", c->server, c->backend, c->fail_row, check_result_str(r));
	else
		pr_info("health: server %s of backend %s is up: %u check(s) passed in a row",
			c->server, c->backend, c->ok_row);
}

/* The running check ended with r: counts, the state, the next one. */
static void finish(struct health *h, struct check *c, enum check_result r, uint64_t now)
{
	struct server_state *st = c->st;
	bool down = atomic_load(&st->check_down);

	if (c->fd >= 0)
		close(c->fd);	/* also out of the epoll set */
	c->fd = -1;
	c->phase = PHASE_IDLE;
	c->got = 0;
	c->due_ns = next_due(h, c, now);
	atomic_store(&st->last_check, r);
	if (r == CHECK_OK) {
		atomic_fetch_add(&st->checks_ok, 1);
		c->fail_row = 0;
		c->ok_row++;
		if (down && c->ok_row >= c->cfg.rise) {
			atomic_store(&st->check_down, false);
			atomic_store(&st->check_since_rt, realtime_ns());
			log_change(c, false, r);
		}
	} else {
		atomic_fetch_add(&st->checks_failed, 1);
		c->ok_row = 0;
		c->fail_row++;
		if (!down && c->fail_row >= c->cfg.fall) {
			atomic_store(&st->check_down, true);
			atomic_store(&st->check_since_rt, realtime_ns());
			log_change(c, true, r);
		}
	}
}

/*
 * What a check sends once connected: a PROXY header when the backend sends one (a server that
 * expects it takes anything else for an error; v1 UNKNOWN or v2 LOCAL, as HAProxy's checks
 * of a send-proxy server), then with tls a ClientHello. Nothing to send: the check passed.
 */
static void send_first(struct health *h, struct check *c, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	uint8_t out[PP2_HDR_LEN + HELLO_MAX];
	size_t len = 0;
	ssize_t n;

	if (c->proxy_protocol && pp_encode_local(c->proxy_protocol, out, sizeof(out), &len)) {
		finish(h, c, CHECK_ERROR, now);
		return;
	}
	if (c->cfg.tls) {
		n = health_tls_hello(h->tls, c->cfg.sni, out + len, sizeof(out) - len);
		if (n < 0) {
			finish(h, c, CHECK_ERROR, now);
			return;
		}
		len += (size_t)n;
	}
	if (!len) {
		finish(h, c, CHECK_OK, now);
		return;
	}
	n = send(c->fd, out, len, MSG_NOSIGNAL);
	if (n != (ssize_t)len) {
		/* a fresh socket's send buffer takes a ClientHello whole */
		finish(h, c, n < 0 ? result_of(errno) : CHECK_ERROR, now);
		return;
	}
	if (!c->cfg.tls) {
		finish(h, c, CHECK_OK, now);
		return;
	}
	c->phase = PHASE_READING;
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		finish(h, c, CHECK_ERROR, now);
}

static void on_connected(struct health *h, struct check *c, uint64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		finish(h, c, result_of(err), now);
	else
		send_first(h, c, now);
}

static void on_answer(struct health *h, struct check *c, uint64_t now)
{
	enum check_result r;
	ssize_t n;

	n = recv(c->fd, c->answer + c->got, sizeof(c->answer) - c->got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		finish(h, c, result_of(errno), now);
		return;
	}
	if (n == 0) {
		finish(h, c, c->got ? CHECK_NOT_TLS : CHECK_CLOSED, now);
		return;
	}
	c->got += (size_t)n;
	r = health_tls_answer(c->answer, c->got);
	if (r != CHECK_NONE)
		finish(h, c, r, now);
}

static void start(struct health *h, struct check *c, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	struct source_bind_result res;
	int err;

	if (c->source.n) {
		/* from the server's source addresses, as its connections: the same path checked */
		c->phase = PHASE_CONNECTING;
		c->deadline_ns = now + c->cfg.timeout_ms * 1000000ull;
		err = source_bind_connect(&c->source, &c->addr, c->source_turn++, &c->fd, &res);
		if (err && err != -EINPROGRESS) {
			finish(h, c, res.internal ? CHECK_ERROR : result_of(-err), now);
			return;
		}
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			finish(h, c, CHECK_ERROR, now);
		return;
	}
	c->fd = socket(c->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		finish(h, c, CHECK_ERROR, now);
		return;
	}
	c->phase = PHASE_CONNECTING;
	c->deadline_ns = now + c->cfg.timeout_ms * 1000000ull;
	if (connect(c->fd, (const struct sockaddr *)&c->addr.ss, c->addr.len) < 0 &&
	    errno != EINPROGRESS) {
		finish(h, c, result_of(errno), now);
		return;
	}
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		finish(h, c, CHECK_ERROR, now);
}

/* Starts the checks due, ends the ones past their time; the ms until the next of either. */
static int run_due(struct health *h)
{
	uint64_t now = now_ns(), next = UINT64_MAX;

	for (size_t k = 0; k < h->n; k++) {
		struct check *c = h->checks[k];

		if (c->phase == PHASE_IDLE && c->due_ns <= now)
			start(h, c, now);
		else if (c->phase != PHASE_IDLE && c->deadline_ns <= now)
			finish(h, c, CHECK_TIMEOUT, now);
		if (c->phase == PHASE_IDLE && c->due_ns < next)
			next = c->due_ns;
		else if (c->phase != PHASE_IDLE && c->deadline_ns < next)
			next = c->deadline_ns;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

static void take_config(struct health *h)
{
	struct config_gen *g;

	if (atomic_load(&h->d->live_gen) == h->gen)
		return;
	g = daemon_config(h->d);
	if (adopt(h, g))
		pr_err("health: out of memory taking configuration %u; checks go on as they were",
		       g->gen);
	config_gen_put(g);
}

static void *health_main(void *arg)
{
	struct health *h = arg;
	struct epoll_event ev[32];
	uint64_t v;

	while (!atomic_load(&h->stop)) {
		int n = epoll_wait(h->epfd, ev, 32, run_due(h));
		uint64_t now = now_ns();

		for (int i = 0; i < n; i++) {
			struct check *c = ev[i].data.ptr;

			if (!c) {
				if (read(h->wakefd, &v, sizeof(v)) < 0)
					v = 0;
				take_config(h);
				break;	/* the list may have changed under the other events */
			}
			if (c->phase == PHASE_CONNECTING)
				on_connected(h, c, now);
			else if (c->phase == PHASE_READING)
				on_answer(h, c, now);
		}
	}
	return NULL;
}

static void health_free(struct health *h)
{
	for (size_t k = 0; k < h->n; k++)
		check_free(h->checks[k]);
	free(h->checks);
	if (h->tls)
		SSL_CTX_free(h->tls);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->wakefd >= 0)
		close(h->wakefd);
	free(h);
}

int health_start(struct daemon *d, struct health **out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct health *h;
	int err;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->d = d;
	h->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->wakefd < 0 || h->epfd < 0 ||
	    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wakefd, &ev) < 0) {
		err = -errno;
		goto out_free;
	}
	h->tls = health_tls_ctx();
	if (!h->tls) {
		err = -ENOMEM;
		goto out_free;
	}
	if (getrandom(&h->rand, sizeof(h->rand), GRND_NONBLOCK) != sizeof(h->rand))
		h->rand = now_ns();
	h->rand |= 1;
	take_config(h);
	err = -pthread_create(&h->thread, NULL, health_main, h);
	if (err)
		goto out_free;
	*out = h;
	return 0;
out_free:
	health_free(h);
	return err;
}

static void wake(struct health *h)
{
	uint64_t one = 1;

	if (write(h->wakefd, &one, sizeof(one)) < 0)
		pr_debug("health: wake: %s", strerror(errno));
}

void health_reload(struct health *h)
{
	if (h)
		wake(h);
}

void health_stop(struct health *h)
{
	if (!h)
		return;
	atomic_store(&h->stop, true);
	wake(h);
	pthread_join(h->thread, NULL);
	health_free(h);
}
