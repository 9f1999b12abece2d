/* SPDX-License-Identifier: MIT */
/*
 * transport.h - how a listener's socket type turns readiness into connections (HAProxy's
 * struct protocol): its listening socket, and what to do when that socket is readable. TCP
 * accepts a socket per connection (transport/tcp.c); a datagram transport would take each
 * datagram to the flow of its source. The worker's loop knows no socket type.
 *
 * A transport is new files in user/transport/ and one entry in transports.c's table.
 */
#ifndef SOCKMUX_TRANSPORT_H
#define SOCKMUX_TRANSPORT_H

#include "addr.h"

struct listen_sock;
struct worker;

struct transport {
	const char *name;
	int sock_type;		/* SOCK_STREAM, ...: a listener's, and systemd's sockets' */
	/* A non-blocking listening socket bound to addr, SO_REUSEPORT, IPv6 ones IPv6-only;
	 * fd or -errno. */
	int (*listen)(const struct addr *addr);
	/* ls is readable: take what waits there into w (new connections or flows), as room
	 * allows (admit.h); pauses ls's worker when it must (worker_listen.h). */
	void (*ready)(struct worker *w, struct listen_sock *ls);
};

/* The transport of a listener of this socket type (struct config_listener's), or NULL. */
const struct transport *transport_for(int sock_type);

#endif
