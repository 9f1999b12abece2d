/* SPDX-License-Identifier: MIT */
/*
 * balance.h - which server of a backend a connection tries next (balance.c): the backend's
 * balancing rule over the servers that are up and not tried yet by this connection; backup
 * servers only while no other one is up; a server whose connect failed is down for
 * BALANCE_DOWN_MS (passive checks), then tried again.
 *
 * The state (round robin position, live connections, down until when) is shared by every
 * worker: atomics, no lock. It belongs to a configuration generation.
 */
#ifndef SOCKMUX_BALANCE_H
#define SOCKMUX_BALANCE_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

#define BALANCE_DOWN_MS 2000

struct server_state {
	_Atomic uint64_t down_until_ns;	/* CLOCK_MONOTONIC; 0: up */
	_Atomic uint32_t live;		/* connections on it now (from its connect) */
};

struct backend_state {
	_Atomic uint64_t rr;		/* round robin position */
	struct server_state servers[CONFIG_MAX_SERVERS];
};

/* One state per backend of cfg, all up; NULL when out of memory. Freed with free(). */
struct backend_state *balance_state_new(const struct config *cfg);

/*
 * The server for a connection from client that has tried the servers in tried (bit i: server
 * i): by b's rule among the untried ones that are up (backups only when no other is up); when
 * none is up, among the untried ones anyway. -1 when every server was tried.
 */
int balance_pick(const struct config_backend *b, struct backend_state *st,
		 const struct sockaddr *client, uint64_t tried, uint64_t now);
/* A connect to server i failed: it is down for BALANCE_DOWN_MS. */
void balance_failed(struct backend_state *st, int i, uint64_t now);
/* A connection starts or stops counting on server i (least_conn). */
void balance_take(struct backend_state *st, int i);
void balance_put(struct backend_state *st, int i);

#endif
