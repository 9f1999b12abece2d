// SPDX-License-Identifier: MIT
/* transparent.c - connecting a backend from the client's address (see transparent.h). */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transparent.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* sa's address as IPv6 (IPv4 mapped) into out; false for other families */
static bool as_v6(const struct sockaddr *sa, struct in6_addr *out)
{
	if (sa->sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->s6_addr[10] = out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		return true;
	}
	return false;
}

int local_addrs_add(struct local_addrs *la, const struct sockaddr *sa)
{
	struct in6_addr a, *grown;

	if (!as_v6(sa, &a))
		return 0;
	for (size_t i = 0; i < la->n; i++)
		if (!memcmp(&la->a[i], &a, sizeof(a)))
			return 0;
	grown = realloc(la->a, (la->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	la->a = grown;
	la->a[la->n++] = a;
	return 0;
}

int local_addrs_load(struct local_addrs *la)
{
	struct local_addrs fresh = { 0 };
	struct ifaddrs *ifa, *p;
	int err = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (p = ifa; p && !err; p = p->ifa_next)
		if (p->ifa_addr)
			err = local_addrs_add(&fresh, p->ifa_addr);
	freeifaddrs(ifa);
	if (err) {
		local_addrs_free(&fresh);
		return err;
	}
	local_addrs_free(la);
	*la = fresh;
	return 0;
}

void local_addrs_free(struct local_addrs *la)
{
	free(la->a);
	la->a = NULL;
	la->n = 0;
}

bool transparent_is_local(const struct local_addrs *la, const struct sockaddr *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT, lo6 = IN6ADDR_LOOPBACK_INIT;
	struct in6_addr a;

	if (!as_v6(sa, &a))
		return false;
	if (!memcmp(&a, &lo6, sizeof(a)) || !memcmp(&a, &any6, sizeof(a)))
		return true;
	/* 127.0.0.0/8 and 0.0.0.0, mapped */
	if (IN6_IS_ADDR_V4MAPPED(&a) && (a.s6_addr[12] == 127 ||
					 !memcmp(&a.s6_addr[12], "\0\0\0\0", 4)))
		return true;
	for (size_t i = 0; la && i < la->n; i++)
		if (!memcmp(&la->a[i], &a, sizeof(a)))
			return true;
	return false;
}

int transparent_family(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6 && addr_is_v4mapped(sa))
		return AF_INET;
	return sa->sa_family;
}

void transparent_unmap(const struct sockaddr *sa, struct addr *out)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET6 && addr_is_v4mapped(sa)) {
		s4->sin_family = AF_INET;
		s4->sin_port = s6->sin6_port;
		memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
		out->len = sizeof(*s4);
		return;
	}
	out->len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
					      sizeof(struct sockaddr_in6);
	memcpy(&out->ss, sa, out->len);
}

bool transparent_any(const struct config_backend *b)
{
	for (size_t i = 0; i < b->n_servers; i++)
		if (b->servers[i].transparent)
			return true;
	return false;
}

uint64_t transparent_exclude(const struct config_backend *b, int family)
{
	uint64_t skip = 0;

	for (size_t i = 0; i < b->n_servers; i++) {
		const struct config_server *sv = &b->servers[i];

		if (sv->transparent &&
		    transparent_family((const struct sockaddr *)&sv->addr.ss) != family)
			skip |= 1ull << i;
	}
	return skip;
}

/* IP_TRANSPARENT or IPV6_TRANSPARENT on fd, by its family; 0 or -errno */
static int set_transparent(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) < 0 ?
			       -errno : 0;
	return setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0 ? -errno : 0;
}

int transparent_socket(const struct sockaddr *client, int *fd)
{
	struct addr src;
	int s, one = 1, err;

	transparent_unmap(client, &src);
	if (src.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&src.ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src.ss)->sin6_port = 0;
	s = socket(src.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	err = set_transparent(s, src.ss.ss_family);
	if (err)
		goto out_close;
	/* the port comes with the connect, so the same client address may go to one backend
	 * from many ports: bind() alone would reserve one for this address whatever the peer */
	if (setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
	    bind(s, (const struct sockaddr *)&src.ss, src.len) < 0) {
		err = -errno;
		goto out_close;
	}
	*fd = s;
	return 0;
out_close:
	close(s);
	return err;
}

int transparent_probe(int family)
{
	int s, err;

	s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	err = set_transparent(s, family);
	close(s);
	return err;
}

int transparent_probe_any(void)
{
	int err = transparent_probe(AF_INET);

	return err == -EAFNOSUPPORT ? transparent_probe(AF_INET6) : err;
}

const struct config_backend *transparent_first(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_backends; i++)
		if (transparent_any(&cfg->backends[i]))
			return &cfg->backends[i];
	return NULL;
}
