/* SPDX-License-Identifier: MIT */
/*
 * addr.h - socket addresses as sockmux's config and logs write them.
 *
 * "192.0.2.1:443", "[2001:db8::1]:443", "0.0.0.0:443", "[::]:443": pure parsing and
 * formatting, no name resolution, no I/O. CIDR prefixes ("192.0.2.0/24", "2001:db8::/32",
 * "127.0.0.1") for source conditions, matched against IPv4 addresses and their IPv4-mapped
 * IPv6 form alike.
 */
#ifndef SOCKMUX_ADDR_H
#define SOCKMUX_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Longest string addr_format() writes, NUL included: "[" v6 "]:" port. */
#define ADDR_STRLEN (INET6_ADDRSTRLEN + 8)

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];	/* network address, host bits cleared */
	unsigned int prefix;	/* 0..32 or 0..128 */
};

/*
 * "host:port" with a numeric IPv4 host (dotted quad) or a bracketed IPv6 one; port 1..65535 in
 * decimal. No names, no spaces, no zone ids ("[fe80::1%eth0]:1"), no trailing bytes; 0 or -EINVAL.
 */
int addr_parse(const char *text, struct addr *out);
/* A bare numeric address without port, e.g. "::1" or "127.0.0.1" (port 0); 0 or -EINVAL. */
int addr_parse_host(const char *text, struct addr *out);
/*
 * Writes "1.2.3.4:5" or "[::1]:5" into buf (at least ADDR_STRLEN bytes); an IPv4-mapped IPv6
 * address stays IPv6: "[::ffff:1.2.3.4]:5". Returns buf.
 */
char *addr_format(const struct sockaddr *sa, char *buf, size_t size);
/* Writes the address alone, "1.2.3.4" or "2001:db8::1" (addr_parse_host()'s form); returns buf. */
char *addr_format_host(const struct sockaddr *sa, char *buf, size_t size);
/* Fills *out from a sockaddr of length len (AF_INET or AF_INET6). */
void addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct addr *out);
/*
 * Same family, address and port (IPv6: and scope, which the config's addresses never set);
 * flow info is not part of where a socket listens or connects.
 */
/* 0.0.0.0, :: or ::ffff:0.0.0.0: an address that names no host. */
bool addr_is_unspecified(const struct sockaddr *sa);
bool addr_equal(const struct addr *a, const struct addr *b);
/* True for an AF_INET6 address of the form ::ffff:a.b.c.d. */
bool addr_is_v4mapped(const struct sockaddr *sa);

/*
 * "a.b.c.d/n", "v6/n" or a bare address (full-length prefix); 0 or -EINVAL. Host bits past the
 * prefix are allowed and cleared: "192.0.2.77/24" is 192.0.2.0/24.
 */
int cidr_parse(const char *text, struct cidr *out);
/*
 * True when sa lies in the prefix. An IPv4 prefix matches AF_INET addresses and IPv4-mapped
 * AF_INET6 ones (::ffff:a.b.c.d); an IPv6 prefix matches AF_INET6 addresses only. NULL: false.
 */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);
/* Writes "a.b.c.d/n" or "v6/n"; returns buf. */
char *cidr_format(const struct cidr *c, char *buf, size_t size);

/* Why text is not an address addr_parse() accepts, in words (for error messages). */
const char *addr_problem(const char *text);

#endif
