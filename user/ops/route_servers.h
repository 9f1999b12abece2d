/* SPDX-License-Identifier: MIT */
/*
 * route_servers.h - for `sockmux route`: which server of a backend a connection would get
 * now, and why each other one would not (route_servers.c). The servers' state (up or down,
 * live connections, the round robin position) is asked of the running daemon through its
 * control socket; when it cannot be reached, every server is taken as up, and said so.
 */
#ifndef SOCKMUX_ROUTE_SERVERS_H
#define SOCKMUX_ROUTE_SERVERS_H

#include <sys/socket.h>

#include "config.h"

/*
 * Prints, for backend b of the file's configuration, the server chosen for a client at src
 * (NULL: not given) and why each other server is skipped; control: the daemon's socket path,
 * or NULL when it is off.
 */
void route_servers_report(const struct config_backend *b, const struct sockaddr *src,
			  const char *control);

#endif
