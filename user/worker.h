/* SPDX-License-Identifier: MIT */
/*
 * worker.h - one event-loop thread: its own epoll, its own SO_REUSEPORT listening sockets,
 * and the connections it accepted, from the first byte to the close.
 *
 * This header is what the steps of a connection (admit, handshake, engines) may call: the
 * epoll registration of a connection's sockets, its timing lists, and how it ends. The
 * thread and its loop are worker_loop.h; its listening sockets worker_listen.h.
 */
#ifndef SOCKMUX_WORKER_H
#define SOCKMUX_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "conn.h"
#include "list.h"
#include "pipe_pool.h"
#include "route_regex.h"
#include "ops/stats.h"
#include "sniff/tls_hello.h"
#include "transparent.h"

struct daemon;

#define WORKER_SCRATCH (256 * 1024)

/* Tags in the low bits of epoll_data.u64, next to an aligned pointer. */
enum ev_tag {
	EV_LISTENER = 0,	/* pointer to struct listen_sock */
	EV_CLIENT = 1,		/* pointer to struct conn, client socket */
	EV_BACKEND = 2,		/* pointer to struct conn, backend socket */
	EV_WAKE = 3,		/* the worker's eventfd */
};
#define EV_TAG_MASK 3ull

static inline uint64_t worker_ev_pack(void *p, enum ev_tag tag)
{
	return (uint64_t)(uintptr_t)p | tag;
}

struct transport;

struct listen_sock {
	int fd;
	unsigned int index;			/* into the config's listeners */
	const struct transport *transport;	/* its socket type's */
};

struct config_gen;
struct config;

struct worker {
	struct daemon *d;
	struct config_gen *gen;		/* new connections get this configuration */
	unsigned int id;
	pthread_t thread;
	int epfd;
	int wakefd;			/* eventfd: the main thread's stop call */
	struct listen_sock *ls;
	unsigned int n_ls;
	struct list_head hello;		/* CONN_HELLO, in deadline order */
	struct list_head connecting;	/* CONN_CONNECTING, in deadline order */
	struct list_head polled;	/* engines waiting for a poll (next_poll_ns) */
	struct list_head probing;	/* CONN_HELLO without a byte yet, by probe_ns: the
					 * hello list stays in accept order for evictions */
	struct list_head all;		/* every live connection */
	struct list_head graveyard;	/* ended in this epoll batch, freed after it */
	unsigned int n_conns;
	unsigned int max_conns;		/* its share of max_connections: of the sockmap slots
					 * and stats slots; connections count daemon-wide
					 * (d->n_conns) */
	unsigned int n_hello;		/* in CONN_HELLO (the hello list) */
	unsigned int max_hello;		/* this worker's share of max_handshakes */
	uint64_t accept_resume_ns;	/* accepting paused until then (out of descriptors or
					 * memory); 0: accepting */
	uint32_t accept_backoff_ms;
	uint64_t accept_errors;		/* accept() failures for want of a resource */
	void *engine_data;		/* the engine's own, for this worker */
	bool engine_ready;		/* the engine's worker_init() succeeded */
	uint8_t peek[TLS_HELLO_MAX_RAW];	/* MSG_PEEK buffer for every hello on this thread */
	uint8_t *scratch;		/* WORKER_SCRATCH bytes: engines carrying bytes in user space */
	struct pipe_pool pipes;		/* pipes for bytes in flight (engine_ops.pipes_per_worker) */
	pcre2_match_data *regex_md;	/* for routes' regex conditions on this thread */
	struct local_addrs local;	/* the host's addresses: clients from them are connected
					 * without transparency (read at start and reload, and
					 * again when a transparent bind finds one) */
	struct worker_stats stats;
	struct log_batch log;		/* connection lines, written after each batch of events */
};

/* epoll registration of one of a connection's sockets; 0 or -errno. */
int worker_watch(struct worker *w, struct conn *c, int side, uint32_t events, int op);
/* End c: log its line, release the engine and close both sockets. */
void worker_conn_end(struct worker *w, struct conn *c, enum conn_end end);
/* End c with a reset of both sockets (SO_LINGER {1, 0}), not a FIN: nothing looks whole. */
void worker_conn_abort(struct worker *w, struct conn *c, enum conn_end end);
/*
 * c's engine carries nothing in flight and c has carried c->upgrade_at bytes: c->upgrade
 * adopts it (engine_ops.adopt). If it cannot, c stays with its engine as it was, for good.
 */
void worker_conn_upgrade(struct worker *w, struct conn *c);
/*
 * End c as reset: both sockets are closed with SO_LINGER {1, 0}, so the side still alive sees
 * a reset. err is the error seen (-errno), or 0 to read it from side's SO_ERROR.
 */
void worker_conn_reset(struct worker *w, struct conn *c, int side, int err);

/*
 * How long a reset waits while the bytes that came before it do not move: a failed socket's
 * last bytes are still delivered, and the reset passed on only once they have left the other
 * socket (acknowledged by its peer); sockmux gives up when that peer acknowledges nothing new
 * for this long (a reader that stopped), not after a fixed time (a slow one).
 */
#define CONN_FAIL_FLUSH_MS 2000

/*
 * Side `side` of connection c failed (err -errno, or 0 to read SO_ERROR): records it in
 * c->fail, the first failure only. The engine then moves on what the failed socket still
 * holds and stops carrying anything towards it.
 */
void worker_conn_fail(struct worker *w, struct conn *c, int side, int err);
/* The flush deadline starts again from now (the engine took c over, or bytes moved). */
void worker_conn_fail_restart(struct conn *c, uint64_t now);
/*
 * True when the other socket's peer acknowledged nothing new for CONN_FAIL_FLUSH_MS; any
 * progress restarts the deadline.
 */
bool worker_conn_fail_due(struct worker *w, struct conn *c, uint64_t now);
/*
 * Gives up: resets c, counting held (bytes the engine still held) and what the other socket
 * had not sent as unsent_on_reset in the log line.
 */
void worker_conn_fail_give_up(struct worker *w, struct conn *c, uint64_t held);
/*
 * The engine has handed every byte from the failed side to the other socket: a FIN that came
 * before the reset is passed on, then c is reset (true) once the other socket's send queue is
 * empty, or given up when it stops moving; else a poll is asked for (false).
 */
bool worker_conn_fail_flushed(struct worker *w, struct conn *c, uint64_t now);
/*
 * Put c into a deadline list (hello, connecting) in c->deadline_ns order. Usually at the tail;
 * after a reload changed a timeout, connections under the old and new one mix.
 */
void worker_add_deadline(struct list_head *list, struct conn *c);
/*
 * Counts c against max_connections_per_source (by c->client); false when that address holds
 * its limit already: c is then ended (END_SOURCE_LIMIT).
 */
bool worker_count_source(struct worker *w, struct conn *c);
/* c leaves CONN_HELLO (and the hello deadline list) for the next step. */
void worker_leave_hello(struct worker *w, struct conn *c);
/* Put c on the polled list (engine asks to be polled at c->next_poll_ns). */
void worker_poll_at(struct worker *w, struct conn *c, uint64_t when_ns);
/* Frees the connections that ended in this epoll batch (its events may still name them). */
void worker_free_graveyard(struct worker *w);

#endif
