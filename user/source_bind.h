/* SPDX-License-Identifier: MIT */
/*
 * source_bind.h - connecting a server from one of the local addresses its `source = [ ... ]`
 * lists (docs/config.md, Backends), as HAProxy's `source` and nginx's `proxy_bind`: one
 * address per connection, so that one backend address may take more connections than one
 * local address has ephemeral ports (net.ipv4.ip_local_port_range, about 28 000).
 *
 * The socket has IP_BIND_ADDRESS_NO_PORT and is bound to the address with port 0: the kernel
 * picks the port at connect(), per destination, so each source address has the whole port
 * range towards each server. Only addresses of the server's family are used (an IPv4-mapped
 * server is connected over IPv4). Successive connections to a server start from successive
 * addresses (round robin, the turn counted in the server's shared state, balance.h); one whose
 * address is no longer the host's (bind: EADDRNOTAVAIL) or has no port left towards the server
 * (connect: EADDRNOTAVAIL or EADDRINUSE) goes on to the next address of the list.
 *
 * The picking order is pure and unit tested in tests/unit/test_source_bind.c.
 */
#ifndef SOCKMUX_SOURCE_BIND_H
#define SOCKMUX_SOURCE_BIND_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "config.h"

/* How many addresses of family (AF_INET or AF_INET6) src holds. */
size_t source_bind_count(const struct config_source *src, int family);

/*
 * The k-th address (from 0) that the turn-th connection to a server of family tries: the
 * family's addresses in list order, from the one at turn modulo their number, each once. An
 * index into src->addr, or -1 once k is past the family's addresses.
 */
int source_bind_nth(const struct config_source *src, int family, unsigned int turn,
		    unsigned int k);

/* What source_bind_connect() did, for the connection's log line. */
struct source_bind_result {
	int used;		/* index into src->addr of the address bound; -1: none */
	const char *detail;	/* why it failed (static text); NULL on success */
	bool internal;		/* a local resource failure (socket()), not the source's or
				 * the server's: no other server would do better */
};

/*
 * A non-blocking TCP socket (TCP_NODELAY) in *fd, bound to one of src's addresses of dst's
 * family (the turn-th connection's first, then the next ones while one is gone or out of
 * ports), connected or connecting to dst (an IPv4 server unmapped). 0 when connected,
 * -EINPROGRESS while connecting; else -errno with *fd -1, res->detail saying why: a connect
 * failure of the server's own (refused at once, unreachable), or every address gone or out of
 * ports (-EADDRNOTAVAIL), or res->internal.
 */
int source_bind_connect(const struct config_source *src, const struct addr *dst,
			unsigned int turn, int *fd, struct source_bind_result *res);

#endif
