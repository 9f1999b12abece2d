// SPDX-License-Identifier: MIT
/*
 * addr.c - numeric socket addresses and CIDR prefixes as the config and the logs write them
 * (see addr.h). No name resolution, no allocation, no I/O.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* 1..65535 written with 1 to 5 decimal digits and nothing else: no sign, no space. */
static int port_parse(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i == 5 || s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Copies the len bytes at s into buf (size bytes) as a string; -EINVAL if they do not fit. */
static int copy_part(const char *s, size_t len, char *buf, size_t size)
{
	if (len == 0 || len >= size)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static void fill_v4(struct addr *out, const struct in_addr *a, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

	memset(out, 0, sizeof(*out));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr = *a;
	out->len = sizeof(*sin);
}

static void fill_v6(struct addr *out, const struct in6_addr *a, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof(*out));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = *a;
	out->len = sizeof(*sin6);
}

int addr_parse(const char *text, struct addr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *end, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	uint16_t port;

	if (!text)
		return -EINVAL;
	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		if (copy_part(text + 1, (size_t)(end - text - 1), host, sizeof(host)) ||
		    inet_pton(AF_INET6, host, &a6) != 1 || port_parse(end + 2, &port))
			return -EINVAL;
		fill_v6(out, &a6, port);
		return 0;
	}
	/* Exactly one colon: more than one is an unbracketed IPv6 address. */
	colon = strchr(text, ':');
	if (!colon || strchr(colon + 1, ':'))
		return -EINVAL;
	if (copy_part(text, (size_t)(colon - text), host, sizeof(host)) ||
	    inet_pton(AF_INET, host, &a4) != 1 || port_parse(colon + 1, &port))
		return -EINVAL;
	fill_v4(out, &a4, port);
	return 0;
}

int addr_parse_host(const char *text, struct addr *out)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (!text)
		return -EINVAL;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		fill_v4(out, &a4, 0);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		fill_v6(out, &a6, 0);
		return 0;
	}
	return -EINVAL;
}

char *addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	char host[INET6_ADDRSTRLEN];

	if (!size)
		return buf;
	if (!sa) {
		snprintf(buf, size, "(none)");
	} else if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, size, "(family %u)", sa->sa_family);
	}
	return buf;
}

char *addr_format_host(const struct sockaddr *sa, char *buf, size_t size)
{
	const void *a = NULL;

	if (!size)
		return buf;
	if (sa && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)size))
		snprintf(buf, size, "?");
	return buf;
}

void addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!sa)
		return;
	if (len > sizeof(out->ss))
		len = sizeof(out->ss);
	memcpy(&out->ss, sa, len);
	out->len = len;
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->ss;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)&b->ss;

	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss.ss_family != AF_INET6)
		return false;
	return a6->sin6_port == b6->sin6_port && a6->sin6_scope_id == b6->sin6_scope_id &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

bool addr_is_v4mapped(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	return sa && sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr);
}

/* Clear every bit of bytes[] past the first prefix bits. */
static void cidr_clear_host_bits(struct cidr *c)
{
	size_t nbytes = c->family == AF_INET ? 4 : 16;
	size_t i;

	for (i = 0; i < nbytes; i++) {
		unsigned int first = (unsigned int)i * 8;

		if (first >= c->prefix)
			c->bytes[i] = 0;
		else if (c->prefix - first < 8)
			c->bytes[i] &= (uint8_t)(0xff << (8 - (c->prefix - first)));
	}
}

int cidr_parse(const char *text, struct cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	unsigned int max, prefix = 0;
	size_t i, hlen;

	if (!text)
		return -EINVAL;
	slash = strchr(text, '/');
	hlen = slash ? (size_t)(slash - text) : strlen(text);
	if (copy_part(text, hlen, host, sizeof(host)))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->bytes) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->bytes) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (!slash) {
		out->prefix = max;
		return 0;
	}
	/* 1 to 3 decimal digits, no sign: "/", "/-1", "/ 8", "/1x" are all refused. */
	for (i = 1; slash[i]; i++) {
		if (i > 3 || slash[i] < '0' || slash[i] > '9')
			return -EINVAL;
		prefix = prefix * 10 + (unsigned int)(slash[i] - '0');
	}
	if (i == 1 || prefix > max)
		return -EINVAL;
	out->prefix = prefix;
	cidr_clear_host_bits(out);
	return 0;
}

static bool prefix_equal(const uint8_t *net, const uint8_t *addr, unsigned int prefix)
{
	unsigned int full = prefix / 8, rest = prefix % 8;
	uint8_t mask;

	if (memcmp(net, addr, full))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (net[full] & mask) == (addr[full] & mask);
}

bool cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	if (!c || !sa)
		return false;
	if (c->family == AF_INET) {
		if (sa->sa_family == AF_INET)
			return prefix_equal(c->bytes, (const uint8_t *)&sin->sin_addr, c->prefix);
		if (addr_is_v4mapped(sa))
			return prefix_equal(c->bytes, sin6->sin6_addr.s6_addr + 12, c->prefix);
		return false;
	}
	if (c->family == AF_INET6 && sa->sa_family == AF_INET6)
		return prefix_equal(c->bytes, sin6->sin6_addr.s6_addr, c->prefix);
	return false;
}

char *cidr_format(const struct cidr *c, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (!size)
		return buf;
	if (!c || (c->family != AF_INET && c->family != AF_INET6)) {
		snprintf(buf, size, "(invalid)");
		return buf;
	}
	inet_ntop(c->family, c->bytes, host, sizeof(host));
	snprintf(buf, size, "%s/%u", host, c->prefix);
	return buf;
}

/* Why text is not an address addr_parse() accepts, in words. */
const char *addr_problem(const char *text)
{
	const char *colon, *close;
	struct addr a;
	char host[INET6_ADDRSTRLEN];
	size_t len;

	if (!*text)
		return "empty";
	if (strpbrk(text, " \t\r\n"))
		return "contains spaces";
	if (text[0] == '[') {
		close = strchr(text, ']');
		if (!close)
			return "missing ']'";
		if (close[1] != ':')
			return "missing \":port\" after ']'";
		len = (size_t)(close - text - 1);
		if (len >= sizeof(host) || memchr(text, '%', len + 1))
			return "not a numeric IPv6 address (zone ids are not supported)";
		memcpy(host, text + 1, len);
		host[len] = '\0';
		if (addr_parse_host(host, &a) || a.ss.ss_family != AF_INET6)
			return "not a numeric IPv6 address";
		return "port must be a number 1..65535";
	}
	colon = strchr(text, ':');
	if (!colon)
		return "missing \":port\"";
	if (strchr(colon + 1, ':'))
		return "an IPv6 address must be in brackets, as in \"[::1]:443\"";
	len = (size_t)(colon - text);
	if (!len || len >= sizeof(host))
		return "not a numeric IPv4 address (host names are not resolved)";
	memcpy(host, text, len);
	host[len] = '\0';
	if (addr_parse_host(host, &a) || a.ss.ss_family != AF_INET)
		return "not a numeric IPv4 address (host names are not resolved)";
	return "port must be a number 1..65535";
}

bool addr_is_unspecified(const struct sockaddr *sa)
{
	static const uint8_t zero[16];

	if (sa->sa_family == AF_INET)
		return !((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	if (sa->sa_family != AF_INET6)
		return false;
	if (addr_is_v4mapped(sa))
		return !memcmp(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr + 12, zero, 4);
	return !memcmp(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, zero, 16);
}
