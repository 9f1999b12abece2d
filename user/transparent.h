/* SPDX-License-Identifier: MIT */
/*
 * transparent.h - connecting a backend from the client's own address (`transparent = true;`,
 * docs/transparent.md): HAProxy's `source * usesrc clientip`.
 *
 * The backend socket is of the client's family (an IPv4 client seen by an IPv6 listener as
 * ::ffff:a.b.c.d is unmapped: a mapped address never goes on the wire), has IP_TRANSPARENT
 * (IPV6_TRANSPARENT) and IP_BIND_ADDRESS_NO_PORT, and is bound to the client's address with
 * port 0: the kernel picks the port when it connects, so that the 4-tuple is unique even when
 * the client's own port is in use towards the same backend. A client on this host (loopback,
 * or one of the host's addresses) is connected without transparency: binding its address
 * would collide with its own socket, and the reply would never leave the host anyway.
 *
 * The pure parts (families, the servers a client may use, the local-address test) are unit
 * tested in tests/unit/test_transparent.c.
 */
#ifndef SOCKMUX_TRANSPARENT_H
#define SOCKMUX_TRANSPARENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "config.h"

/* The host's addresses (IPv4 ones stored IPv4-mapped), as getifaddrs() saw them. */
struct local_addrs {
	struct in6_addr *a;
	size_t n;
};

/* Reads the host's addresses into la (replacing what it held). 0 or -errno (la unchanged). */
int local_addrs_load(struct local_addrs *la);
/* Adds one address (AF_INET, AF_INET6 or mapped) to la. 0 or -ENOMEM. */
int local_addrs_add(struct local_addrs *la, const struct sockaddr *sa);
void local_addrs_free(struct local_addrs *la);

/*
 * True when a client at sa is on this host: a loopback address (127.0.0.0/8, ::1, and their
 * mapped forms), the unspecified address, or one of la's. Such a client is connected without
 * transparency.
 */
bool transparent_is_local(const struct local_addrs *la, const struct sockaddr *sa);

/* The family a connection from or to sa uses on the wire: AF_INET for IPv4 and ::ffff:IPv4. */
int transparent_family(const struct sockaddr *sa);
/* sa as it goes on the wire: a mapped IPv6 address becomes AF_INET; others are copied. */
void transparent_unmap(const struct sockaddr *sa, struct addr *out);

/* True when some server of b is transparent. */
bool transparent_any(const struct config_backend *b);
/*
 * The servers of b (bit i: server i) a client of family (AF_INET, AF_INET6) from elsewhere may
 * not use: the transparent ones of the other family. Given to balance_pick() as already tried.
 */
uint64_t transparent_exclude(const struct config_backend *b, int family);

/*
 * A new non-blocking TCP socket of client's family (client unmapped, as transparent_unmap()
 * gives it) with IP_TRANSPARENT (IPV6_TRANSPARENT) and IP_BIND_ADDRESS_NO_PORT, bound to the
 * client's address, port 0; in *fd. 0 or -errno: -EPERM without CAP_NET_ADMIN or CAP_NET_RAW,
 * -EADDRINUSE or -EADDRNOTAVAIL when the address is the host's after all.
 */
int transparent_socket(const struct sockaddr *client, int *fd);

/*
 * Whether this process may set IP_TRANSPARENT (family AF_INET or AF_INET6): 0, or -errno
 * (-EPERM: neither CAP_NET_ADMIN nor CAP_NET_RAW; -EAFNOSUPPORT: no such family here).
 */
int transparent_probe(int family);
/* transparent_probe() on IPv4, or on IPv6 where the host has no IPv4. */
int transparent_probe_any(void);
/* cfg's first backend with a transparent server, or NULL. */
const struct config_backend *transparent_first(const struct config *cfg);

#endif
