/* SPDX-License-Identifier: MIT */
/*
 * engine.h - how a connection's bytes are carried once it is routed.
 *
 * An engine takes over a connection whose backend is connected (engine->start), is told of
 * every epoll event on its two sockets (engine->event), is polled while it waits for
 * something it cannot be woken for (engine->poll, at conn->next_poll_ns), and gives both
 * sockets back closed (engine->release). A socket that fails (a reset) is reported with
 * worker_conn_fail(); the engine still moves every byte that came from it before the failure,
 * then calls worker_conn_fail_flushed() until the reset is passed on. Two exist: splice(2) through a pipe per direction
 * (user/splice.c), and the BPF sockmap path (user/sockmap.c with bpf/sockmap.bpf.c).
 */
#ifndef SOCKMUX_ENGINE_H
#define SOCKMUX_ENGINE_H

#include <stdint.h>

struct conn;
struct daemon;
struct worker;

enum engine_kind {
	ENGINE_AUTO = 0,
	ENGINE_SOCKMAP,
	ENGINE_SPLICE,
	ENGINE_SOCKMAP_UNBOUNDED,	/* measurement only: no back-pressure */
};

struct engine_ops {
	const char *name;
	/*
	 * Both sockets are connected and registered with the worker's epoll; 0 or -errno. It may
	 * end c (then release() runs, as for any end). -EOPNOTSUPP: this engine cannot carry c
	 * and left it as it was; fallback, if any, is started instead.
	 */
	int (*start)(struct worker *w, struct conn *c);
	const struct engine_ops *fallback;
	/* side: 0 for the client socket, 1 for the backend socket. */
	void (*event)(struct worker *w, struct conn *c, int side, uint32_t events);
	void (*poll)(struct worker *w, struct conn *c, uint64_t now_ns);
	/* Frees the engine's resources for c; the caller closes the sockets. */
	void (*release)(struct worker *w, struct conn *c);
};

extern const struct engine_ops splice_engine_ops;
extern const struct engine_ops sockmap_engine_ops;

/* Parses "auto", "sockmap" or "splice"; -EINVAL otherwise. */
int engine_parse(const char *name, enum engine_kind *kind);
const char *engine_name(enum engine_kind kind);

#endif
