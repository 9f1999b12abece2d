/* SPDX-License-Identifier: MIT */
/*
 * balance.h - which server of a backend a connection tries next (balance.c): the backend's
 * balancing rule over the servers that are up and not tried yet by this connection; backup
 * servers only while no other one is up. A server is down while its health checks say so
 * (health.c), and for the backend's health interval_ms after a connect to it failed (passive),
 * then tried again.
 *
 * Each server's state (up or down and since when, live connections, counters, check results)
 * is shared by every worker, with atomics and no lock. It is reference counted: a reload
 * hands the state of each server whose backend name and address stay to the new
 * configuration generation, so counts, passive downs and check results carry over, while a
 * removed server's live connections keep the old one to their end.
 */
#ifndef SOCKMUX_BALANCE_H
#define SOCKMUX_BALANCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

/* What a server's last health check found (health.c). */
enum check_result {
	CHECK_NONE,		/* no check yet */
	CHECK_OK,
	CHECK_REFUSED,
	CHECK_RESET,
	CHECK_TIMEOUT,
	CHECK_UNREACHABLE,	/* no route, host or network unreachable */
	CHECK_ERROR,		/* another connect or socket error */
	CHECK_CLOSED,		/* TLS: the server closed before answering */
	CHECK_NOT_TLS,		/* TLS: the answer is not a TLS handshake record */
	CHECK_TLS_ALERT,	/* TLS: the server answered with an alert */
	CHECK__COUNT,
};

struct server_state {
	_Atomic uint32_t refs;
	uint64_t created_rt;		/* CLOCK_REALTIME ns it was first configured */
	_Atomic uint64_t down_until_ns;	/* passive: CLOCK_MONOTONIC; up from then */
	_Atomic uint64_t down_since_rt;	/* passive: CLOCK_REALTIME ns of the failed connect */
	_Atomic uint32_t live;		/* connections on it now (from its connect) */
	_Atomic uint64_t carried;	/* connections whose connect to it completed */
	_Atomic uint64_t failed;	/* connects to it that failed */
	_Atomic uint32_t source_turn;	/* connects from its source list: the next one's turn
					 * (source_bind.h) */
	/* written by the health checker only */
	_Atomic bool check_down;	/* the checks say down */
	_Atomic uint64_t check_since_rt;	/* CLOCK_REALTIME ns the checks last changed it */
	_Atomic uint64_t checks_ok, checks_failed;
	_Atomic uint32_t last_check;	/* enum check_result */
};

struct backend_state {
	_Atomic uint64_t rr;		/* round robin position */
	struct server_state *servers[CONFIG_MAX_SERVERS];
};

/*
 * One state per backend of cfg: each server's is taken over from old (the previous
 * generation's configuration and states, or NULL) when a backend of that name had a server
 * at the same address, else new and up. NULL when out of memory.
 */
struct backend_state *balance_state_new(const struct config *cfg, const struct config *old_cfg,
					struct backend_state *old);
/* A reference to s, and its end (the last one frees it). */
struct server_state *server_state_get(struct server_state *s);
void server_state_put(struct server_state *s);
/* Drops cfg's states (from balance_state_new(cfg, ...)); NULL is ignored. */
void balance_state_free(const struct config *cfg, struct backend_state *st);

/* Whether server i of b is up for balancing at now (CLOCK_MONOTONIC ns). */
bool balance_is_up(const struct config_backend *b, const struct backend_state *st, int i,
		   uint64_t now);
/*
 * The server for a connection from client that has tried the servers in tried (bit i: server
 * i): by b's rule among the untried ones that are up (backups only when no other is up); when
 * none is up, among the untried ones anyway. -1 when every server was tried.
 */
int balance_pick(const struct config_backend *b, struct backend_state *st,
		 const struct sockaddr *client, uint64_t tried, uint64_t now);
/* A connect to server i of b failed: it is down for b's health interval_ms. */
void balance_failed(const struct config_backend *b, struct backend_state *st, int i,
		    uint64_t now);
/* A connect to server i completed: it carries a connection. */
void balance_connected(struct backend_state *st, int i);
/* A connection starts or stops counting on server i (least_conn). */
void balance_take(struct backend_state *st, int i);
void balance_put(struct backend_state *st, int i);
/* "ok", "refused", ... */
const char *check_result_str(enum check_result r);

#endif
