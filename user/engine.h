/* SPDX-License-Identifier: MIT */
/*
 * engine.h - how a connection's bytes are carried once it is routed: one interface, and the
 * table of engines `--engine NAME` chooses from (engines.c). The core names no engine.
 *
 * An engine is opened once for the daemon (open, sized for max_connections), once per worker
 * (worker_init), takes over a connection whose backend is connected (start), is told of every
 * epoll event on its two sockets (event), is polled while it waits for something it cannot
 * be woken for (poll, at conn->next_poll_ns), and gives both sockets back to be closed
 * (release). A socket that fails (a reset) is reported with worker_conn_fail(); the engine
 * still moves every byte that came from it before the failure, then calls
 * worker_conn_fail_flushed() until the reset is passed on.
 */
#ifndef SOCKMUX_ENGINE_H
#define SOCKMUX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct daemon;
struct worker;

/* Room in struct conn for the engine's own state of a connection (conn->eng). */
#define ENGINE_STATE_SIZE 160

struct engine_ops {
	const char *name;
	/* Descriptors a connection holds besides its two sockets, even while idle. */
	unsigned int fds_per_conn;
	/*
	 * Pipes a worker may have out at once (its pipe_pool.h pool, for this engine or its
	 * fallback); the descriptor budget keeps two for each, so none takes one accept() needs.
	 */
	unsigned int pipes_per_worker;
	/*
	 * epoll events the engine wants on both sockets once it carries them, asked for when
	 * each socket is first registered (accept, connect) so that the hand-off needs no
	 * epoll_ctl(); 0: the handshake's own. The handshake ignores what it did not ask for.
	 */
	uint32_t watch;
	/*
	 * Opens the engine for up to max_conns connections (d->engine_data is its own); 0, or
	 * -errno with *why set for the log. NULL: nothing to open.
	 */
	int (*open)(struct daemon *d, unsigned int max_conns, const char **why);
	void (*close)(struct daemon *d);
	/* Per worker (w->engine_data is its own), after open; 0 or -errno. NULL: nothing. */
	int (*worker_init)(struct worker *w);
	void (*worker_fini)(struct worker *w);
	/*
	 * Whether start() sends c's queued first bytes to the backend from user space (and then
	 * calls handshake_first_bytes_sent()), so that the connect may hold its last ACK for them
	 * (handshake.c); NULL: it does not (the kernel sends them, later).
	 */
	bool (*sends_first_bytes)(const struct conn *c);
	/*
	 * Both sockets are connected and registered with the worker's epoll; 0 or -errno. It may
	 * end c (then release() runs, as for any end). -EOPNOTSUPP: this engine cannot carry c
	 * and left it as it was; fallback, if any, is started instead.
	 */
	int (*start)(struct worker *w, struct conn *c);
	/*
	 * Takes over a live connection another engine carried so far, which holds nothing in
	 * flight (no byte read and not yet written, no pipe in use, no FIN or error seen): 0;
	 * -EOPNOTSUPP: it could not, and left the sockets as they were (the caller restores its
	 * own state); another -errno: c must end. NULL: only start().
	 */
	int (*adopt)(struct worker *w, struct conn *c);
	/* side: 0 for the client socket, 1 for the backend socket. */
	void (*event)(struct worker *w, struct conn *c, int side, uint32_t events);
	void (*poll)(struct worker *w, struct conn *c, uint64_t now_ns);
	/* Frees the engine's resources for c; the caller closes the sockets. */
	void (*release)(struct worker *w, struct conn *c);
	/*
	 * The bytes [up, down] of a live connection that only the engine knows of yet (moved in
	 * the kernel): stats read them through the worker's slot table (stats_slot_own()) under
	 * the worker's stats lock. NULL: every byte is in c->bytes as it moves.
	 */
	void (*live_bytes)(struct worker *w, uint32_t slot, uint64_t bytes[2]);
	/* " key=value" fields of its own for c's log line, into buf; NULL: none. */
	void (*log_fields)(const struct conn *c, char *buf, size_t size);
	const struct engine_ops *fallback;
};

/* What `--engine NAME` chooses, and what the first log line says about it. */
struct engine_choice {
	const char *name;
	const struct engine_ops *ops;
	int log_level;			/* LOG_INFO, or LOG_WARN for measurement-only ones */
	const char *why;
};

/* The choice for NAME (auto, splice, sockmap, sockmap-unbounded); NULL if there is none. */
const struct engine_choice *engine_choose(const char *name);

#endif
