/* SPDX-License-Identifier: MIT */
/*
 * hostname.h - the one rule for a host name as sockmux routes on it, wherever it comes from: a
 * ClientHello's SNI (tls_hello.c), a route's `sni` list (config_routes.c), `sockmux route
 * --sni` (cmd_route.c). Letters are lowercased and one trailing dot (the DNS root) is dropped;
 * then only [a-z0-9._-] in labels of 1..63 bytes, at most 253 bytes in all. Pure: no I/O.
 */
#ifndef SOCKMUX_HOSTNAME_H
#define SOCKMUX_HOSTNAME_H

#include <stddef.h>

#define HOSTNAME_MAX 253
#define HOSTNAME_LABEL_MAX 63

enum hostname_problem {
	HOSTNAME_OK = 0,
	HOSTNAME_EMPTY,		/* nothing, or only the root dot */
	HOSTNAME_TOO_LONG,	/* over HOSTNAME_MAX */
	HOSTNAME_BAD_BYTE,	/* a byte outside [A-Za-z0-9._-] */
	HOSTNAME_EMPTY_LABEL,	/* "a..b", ".a", "a.." */
	HOSTNAME_LONG_LABEL,	/* a label over HOSTNAME_LABEL_MAX */
};

/*
 * Normalizes the len bytes at name into out (at least HOSTNAME_MAX + 1 bytes: lowercased, the
 * trailing dot dropped, NUL-terminated, its length in *out_len), or says why it is not a host
 * name (out is then unspecified). Bytes may be anything, NUL included.
 */
enum hostname_problem hostname_normalize(const char *name, size_t len, char *out,
					 size_t *out_len);

#endif
